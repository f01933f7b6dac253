"""Apollo Client 4 against a live gateway: clients/apollo/apollo.mjs creates sessions, pages
through them with fetchMore into one cached connection (relayStylePagination keyed on `filter`),
checks it holds every session once, newest first, and refetches one through `node`. The script
asserts all of that itself and exits non-zero on any mismatch.
"""

from __future__ import annotations

import re

from tests.clients.conftest import CLIENTS, run_node
from tests.conftest import Api

APOLLO = CLIENTS / "apollo" / "apollo.mjs"
SESSIONS = 7

LIST = """
query List {
  verificationSessions(first: 100) { nodes { id status relatedCustomer clientReferenceId } }
}
"""


def test_apollo_pages_every_session_into_one_cached_connection(api: Api) -> None:
    # given: a fresh account, with no sessions
    assert api.gql(LIST)["verificationSessions"]["nodes"] == []
    # when: the script runs against the gateway with the account's test key
    result = run_node(APOLLO, url=api.server.base_url, key=api.key)
    # then: its own checks passed, on pages of three
    assert f"paged {SESSIONS} sessions in 3 pages of up to 3" in result.stdout
    # and: the gateway holds what it created, one customer's sessions with distinct references
    sessions = api.gql(LIST)["verificationSessions"]["nodes"]
    assert len(sessions) == SESSIONS
    assert len({session["relatedCustomer"] for session in sessions}) == 1
    assert sessions[0]["relatedCustomer"].startswith("cus_apollo")
    assert len({session["clientReferenceId"] for session in sessions}) == SESSIONS
    assert {session["status"] for session in sessions} == {"REQUIRES_INPUT"}
    # and: the session it read through `node` is the newest one
    match = re.search(
        r'node\(id: "(vs_\w+)"\) is a VerificationSession in REQUIRES_INPUT', result.stdout
    )
    assert match, result.stdout
    assert match[1] == sessions[0]["id"]


def test_apollo_script_exits_non_zero_when_the_gateway_refuses_it(api: Api) -> None:
    # when: the script runs with a key the gateway does not know
    result = run_node(
        APOLLO, url=api.server.base_url, key="sk_test_unknown", timeout=60, expect_success=False
    )
    # then: it fails on the first request, creating nothing
    assert result.returncode == 1
    assert "Invalid API key" in result.stderr
    assert api.gql(LIST)["verificationSessions"]["nodes"] == []
