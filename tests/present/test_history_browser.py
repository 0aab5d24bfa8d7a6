"""The history dashboard in a real headless Chromium: every trend plot renders, the change
point is drawn (its colour is on screen), and the feed and hardware table are there."""


import pytest
from PIL import Image

from bench.present.history_dashboard import STEP_COLOUR
from tests.present.test_browser import BROWSER, chromium, rendered_images
from tests.support.cli import run_in_process
from tests.support.history_runs import commit, write_history_run, write_series

pytestmark = pytest.mark.skipif(
    BROWSER is None, reason="no Chromium on PATH (install it with .ci/install-browser)"
)


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory):
    """Two workloads on a CPU runner (+15 % from run 20 of 30) and on a GPU machine."""
    tmp = tmp_path_factory.mktemp("history-browser")
    runs = write_series(tmp / "cpu", [1.0] * 19 + [1.15] * 11, run_cv=0.02, seed=1)
    runs += [write_history_run(tmp / f"gpu{i}.jsonl", 40 + i, device="NVIDIA L4", host="gpu-1",
                               factor=0.4) for i in range(4)]
    store = tmp / "history.sqlite"
    assert run_in_process("history", "add", *map(str, runs), "--store", str(store)).code == 0
    out = tmp / "dashboard"
    assert run_in_process("history", "report", "--store", str(store), "--out", str(out)).code == 0
    return out / "index.html"


def test_every_trend_plot_of_the_dashboard_renders(dashboard, tmp_path):
    sizes, dom = rendered_images(dashboard, tmp_path)
    assert len(sizes) == 4  # 2 workloads x 2 machines
    assert all(width > 300 and height > 150 and done for width, height, done in sizes), sizes
    assert "Regression feed" in dom and "▲ regression" in dom
    assert dom.count(f"{commit(18)[:10]}..{commit(19)[:10]}") == 2  # one feed row per workload
    hardware = dom.split("<h2>Hardware</h2>")[1].split("<h2>")[0]
    assert "ratio to reference" in hardware and "NVIDIA L4" in hardware
    assert hardware.count("<tr>") == 3  # header + one row per workload


def _near(colour, target, tolerance=40):
    return all(abs(a - b) <= tolerance for a, b in zip(colour, target, strict=True))


def test_screenshot_shows_the_plots_with_the_change_point_marked(dashboard, tmp_path):
    shot = tmp_path / "dashboard.png"
    result = chromium(tmp_path, f"--screenshot={shot}", "--window-size=1280,3200", dashboard.as_uri())
    assert shot.is_file(), result.stderr[-2000:]
    target = tuple(int(STEP_COLOUR[i:i + 2], 16) for i in (1, 3, 5))
    with Image.open(shot) as image:
        rgb = image.convert("RGB")
        colours = rgb.getcolors(maxcolors=1 << 20)
    assert colours is None or len(colours) > 50  # tables and plots, not an empty page
    marked = sum(count for count, colour in colours or [] if _near(colour, target))
    assert marked > 200, f"the change-point colour {STEP_COLOUR} is not on screen ({marked} px)"


def test_a_flat_history_shows_no_change_point_colour(tmp_path):
    runs = write_series(tmp_path / "runs", [1.0] * 30, run_cv=0.02, seed=1)
    store = tmp_path / "history.sqlite"
    assert run_in_process("history", "add", *map(str, runs), "--store", str(store)).code == 0
    assert run_in_process("history", "report", "--store", str(store), "--out",
                          str(tmp_path / "d")).code == 0
    shot = tmp_path / "flat.png"
    chromium(tmp_path, f"--screenshot={shot}", "--window-size=1280,3200",
             (tmp_path / "d" / "index.html").as_uri())
    target = tuple(int(STEP_COLOUR[i:i + 2], 16) for i in (1, 3, 5))
    with Image.open(shot) as image:
        colours = image.convert("RGB").getcolors(maxcolors=1 << 20)
    assert sum(count for count, colour in colours or [] if _near(colour, target)) < 20
