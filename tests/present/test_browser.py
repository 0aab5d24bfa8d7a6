"""The HTML report in a real headless Chromium: every plot renders (naturalWidth > 0)."""

import json
import re
import shutil
import subprocess

import pytest
from PIL import Image

from tests.support.cli import run_in_process
from tests.support.fakeruns import record, write_run

BROWSER = next(
    (shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)),
    None,
)
pytestmark = pytest.mark.skipif(
    BROWSER is None, reason="no Chromium on PATH (install it with .ci/install-browser)"
)

# Written into the page after load, so --dump-dom hands the result back.
PROBE = """<script>
window.addEventListener("load", () => {
  const sizes = [...document.images].map(i => [i.naturalWidth, i.naturalHeight, i.complete]);
  const out = document.createElement("pre");
  out.id = "img-probe";
  out.textContent = JSON.stringify(sizes);
  document.body.appendChild(out);
});
</script>"""


def chromium(tmp_path, *args):
    profile = tmp_path / "profile"
    profile.mkdir(exist_ok=True)
    command = [
        BROWSER,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        f"--user-data-dir={profile}",
        *args,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=90, check=False)


@pytest.fixture(scope="module")
def report_html(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("browser")
    records = [
        record([0.1 * bs * (1 + 0.02 * i) for i in range(5)], batch_size=bs) for bs in (1, 2)
    ]
    run = write_run(tmp / "run.jsonl", records)
    assert run_in_process("report", str(run), "--out", str(tmp / "out"), "--format", "html").code == 0
    return tmp / "out" / "report.html"


def rendered_images(html, tmp_path) -> tuple[list, str]:
    """[width, height, complete] of every <img> of the page as Chromium loaded it, and the
    page's DOM after load."""
    page = tmp_path / "probed.html"
    page.write_text(html.read_text().replace("</body>", PROBE + "</body>"))
    result = chromium(tmp_path, "--virtual-time-budget=10000", "--dump-dom", page.as_uri())
    found = re.search(r'<pre id="img-probe">([^<]*)</pre>', result.stdout)
    assert found, f"no probe output; chromium said: {result.stderr[-2000:]}"
    return json.loads(found.group(1)), result.stdout


def test_every_image_of_the_html_report_renders_in_chromium(report_html, tmp_path):
    sizes, _ = rendered_images(report_html, tmp_path)
    assert len(sizes) == report_html.read_text().count("<img ")
    assert len(sizes) >= 4
    assert all(width > 0 and height > 0 and done for width, height, done in sizes), sizes


def test_chromium_screenshot_of_the_report_is_not_blank(report_html, tmp_path):
    shot = tmp_path / "report.png"
    result = chromium(
        tmp_path, f"--screenshot={shot}", "--window-size=1280,2400", report_html.as_uri()
    )
    assert shot.is_file(), result.stderr[-2000:]
    with Image.open(shot) as image:
        colours = image.convert("RGB").getcolors(maxcolors=1 << 20)
    assert colours is None or len(colours) > 50  # tables and plots, not an empty page


WIDTH_PROBE = """<script>
window.addEventListener("load", () => {
  const out = document.createElement("pre");
  out.id = "width-probe";
  const widest = Math.max(...[...document.querySelectorAll("table")].map(t => t.scrollWidth));
  out.textContent = JSON.stringify([document.documentElement.scrollWidth, window.innerWidth, widest]);
  document.body.appendChild(out);
});
</script>"""


def test_a_summary_wider_than_the_window_scrolls_in_its_box_not_the_page(report_html, tmp_path):
    page = tmp_path / "width.html"
    page.write_text(report_html.read_text().replace("</body>", WIDTH_PROBE + "</body>"))
    result = chromium(tmp_path, "--window-size=900,1200", "--virtual-time-budget=10000",
                      "--dump-dom", page.as_uri())
    found = re.search(r'<pre id="width-probe">([^<]*)</pre>', result.stdout)
    assert found, f"no probe output; chromium said: {result.stderr[-2000:]}"
    page_width, window, widest_table = json.loads(found.group(1))
    assert widest_table > window  # the summary really is wider than the window
    assert page_width <= window
