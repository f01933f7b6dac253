"""The playground: GraphiQL with its explorer and docs panes, served by the gateway itself.

    GET /graphql                        (Accept: text/html) the page, playground/index.html
    GET /playground/playground.{js,css} the page's own script and style
    GET /playground/operations.json     the saved operations, opened as ready tabs
    GET /playground/vendor/<file>       GraphiQL, its explorer and React, from playground/node_modules

The vendor files come from the npm registry (`npm ci` in playground/, which `make serve` runs), so
the playground works with no internet. Without them (Node missing) the page loads the same
versions, pinned by the lock file and checked by Subresource Integrity, from unpkg.com, and says so
on the page and in the serve banner.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.routing import Route

PLAYGROUND_DIR = Path(__file__).resolve().parents[2] / "playground"
CDN = "https://unpkg.com"


@dataclass(frozen=True)
class Vendor:
    """One third-party file the page loads: its npm package and its path inside it."""

    package: str
    path: str


# Served as /playground/vendor/<name>, in the order the page loads them.
VENDOR = {
    "react.js": Vendor("react", "umd/react.production.min.js"),
    "react-dom.js": Vendor("react-dom", "umd/react-dom.production.min.js"),
    "graphiql.js": Vendor("graphiql", "dist/index.umd.js"),
    "graphiql.css": Vendor("graphiql", "dist/style.css"),
    "explorer.js": Vendor("@graphiql/plugin-explorer", "dist/index.umd.js"),
    "explorer.css": Vendor("@graphiql/plugin-explorer", "dist/style.css"),
}

# The order saved operations open in as tabs: the lifecycle, create first so a newcomer's first
# run makes a session the others can use. Operations not named here follow, by name.
TAB_ORDER = (
    "CreateVerificationSession",
    "GetVerificationSession",
    "UpdateVerificationSession",
    "ListVerificationSessions",
    "ListVerificationSessionsBackward",
    "Node",
    "SubmitVerificationSession",
    "SimulateVerificationSession",
    "ListVerificationReports",
    "ListEvents",
    "CancelVerificationSession",
    "RedactVerificationSession",
)

# What a page served with local files may load: only its own origin. GraphiQL sets inline styles.
LOCAL_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)
CDN_POLICY = LOCAL_POLICY.replace("script-src 'self'", f"script-src 'self' {CDN}").replace(
    "style-src 'self'", f"style-src 'self' {CDN}"
)


class Playground:
    """The playground's files under `root` (PLAYGROUND_DIR unless a test points elsewhere)."""

    def __init__(self, root: Path = PLAYGROUND_DIR) -> None:
        self.root = root

    @cached_property
    def offline(self) -> bool:
        """Whether every vendor file is installed, so the page needs no internet (read once, as
        the serve banner reads it)."""
        return all(self._installed(vendor).is_file() for vendor in VENDOR.values())

    def routes(self) -> list[Route]:
        return [
            Route("/playground/playground.js", self._own_file("playground.js")),
            Route("/playground/playground.css", self._own_file("playground.css")),
            Route("/playground/operations.json", self._operations, methods=["GET"]),
            Route("/playground/vendor/{name}", self._vendor, methods=["GET"]),
        ]

    def page(self) -> Response:
        """The page; it loads the vendor files from this server, or from unpkg.com when they are
        not installed."""
        return HTMLResponse(
            self._html,
            headers={
                "Content-Security-Policy": LOCAL_POLICY if self.offline else CDN_POLICY,
                "Cache-Control": "no-store",
                "Referrer-Policy": "no-referrer",
                "X-Content-Type-Options": "nosniff",
            },
        )

    @cached_property
    def _html(self) -> str:
        """index.html with the vendor tags (and, when they come from unpkg.com, a notice saying
        so) filled in; built on first use."""
        offline = self.offline
        tags = []
        for name, vendor in VENDOR.items():
            if offline:
                url, integrity = f"/playground/vendor/{name}", ""
            else:
                version = self._locked_versions[vendor.package]
                url = f"{CDN}/{vendor.package}@{version}/{vendor.path}"
                # Every file has a hash (a test checks): unpkg.com is trusted with nothing.
                integrity = f' integrity="{self._integrity[name]}" crossorigin="anonymous"'
            if name.endswith(".css"):
                tags.append(f'<link rel="stylesheet" href="{html.escape(url)}"{integrity}>')
            else:
                tags.append(f'<script src="{html.escape(url)}"{integrity}></script>')
        notice = (
            ""
            if offline
            else (
                '<p class="notice" role="status">GraphiQL is loading from unpkg.com because its '
                "files are not installed here (no npm, or <code>npm ci</code> failed, when the "
                "server was set up). Install Node.js 20 and run <code>make serve</code> again to "
                "serve them offline.</p>"
            )
        )
        return (
            (self.root / "index.html")
            .read_text(encoding="utf-8")
            .replace("<!-- vendor -->", "\n    ".join(tags))
            .replace("<!-- notice -->", notice)
        )

    @cached_property
    def operations(self) -> list[dict[str, Any]]:
        """The saved operations as tabs: name, query and variables (as the JSON text shown);
        read on first use."""
        folder = self.root / "operations"
        names = sorted(path.stem for path in folder.glob("*.graphql"))
        ordered = [name for name in TAB_ORDER if name in names]
        ordered += [name for name in names if name not in TAB_ORDER]
        tabs = []
        for name in ordered:
            variables = folder / f"{name}.variables.json"
            tabs.append(
                {
                    "name": name,
                    "query": (folder / f"{name}.graphql").read_text(encoding="utf-8"),
                    "variables": variables.read_text(encoding="utf-8")
                    if variables.exists()
                    else "{}",
                }
            )
        return tabs

    async def _operations(self, request: Request) -> Response:
        return JSONResponse(self.operations, headers={"Cache-Control": "no-cache"})

    async def _vendor(self, request: Request) -> Response:
        vendor = VENDOR.get(request.path_params["name"])
        if vendor is None or not self._installed(vendor).is_file():
            return Response("Not Found", status_code=404, media_type="text/plain")
        return FileResponse(
            self._installed(vendor), headers={"Cache-Control": "public, max-age=3600"}
        )

    def _own_file(self, name: str) -> Any:
        async def serve(request: Request) -> Response:
            return FileResponse(self.root / name, headers={"Cache-Control": "no-cache"})

        return serve

    def _installed(self, vendor: Vendor) -> Path:
        return self.root / "node_modules" / vendor.package / vendor.path

    @cached_property
    def _locked_versions(self) -> dict[str, str]:
        """Each vendor package's version as the committed lock file pins it."""
        lock = json.loads((self.root / "package-lock.json").read_text(encoding="utf-8"))
        return {
            vendor.package: lock["packages"][f"node_modules/{vendor.package}"]["version"]
            for vendor in VENDOR.values()
        }

    @cached_property
    def _integrity(self) -> dict[str, str]:
        """Subresource Integrity hashes of the vendor files, from playground/integrity.json
        (written by scripts/playground_integrity.py), for the locked versions only."""
        recorded = json.loads((self.root / "integrity.json").read_text(encoding="utf-8"))
        return {
            name: entry["integrity"]
            for name, entry in recorded.items()
            if name in VENDOR and entry["version"] == self._locked_versions[VENDOR[name].package]
        }
