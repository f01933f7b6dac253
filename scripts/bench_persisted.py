"""What a hashed request saves: one document sent to the gateway's ASGI app in-process (no HTTP,
no uvicorn) as free text and as a persisted document, over POST and GET:

    text         POST {query, variables}
    apq          POST {extensions: {persistedQuery}, variables}     Apollo's link, hash alone
    text-get     GET ?query=…&variables=…
    apq-get      GET ?variables=…&extensions=…                     useGETForHashedQueries
    document-id  POST {documentId: "sha256:…", variables}           GraphQL-over-HTTP, Appendix A

for two trusted documents (both in a manifest named by PERSISTED_DOCUMENTS_FILE), and as free
text one that is not trusted:

    small      playground/operations/GetVerificationSession.graphql, 411 characters
    large      a Relay-style query of 30 fragments on one session, 11,833 characters: over the
               10,000 past which the limiter caches only trusted texts (`app.schema.limits`)
    untrusted  the same with a comment added, so not trusted: parsed and validated every time
               (measured over UNTRUSTED_REQUESTS requests only; APQ does not store it either)

    .venv/bin/python scripts/bench_persisted.py [--requests 2000] [--rounds 5]
    .venv/bin/python scripts/bench_persisted.py --callgrind [--requests 300]

The first prints microseconds per request, each way's best of alternating rounds. With
`--callgrind` the same requests run once under valgrind's callgrind, which dumps its counts
after each way's `--requests` requests (`callgrind_control -d`), less an empty segment's cost:
instructions per request, steady from run to run where seconds are not.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.db import create_engine  # noqa: E402
from app.main import create_app  # noqa: E402
from app.settings import Settings  # noqa: E402
from scripts.bench import prepare  # noqa: E402
from scripts.profile_list import Caller  # noqa: E402

WAYS = ("text", "apq", "text-get", "apq-get", "document-id")
WARM_UP = 200
UNTRUSTED_REQUESTS = 5
SESSION_FIELDS = (
    "id\n    object\n    status\n    type\n    created\n    livemode\n    clientReferenceId\n"
    "    metadata\n    url\n    lastError {\n      code\n      reason\n    }\n"
    "    providedDetails {\n      email\n      phone\n    }\n    redaction {\n      status\n    }\n"
    "    options {\n      document {\n        allowedTypes\n        requireMatchingSelfie\n"
    "      }\n    }\n"
)


def documents() -> dict[str, str]:
    small = (ROOT / "playground" / "operations" / "GetVerificationSession.graphql").read_bytes()
    spreads = "".join(f"    ...Part{n}\n" for n in range(30))
    fragments = "".join(
        f"\nfragment Part{n} on VerificationSession {{\n    {SESSION_FIELDS}}}\n" for n in range(30)
    )
    large = f"query Large($id: ID!) {{\n  verificationSession(id: $id) {{\n{spreads}  }}\n}}\n"
    return {"small": small.decode("utf-8"), "large": large + fragments}


def untrusted() -> str:
    return "# not in the manifest\n" + documents()["large"]


def callers(app: Any, key: str, text: str, session_id: str) -> dict[str, Caller]:
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    variables = {"id": session_id}
    apq = {"persistedQuery": {"version": 1, "sha256Hash": digest}}

    def post(body: dict[str, Any]) -> Caller:
        return Caller(app, "POST", "/graphql", b"", orjson.dumps(body), key)

    def get(params: dict[str, Any]) -> Caller:
        encoded = {
            name: value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
            for name, value in params.items()
        }
        return Caller(app, "GET", "/graphql", urlencode(encoded).encode(), b"", key)

    return {
        "text": post({"query": text, "variables": variables}),
        "apq": post({"extensions": apq, "variables": variables}),
        "text-get": get({"query": text, "variables": variables}),
        "apq-get": get({"variables": variables, "extensions": apq}),
        "document-id": post({"documentId": f"sha256:{digest}", "variables": variables}),
    }


async def measure(url: str, key: str, manifest: Path, args: argparse.Namespace) -> None:
    settings = Settings(
        database_url=url,
        log_level="WARNING",
        rate_limit_live_per_second=0,
        rate_limit_test_per_second=0,
        persisted_documents_files=(manifest,),
    )
    app = create_app(settings, engine=create_engine(url), run_worker=False)
    async with app.router.lifespan_context(app):
        first = {"query": "{ verificationSessions(first: 1) { nodes { id } } }"}
        listed = orjson.loads(
            await Caller(app, "POST", "/graphql", b"", orjson.dumps(first), key)()
        )
        session_id = listed["data"]["verificationSessions"]["nodes"][0]["id"]
        calls = {
            (name, way): call
            for name, text in documents().items()
            for way, call in callers(app, key, text, session_id).items()
        }
        calls["untrusted", "text"] = callers(app, key, untrusted(), session_id)["text"]
        for name in (*documents(), "untrusted"):
            answers = [orjson.loads(await call()) for (of, _), call in calls.items() if of == name]
            assert "errors" not in answers[0], answers[0]
            assert all(answer == answers[0] for answer in answers), (name, answers)
        gc.collect()
        gc.freeze()
        for (name, _), call in calls.items():
            for _ in range(UNTRUSTED_REQUESTS if name == "untrusted" else WARM_UP):
                await call()
        if args.callgrind_child:
            await _segments(calls, args.requests)
            return
        best = dict.fromkeys(calls, float("inf"))
        for _ in range(args.rounds):
            for label, call in calls.items():
                count = _count(label, args.requests)
                start = time.perf_counter()
                for _ in range(count):
                    await call()
                best[label] = min(best[label], (time.perf_counter() - start) / count)
        report({label: value * 1e6 for label, value in best.items()}, "us")


async def _segments(calls: dict[tuple[str, str], Caller], requests: int) -> None:
    """Under callgrind: zero the counts, then dump once after nothing (what a dump itself costs)
    and once after each way's requests."""

    def dump(label: str) -> None:
        subprocess.run(["callgrind_control", "-d", label, str(os.getpid())], check=True)

    subprocess.run(["callgrind_control", "-z", str(os.getpid())], check=True)
    dump("empty")
    for (name, way), call in calls.items():
        for _ in range(_count((name, way), requests)):
            await call()
        dump(f"{name}/{way}")


def _count(label: tuple[str, str], requests: int) -> int:
    return UNTRUSTED_REQUESTS if label[0] == "untrusted" else requests


def callgrind(url: str, key: str, manifest: Path, requests: int) -> None:
    out = Path(tempfile.mkdtemp(prefix="callgrind-")) / "out"
    subprocess.run(
        [
            "valgrind",
            "--tool=callgrind",
            f"--callgrind-out-file={out}",
            sys.executable,
            __file__,
            "--callgrind-child",
            url,
            key,
            str(manifest),
            "--requests",
            str(requests),
        ],
        check=True,
        capture_output=True,
    )
    counts = {}
    for dump in out.parent.glob("out.*"):
        text = dump.read_text()
        label = re.search(r"^desc: Trigger: dump (\S+)", text, re.MULTILINE)
        summary = re.search(r"^summary: (\d+)", text, re.MULTILINE)
        if label and summary:
            counts[label[1]] = int(summary[1])
    empty = counts.pop("empty")
    per_request = {}
    for label, total in counts.items():
        name, way = label.split("/")
        per_request[name, way] = (total - empty) / _count((name, way), requests) / 1e6
    report(per_request, "M instructions")


def report(per_request: dict[tuple[str, str], float], unit: str) -> None:
    """Each way against the same document's free text by the same method (the untrusted copy
    against the trusted document's free text)."""
    for (name, way), value in sorted(per_request.items(), key=lambda item: WAYS.index(item[0][1])):
        against = ("small" if name == "small" else "large", "text-get" if "get" in way else "text")
        change = value / per_request[against] - 1
        print(f"{name:9} {way:12} {value:10.3f} {unit}  {change:+.1%} against {'/'.join(against)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=200)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--callgrind", action="store_true")
    parser.add_argument("--callgrind-child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.callgrind_child:
        url, key, manifest = args.callgrind_child
        asyncio.run(measure(url, key, Path(manifest), args))
        return
    directory = Path(tempfile.mkdtemp(prefix="bench-persisted-"))
    url = f"sqlite+aiosqlite:///{directory / 'gateway.sqlite3'}"
    _, key = prepare(url, args.rows)
    manifest = directory / "manifest.json"
    manifest.write_text(json.dumps({f"doc-{name}": text for name, text in documents().items()}))
    if args.callgrind:
        callgrind(url, key, manifest, 300 if args.requests == 2000 else args.requests)
    else:
        asyncio.run(measure(url, key, manifest, args))


if __name__ == "__main__":
    main()
