"""A full disk and a read-only disk under a real `python -m app serve` on SQLite.

The database lives on a small ext4 file system of the test's own, loop-mounted (root only: CI
runs as root). Filling the disk makes every write answer 507 with DATABASE_FULL (GraphQL
`extensions.code`; REST `error.code` in Stripe's envelope), never a 500, while reads go on;
freeing it lets writes through again in the same process. A database file that cannot be written
(made immutable with `chattr +i`, which root cannot write past either) is served read-only: reads
answer, writes answer 503 with DATABASE_READ_ONLY. Afterwards the file passes
`PRAGMA integrity_check` and holds exactly the sessions that were acknowledged: nothing
half-written.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.migrations import upgrade
from tests.integration.test_durable_jobs import Gateway, create_key, gateway_env

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tmpfs needs root")

CREATE = """
mutation Create($input: CreateVerificationSessionInput!) {
  createVerificationSession(input: $input) { verificationSession { id } userErrors { code } }
}
"""


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[Path]:
    """A 16 MiB ext4 file system (no blocks reserved for root), unmounted afterwards."""
    image, mount = tmp_path / "disk.img", tmp_path / "disk"
    mount.mkdir()
    subprocess.run(["truncate", "-s", "16M", str(image)], check=True)
    subprocess.run(["mkfs.ext4", "-q", "-m", "0", "-F", str(image)], check=True)
    subprocess.run(["mount", "-o", "loop", str(image), str(mount)], check=True)
    try:
        yield mount
    finally:
        for path in mount.iterdir():
            subprocess.run(["chattr", "-i", str(path)], check=False)
        # Lazily if something still holds a file there: pytest removes old temporary directories
        # later, and a mount left in one would fail that.
        if subprocess.run(["umount", str(mount)], check=False).returncode != 0:
            subprocess.run(["umount", "-l", str(mount)], check=True)


def _create(base_url: str, key: str, reference: str) -> httpx.Response:
    return httpx.post(
        f"{base_url}/graphql",
        json={
            "query": CREATE,
            "variables": {
                # Large enough that a few of them need new pages of the file.
                "input": {
                    "type": "DOCUMENT",
                    "clientReferenceId": reference,
                    "metadata": {f"k{n}": "x" * 500 for n in range(40)},
                }
            },
        },
        headers={"Authorization": f"Bearer {key}", "Idempotency-Key": str(uuid.uuid4())},
        timeout=30,
    )


def _rest_create(base_url: str, key: str) -> httpx.Response:
    return httpx.post(
        f"{base_url}/v1/identity/verification_sessions",
        data={"type": "document", **{f"metadata[k{n}]": "y" * 500 for n in range(40)}},
        headers={"Authorization": f"Bearer {key}"},
        timeout=30,
    )


def _graphql_code(response: httpx.Response) -> Any:
    body = response.json()
    assert "data" not in body, body
    return [error["extensions"]["code"] for error in body["errors"]]


def _fill(disk: Path) -> Path:
    """Write a file until the disk has no byte left."""
    filler = disk / "filler"
    with filler.open("wb") as out:
        try:
            while True:
                out.write(b"\0" * 65536)
                out.flush()
        except OSError:
            pass
    return filler


def _stored(path: Path) -> set[str]:
    # Closed at once (sqlite3's own `with` does not close): the disk must unmount afterwards.
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        return {row[0] for row in connection.execute("SELECT id FROM verification_sessions")}


def test_a_full_then_read_only_disk_refuses_writes_clearly_and_keeps_the_file_whole(
    disk: Path, tmp_path: Path
) -> None:
    database = disk / "gateway.sqlite3"
    url = f"sqlite+aiosqlite:///{database}"
    upgrade(url)
    workdir = tmp_path / "work"
    workdir.mkdir()
    key = create_key(workdir, url, "test")
    env = gateway_env(url, RATE_LIMIT_TEST_PER_SECOND="0")
    gateway = Gateway(name="gateway", workdir=workdir, env=env).start()
    acknowledged: set[str] = set()
    try:
        first = _create(gateway.base_url, key, "before")
        assert first.status_code == 200, first.text
        acknowledged.add(
            first.json()["data"]["createVerificationSession"]["verificationSession"]["id"]
        )

        # when the disk fills up
        filler = _fill(disk)
        full = []
        for number in range(200):
            response = _create(gateway.base_url, key, f"full-{number}")
            if response.status_code == 200:  # pages the file still had free
                payload = response.json()["data"]["createVerificationSession"]
                acknowledged.add(payload["verificationSession"]["id"])
                continue
            full.append(response)
            if len(full) == 3:
                break
        # then writes answer 507 DATABASE_FULL, on GraphQL and REST, and reads go on
        assert full, "the disk never filled"
        for response in full:
            assert response.status_code == 507, response.text
            assert response.headers.get("stripe-should-retry") == "false"
            assert _graphql_code(response) == ["DATABASE_FULL"]
        rest = _rest_create(gateway.base_url, key)
        assert rest.status_code == 507, rest.text
        assert rest.json()["error"]["code"] == "database_full"
        read = httpx.get(
            f"{gateway.base_url}/v1/identity/verification_sessions",
            headers={"Authorization": f"Bearer {key}"},
            timeout=30,
        )
        assert read.status_code == 200, read.text

        # when the disk has room again, the same process writes again
        filler.unlink()
        again = _create(gateway.base_url, key, "after")
        assert again.status_code == 200, again.text
        acknowledged.add(
            again.json()["data"]["createVerificationSession"]["verificationSession"]["id"]
        )

        gateway.assert_alive()
        assert "Traceback" not in gateway.log, gateway.log[-5000:]
    finally:
        gateway.stop()

    # when the database file cannot be written, a new process serves it
    subprocess.run(["chattr", "+i", str(database)], check=True)
    gateway = Gateway(name="read-only", workdir=workdir, env=env).start()
    try:
        read_only = _create(gateway.base_url, key, "read-only")
        # then a write answers 503 DATABASE_READ_ONLY, and reads go on
        assert read_only.status_code == 503, read_only.text
        assert read_only.headers.get("stripe-should-retry") == "false"
        assert _graphql_code(read_only) == ["DATABASE_READ_ONLY"]
        listed = gateway.gql(key, "{ verificationSessions(first: 100) { nodes { id } } }")
        assert {node["id"] for node in listed["verificationSessions"]["nodes"]} == acknowledged
        assert "Traceback" not in gateway.log, gateway.log[-5000:]
    finally:
        gateway.stop()
        subprocess.run(["chattr", "-i", str(database)], check=True)
    # and the file is whole and holds exactly what was acknowledged
    assert _stored(database) == acknowledged
