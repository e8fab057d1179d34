"""Regenerate the README's screenshots of the workshop site (``docs/images/site-*.png``).

Builds the demo study, gives it a reader account, serves the site (as ``waveqda site`` does), leaves two
comments as that reader, and photographs the theme page and the matrix page in headless Chromium:

    .venv/bin/python docs/make_site_images.py

Needs Chromium and chromedriver (Debian's ``chromium`` and ``chromium-driver``).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from app.demo import build_demo  # noqa: E402
from models.codes import CodeTree  # noqa: E402
from models.comments import add_comment  # noqa: E402
from models.queries import retrieve  # noqa: E402
from tests.web.site_support import PASSWORDS, chromium, running_site  # noqa: E402

THEME = "Support"  # a theme with sub-codes and quotes at every timepoint


def main() -> int:
    out_dir = REPO / "docs" / "images"
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        build_demo(work / "demo.wqda")
        with running_site(work / "demo.wqda") as site:
            with site.project.read() as session:
                theme = CodeTree.load(session).find(THEME).id
                quote = next(s for s in retrieve(session, theme, True) if s.timepoint == "T2")
            shots = {"site-theme": f"/themes/{theme}?timepoint=T2", "site-matrix": "/matrix"}
            add_comment(site.project, "advisor1", "code", theme, "This matches what we heard in the peer network.")
            add_comment(site.project, "advisor1", "coding", quote.id, "Worth asking whether this changed at 12 months.")
            driver = chromium(work, 1100, 900)
            try:
                driver.get(site.url + "/login")
                driver.find_element("id", "name").send_keys("advisor1")
                driver.find_element("id", "password").send_keys(PASSWORDS["advisor1"])
                driver.find_element("css selector", ".login-form button[type=submit]").click()
                for name, path in shots.items():
                    driver.get(site.url + path)
                    height = driver.execute_script("return document.documentElement.scrollHeight")
                    driver.set_window_size(1100, min(max(height, 900), 2000))
                    driver.save_screenshot(str(out_dir / f"{name}.png"))
                    print(out_dir / f"{name}.png")
            finally:
                driver.quit()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
