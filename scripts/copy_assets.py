#!/usr/bin/env python3
"""Copy the front-end libraries the pages (and /api/docs) serve from node_modules into the package (no CDN at run time).

Run by `make assets` after `npm install`. The copies land in src/clinic_reminders/web/static/vendor/ (gitignored)
and are served under /static/vendor/; the pages work without them, only less conveniently.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NODE_MODULES = ROOT / "node_modules"
VENDOR = ROOT / "src" / "clinic_reminders" / "web" / "static" / "vendor"

# (package, file inside the package, name under vendor/)
FILES = (
    ("htmx.org", "dist/htmx.min.js", "htmx.min.js"),
    ("chart.js", "dist/chart.umd.min.js", "chart.umd.min.js"),
    ("twilio-video", "dist/twilio-video.min.js", "twilio-video.min.js"),
    ("swagger-ui-dist", "swagger-ui-bundle.js", "swagger-ui-bundle.js"),  # /api/docs
    ("swagger-ui-dist", "swagger-ui.css", "swagger-ui.css"),
    ("swagger-ui-dist", "favicon-32x32.png", "swagger-favicon.png"),
)
LICENSE_NAMES = ("LICENSE", "LICENSE.md", "LICENSE.txt")


def main() -> int:
    VENDOR.mkdir(parents=True, exist_ok=True)
    missing = []
    for package, inside, name in FILES:
        source = NODE_MODULES / package / inside
        if not source.is_file():
            missing.append(f"{package}/{inside}")
            continue
        shutil.copy2(source, VENDOR / name)
        for license_name in LICENSE_NAMES:
            license_file = NODE_MODULES / package / license_name
            if license_file.is_file():
                (VENDOR / "licenses").mkdir(exist_ok=True)
                shutil.copy2(license_file, VENDOR / "licenses" / f"{package}.txt")
                break
        print(f"copied {package}/{inside} -> static/vendor/{name}")
    if missing:
        print("missing in node_modules (run `npm install`): " + ", ".join(missing), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
