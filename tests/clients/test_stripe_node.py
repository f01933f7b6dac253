"""Stripe's Node SDK (`stripe` on npm) against a live gateway: clients/stripe/stripe.mjs drives
the REST surface, and verifies webhook deliveries to a receiver it runs with the SDK's own
`webhooks.constructEvent`, asserting what it sees itself and exiting non-zero on any mismatch."""

from __future__ import annotations

from tests.clients.conftest import CLIENTS, run_node
from tests.conftest import Api

SCRIPT = CLIENTS / "stripe" / "stripe.mjs"
SESSIONS = """
query Sessions {
  verificationSessions(first: 10) { nodes { clientReferenceId status metadata } }
}
"""


def test_the_node_sdk_runs_against_the_gateway(api: Api) -> None:
    # when
    result = run_node(SCRIPT, url=api.server.base_url, key=api.key)
    # then
    assert "node sdk: 5 sessions listed, 6 events, 6 webhooks verified" in result.stdout
    nodes = api.gql(SESSIONS)["verificationSessions"]["nodes"]
    assert [node["clientReferenceId"] for node in nodes] == [f"node_{n}" for n in range(4, -1, -1)]
    assert nodes[-1] == {
        "clientReferenceId": "node_0",
        "status": "CANCELED",
        "metadata": {"extra": "yes"},
    }


def test_the_node_sdk_fails_on_a_key_the_gateway_does_not_know(api: Api) -> None:
    # when
    result = run_node(
        SCRIPT, url=api.server.base_url, key="sk_test_unknown", timeout=60, expect_success=False
    )
    # then
    assert result.returncode == 1
    assert "Invalid API Key provided" in result.stderr
