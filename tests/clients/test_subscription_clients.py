"""Subscriptions from other people's clients against a live gateway, over a real WebSocket:
the `graphql-ws` npm package (clients/graphql-ws/), Apollo Client's `GraphQLWsLink`
(clients/apollo/subscription.mjs) and relay-runtime's network `subscribe`
(clients/relay/subscribe.mjs). Each script asserts what it receives itself and exits non-zero on
any mismatch; these tests check its summary and what the gateway holds afterwards.
"""

from __future__ import annotations

import re

from tests.clients.conftest import CLIENTS, run_node
from tests.conftest import Api

GRAPHQL_WS = CLIENTS / "graphql-ws"

EVENT_TYPES = """
query Types { events(first: 100) { edges { node { type } } } }
"""


def event_types(api: Api) -> list[str]:
    """The account's event types, oldest first."""
    edges = api.gql(EVENT_TYPES)["events"]["edges"]
    return [edge["node"]["type"] for edge in reversed(edges)]


def test_graphql_ws_receives_each_event_in_order(api: Api) -> None:
    # when: the script subscribes to `events` and creates and cancels three sessions
    result = run_node(GRAPHQL_WS / "events.mjs", url=api.server.base_url, key=api.key)
    # then: it received their six events, in order, with the `events` query's cursors
    assert "graphql-ws: 6 events in order, cursors as the events query's" in result.stdout
    # and: the account holds the seed's event and those six
    created, canceled = (
        f"identity.verification_session.{kind}" for kind in ("created", "canceled")
    )
    assert event_types(api) == [created] + [created, canceled] * 3


def test_graphql_ws_resumes_with_since_and_gets_exactly_the_missed_events(api: Api) -> None:
    result = run_node(GRAPHQL_WS / "resume.mjs", url=api.server.base_url, key=api.key)
    assert "missed 10 while disconnected, resumed with since and got exactly those 10" in (
        result.stdout
    )
    assert len(event_types(api)) == 1 + 2 + 10 + 1


STATUS = """
query Status($id: ID!) { verificationSession(id: $id) { status metadata } }
"""


def test_apollo_graphql_ws_link_sees_a_status_change(api: Api) -> None:
    # when: Apollo watches a new session over GraphQLWsLink and changes it over HTTP
    result = run_node(CLIENTS / "apollo" / "subscription.mjs", url=api.server.base_url, key=api.key)
    # then: its checks passed, and the session it watched is canceled on the gateway
    match = re.search(r"apollo GraphQLWsLink: (vs_\w+) watched through", result.stdout)
    assert match, result.stdout
    assert "REQUIRES_INPUT, metadata change, CANCELED" in result.stdout
    assert api.gql(STATUS, {"id": match[1]})["verificationSession"] == {
        "status": "CANCELED",
        "metadata": {"order": "1001"},
    }
