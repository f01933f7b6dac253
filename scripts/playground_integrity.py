"""Write playground/integrity.json: the Subresource Integrity hash of each GraphiQL/React file the
playground loads, for the versions playground/package-lock.json pins.

The gateway serves those files itself once `npm ci` has run in playground/. Without Node it falls
back to unpkg.com, and the browser accepts those copies only if they hash to what is recorded
here. Run after changing playground/package.json:

    npm ci --prefix playground && .venv/bin/python scripts/playground_integrity.py
"""

from __future__ import annotations

import base64
import hashlib
import json

from app.web.playground import PLAYGROUND_DIR, VENDOR, Playground


def main() -> None:
    playground = Playground()
    if not playground.offline:
        raise SystemExit("playground/node_modules is missing: run npm ci --prefix playground")
    lock = json.loads((PLAYGROUND_DIR / "package-lock.json").read_text(encoding="utf-8"))
    entries = {}
    for name, vendor in VENDOR.items():
        data = (PLAYGROUND_DIR / "node_modules" / vendor.package / vendor.path).read_bytes()
        digest = base64.b64encode(hashlib.sha384(data).digest()).decode()
        entries[name] = {
            "version": lock["packages"][f"node_modules/{vendor.package}"]["version"],
            "integrity": f"sha384-{digest}",
        }
    path = PLAYGROUND_DIR / "integrity.json"
    path.write_text(json.dumps(entries, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
