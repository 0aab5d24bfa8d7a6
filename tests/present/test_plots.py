"""Which configs the plots draw as one line over batch size."""

from bench.present.plots import plot_lines
from tests.support.fakeruns import record


def test_one_line_per_images_per_prompt():
    records = [record([0.1] * 3, batch_size=b, num_images_per_prompt=n) for b in (1, 2) for n in (1, 2)]
    lines = plot_lines(records)
    assert list(lines) == ["n=1", "n=2"]
    assert [r["batch_size"] for r in lines["n=1"]] == [1, 2]


def test_a_swept_dtype_gets_its_own_lines():
    records = [record([0.1] * 3, batch_size=b, dtype=d) for b in (1, 2) for d in ("float32", "bfloat16")]
    assert list(plot_lines(records)) == [
        "t2i 4steps 64x64 bfloat16 tiny n=1",
        "t2i 4steps 64x64 float32 tiny n=1",
    ]


def test_failed_configs_are_not_drawn():
    records = [record([0.1] * 3, batch_size=1), record([], batch_size=2, status="oom")]
    assert [r["batch_size"] for r in plot_lines(records)["n=1"]] == [1]
