"""The playground page as served: offline by default, a Content-Security-Policy that keeps it to
its own origin, the saved operations as tabs, and the unpkg.com fallback (pinned, with
Subresource Integrity) when GraphiQL's files are not installed.

What the page does in a browser (tabs, running an operation, keeping no key) is checked in
Chromium by tests/browser/test_playground_browser.py.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import shutil
from pathlib import Path

import pytest

from app.cli import _banner
from app.web.playground import PLAYGROUND_DIR, TAB_ORDER, VENDOR, Playground
from tests.conftest import Api

SRC = re.compile(r'(?:src|href)="([^"]+)"')


def test_page_loads_every_file_from_the_gateway(api: Api) -> None:
    # when
    response = api.http.get("/graphql", headers={"Accept": "text/html"})
    # then
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    policy = response.headers["content-security-policy"]
    assert "script-src 'self';" in policy
    assert "connect-src 'self';" in policy
    assert "unpkg" not in response.text
    urls = [url for url in SRC.findall(response.text) if url != "data:,"]
    assert {f"/playground/vendor/{name}" for name in VENDOR} <= set(urls)
    assert all(url.startswith("/playground/") for url in urls), urls
    # and each of them is there
    for url in urls:
        assert api.http.get(url).status_code == 200, url


def test_vendor_route_serves_only_the_listed_files(api: Api) -> None:
    for name in ("package.json", "..%2Fpackage-lock.json", "react", "graphiql.js.map"):
        assert api.http.get(f"/playground/vendor/{name}").status_code == 404, name


def test_saved_operations_are_offered_as_tabs_in_lifecycle_order(api: Api) -> None:
    # when
    tabs = api.http.get("/playground/operations.json").json()
    # then: every saved operation, with its variables, create first
    names = [tab["name"] for tab in tabs]
    saved = sorted(path.stem for path in (PLAYGROUND_DIR / "operations").glob("*.graphql"))
    assert sorted(names) == saved
    assert names == [name for name in TAB_ORDER if name in saved] + sorted(
        set(saved) - set(TAB_ORDER)
    )
    assert names[0] == "CreateVerificationSession"
    for tab in tabs:
        assert f" {tab['name']}" in tab["query"]
        assert isinstance(json.loads(tab["variables"]), dict)


def test_page_script_never_persists_headers() -> None:
    script = (PLAYGROUND_DIR / "playground.js").read_text(encoding="utf-8")
    assert "shouldPersistHeaders: false" in script
    assert "storage: storage" in script
    assert "sessionStorage" not in script
    assert "document.cookie" not in script


def test_without_node_modules_the_page_falls_back_to_pinned_unpkg_files(tmp_path: Path) -> None:
    # given: the playground without its installed files, as on a machine with no Node.js
    for name in ("index.html", "package-lock.json", "integrity.json"):
        shutil.copy(PLAYGROUND_DIR / name, tmp_path / name)
    playground = Playground(tmp_path)
    assert not playground.offline
    # when
    response = playground.page()
    page = bytes(response.body).decode()
    # then: each file comes from unpkg.com at the locked version, with its integrity hash
    lock = json.loads((PLAYGROUND_DIR / "package-lock.json").read_text(encoding="utf-8"))
    recorded = json.loads((PLAYGROUND_DIR / "integrity.json").read_text(encoding="utf-8"))
    for name, vendor in VENDOR.items():
        version = lock["packages"][f"node_modules/{vendor.package}"]["version"]
        url = f"https://unpkg.com/{vendor.package}@{version}/{vendor.path}"
        assert f'"{url}" integrity="{recorded[name]["integrity"]}"' in page, name
    # and the page says why, and its policy allows unpkg.com for scripts and styles only
    assert "loading from unpkg.com" in page
    policy = response.headers["content-security-policy"]
    assert "script-src 'self' https://unpkg.com;" in policy
    assert "connect-src 'self';" in policy


def test_recorded_integrity_matches_the_installed_files() -> None:
    # The fallback is only as good as these hashes: they must be those of the locked versions
    # (scripts/playground_integrity.py rewrites the file after an upgrade).
    assert Playground().offline, "run npm ci --prefix playground"
    lock = json.loads((PLAYGROUND_DIR / "package-lock.json").read_text(encoding="utf-8"))
    recorded = json.loads((PLAYGROUND_DIR / "integrity.json").read_text(encoding="utf-8"))
    assert set(recorded) == set(VENDOR)
    for name, vendor in VENDOR.items():
        data = (PLAYGROUND_DIR / "node_modules" / vendor.package / vendor.path).read_bytes()
        digest = base64.b64encode(hashlib.sha384(data).digest()).decode()
        assert recorded[name]["integrity"] == f"sha384-{digest}", name
        version = lock["packages"][f"node_modules/{vendor.package}"]["version"]
        assert recorded[name]["version"] == version, name


def test_serve_banner_says_where_the_key_goes_and_what_the_page_falls_back_to(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given / when: served with GraphiQL's files installed, then without them
    installed = _banner("http://127.0.0.1:8000", "sk_test_example")
    monkeypatch.setattr(Playground, "offline", property(lambda self: False))
    missing = _banner("http://127.0.0.1:8000", None)
    # then
    assert "Playground (GraphiQL): http://127.0.0.1:8000/graphql" in installed
    assert "Paste the key into its Test key box" in installed
    assert "unpkg.com" not in installed
    assert "keys create --mode test" in missing
    assert "loads them from unpkg.com and needs internet" in missing
