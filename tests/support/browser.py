"""Headless Chromium (Debian's ``chromium``) for the report test: render a page, read back what a check
script found in it (console errors, failed resources, each chart's drawn size), take a screenshot."""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Optional

CHECK = """<script>
window.__errors = [];
window.addEventListener("error", e => __errors.push(String(e.message || (e.target && e.target.outerHTML))), true);
for (const level of ["error", "warn"]) {
  const original = console[level];
  console[level] = (...args) => { __errors.push(level + ": " + args.join(" ")); original.apply(console, args); };
}
window.addEventListener("load", () => {
  const charts = [...document.querySelectorAll("figure.chart")].map(figure => {
    const svg = figure.querySelector("svg");
    const box = svg ? svg.getBoundingClientRect() : {width: 0, height: 0};
    return {name: figure.dataset.chart, width: box.width, height: box.height,
            marks: svg ? svg.querySelectorAll("path, rect, use, text").length : 0};
  });
  const out = document.createElement("pre");
  out.id = "check";
  out.textContent = JSON.stringify({errors: __errors, charts});
  document.body.appendChild(out);
});
</script>"""


def chromium() -> Optional[str]:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _run(browser: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--enable-logging=stderr", "--v=0"]
    return subprocess.run([browser, *flags, *args], capture_output=True, text=True, timeout=timeout)


def render(browser: str, page: Path, work: Path) -> dict:
    """The check script's findings for ``page`` (rendered from a copy with the script added), plus the
    console lines Chromium itself logged."""
    checked = work / f"checked-{page.name}"
    checked.write_text(page.read_text(encoding="utf-8").replace("<head>", "<head>" + CHECK, 1), encoding="utf-8")
    done = _run(browser, "--virtual-time-budget=10000", "--dump-dom", checked.as_uri())
    found = re.search(r'<pre id="check">(.*?)</pre>', done.stdout, re.S)
    result = json.loads(html.unescape(found.group(1))) if found else {"errors": ["the check script did not run"], "charts": []}
    result["console"] = [line for line in done.stderr.splitlines() if "CONSOLE" in line]
    return result


def screenshot(browser: str, page: Path, image: Path, width: int = 1200, height: int = 3000) -> Path:
    _run(browser, f"--window-size={width},{height}", f"--screenshot={image}", page.as_uri())
    return image
