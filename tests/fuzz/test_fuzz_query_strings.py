"""Fuzzing query strings on a live server: REST GET parameters (`expand[]`, `limit`,
`starting_after`, `ending_before`, `created[gte]` and the rest, app/rest/params.py and
app/rest/lists.py) and GraphQL over GET (`query`, `variables`, `operationName`, `extensions`,
`documentId`).

Names are the endpoints' own, in every bracket shape Stripe's syntax allows and some it does
not, repeated or not; values are ids that exist (this account's and another's), numbers at and
past the limits, other scripts' digits, timestamps past year 9999, invalid JSON, JSON nested
past the limit, lone surrogate escapes and percent-escapes that are not UTF-8. Every REST answer
is Stripe's object or error envelope, every GraphQL answer a JSON error carrying a code or data,
never a 5xx or INTERNAL_SERVER_ERROR; and reads write nothing. Derandomized and bounded.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import Api
from tests.fuzz.state import account_state
from tests.fuzz.test_fuzz_graphql import FUZZ_SETTINGS, LEAK_MARKERS
from tests.fuzz.test_fuzz_rest import a_session, assert_stripe_answer

EXAMPLES = 200
GET_ENDPOINTS = (
    "/v1/identity/verification_sessions",
    "/v1/identity/verification_sessions/{id}",
    "/v1/identity/verification_reports",
    "/v1/identity/verification_reports/vr_x",
    "/v1/events",
    "/v1/webhook_endpoints",
)
ROOTS = ("expand", "limit", "starting_after", "ending_before", "created", "type", "status")
SHAPES = ("{}", "{}[]", "{}[0]", "{}[1]", "{}[gte]", "{}[lt]", "{}[gte][0]", "{}[][]", "{}[", "{}]")
EXPANDABLE = (
    "verified_outputs",
    "last_verification_report",
    "provided_details",
    "data.verified_outputs",
    "data.provided_details",
    "data.last_verification_report",
    "data.",
    "data.data.verified_outputs",
    "*",
)
NUMBERS = (
    "0",
    "1",
    "100",
    "101",
    "-1",
    "1.5",
    "1e2",
    " 1",
    "\u0663",
    "\u00b2",
    "\uff11",
    "99999999999",
    "999999999999",
    "253402300800",
    "",
)
# Placeholders the test replaces with ids it made, and with escapes httpx would not send.
OWN_ID, OTHER_ID, NOT_UTF8 = "OWN-ID", "OTHER-ID", "NOT-UTF8"
VALUES = st.one_of(
    st.sampled_from(EXPANDABLE),
    st.sampled_from(NUMBERS),
    st.sampled_from([OWN_ID, OTHER_ID, NOT_UTF8, "vs_x", "evt_" + "a" * 24, "verified"]),
    st.text(max_size=20),
)


# Each parameter in its own shape with a value of its kind, so that values reach the rules.
WELL_FORMED = st.one_of(
    st.tuples(st.just("expand[]"), st.sampled_from(EXPANDABLE)),
    st.tuples(st.just("limit"), st.sampled_from(NUMBERS)),
    st.tuples(st.sampled_from(["starting_after", "ending_before"]), VALUES),
    st.tuples(
        st.sampled_from(["created", "created[gte]", "created[lt]"]), st.sampled_from(NUMBERS)
    ),
    st.tuples(st.sampled_from(["type", "status"]), VALUES),
)


@st.composite
def rest_queries(draw: st.DrawFn) -> str:
    """Mostly well-formed parameters, each name once; then now and then one of any shape, or
    a name given twice."""
    pairs = dict(draw(st.lists(WELL_FORMED, max_size=4)))
    items = list(pairs.items())
    if draw(st.integers(0, 2)) == 0:
        root = draw(st.sampled_from(ROOTS) | st.text(max_size=6))
        items.append((draw(st.sampled_from(SHAPES)).format(root), draw(VALUES)))
    if items and draw(st.integers(0, 5)) == 0:
        items.append(items[0])
    return "&".join(f"{quote(name)}={quote(value)}" for name, value in items)


def test_rest_get_parameters_get_a_stripe_answer_and_write_nothing(
    api: Api, other_api: Api
) -> None:
    # given
    own, other = a_session(api)["id"], a_session(other_api)["id"]
    before = account_state(api)

    @settings(FUZZ_SETTINGS, max_examples=EXAMPLES)
    @given(path=st.sampled_from(GET_ENDPOINTS), query=rest_queries())
    def fuzz(path: str, query: str) -> None:
        query = query.replace(OWN_ID, own).replace(OTHER_ID, other)
        query = query.replace(NOT_UTF8, "%FF%ED%A0%80")
        # when
        response = api.http.get(
            f"{path.format(id=own)}?{query}", headers={"Authorization": f"Bearer {api.key}"}
        )
        # then
        assert_stripe_answer(response, sent=query)
        if response.status_code == 200:
            assert other not in response.text, query

    fuzz()
    assert account_state(api) == before


QUERIES = (
    "{ __typename }",
    "query($n: Int) { verificationSessions(first: $n) { nodes { id } } }",
    "query($id: ID!) { verificationSession(id: $id) { id metadata } }",
    "query Named { __typename } query Other { __typename }",
    "mutation { createVerificationSession(input: {type: DOCUMENT}) { userErrors { code } } }",
    "subscription { events { cursor } }",
    "{",
    "",
)


def nested_text(depth: int) -> str:
    return '{"a": ' + "[" * depth + "]" * depth + "}"


JSON_TEXT = st.one_of(
    st.sampled_from(
        [
            "",
            "{",
            "[]",
            "null",
            "1",
            '"x"',
            "NaN",
            '{"n": NaN}',
            '{"n": 1e999}',
            '{"n": ' + "9" * 5000 + "}",
            '{"id": "\\ud800"}',
            '{"\\udfff": 1}',
            '{"id": "\\ud83d\\ude00"}',
            '{"n": 10, "n": 1}',
            '{"persistedQuery": {"version": 1, "sha256Hash": "' + "0" * 64 + '"}}',
            '{"persistedQuery": {"version": "1", "sha256Hash": []}}',
        ]
    ),
    st.integers(1, 200).map(nested_text),
    st.text(max_size=40),
)
VARIABLES = st.sampled_from(
    ['{"n": 1}', '{"n": 101}', '{"n": -1}', '{"n": "1"}', '{"id": "vs_x"}', '{"id": 1}', "{}"]
)
GRAPHQL_PARAMS = st.fixed_dictionaries(
    {"query": st.sampled_from(QUERIES) | st.sampled_from(QUERIES) | st.text(max_size=40)},
    optional={
        "variables": VARIABLES | VARIABLES | JSON_TEXT,
        "operationName": st.sampled_from(["Named", "Other", "", "\x00"]) | st.text(max_size=10),
        "extensions": JSON_TEXT,
        "documentId": st.sampled_from(["sha256:" + "0" * 64, "x"]) | st.text(max_size=10),
    },
)


def test_graphql_get_parameters_get_a_coded_answer_and_write_nothing(api: Api) -> None:
    # given
    before = account_state(api)

    @settings(FUZZ_SETTINGS, max_examples=EXAMPLES)
    @given(params=GRAPHQL_PARAMS, repeated=st.booleans())
    def fuzz(params: dict[str, str], repeated: bool) -> None:
        pairs = list(params.items())
        if repeated and pairs:
            pairs.append((pairs[0][0], "{ __typename }"))
        query = "&".join(f"{quote(name)}={quote(value)}" for name, value in pairs)
        # when
        response = api.http.get(
            f"/graphql?{query}",
            headers={"Authorization": f"Bearer {api.key}", "Accept": "application/json"},
        )
        # then
        assert response.status_code < 500, (pairs, response.text)
        body: dict[str, Any] = json.loads(response.text)
        for error in body.get("errors", []):
            assert error["extensions"]["code"] != "INTERNAL_SERVER_ERROR", (pairs, error)
        if response.status_code != 200:
            assert "data" not in body and body["errors"], (pairs, body)
        sent = query + "".join(value for _, value in pairs)
        for marker in LEAK_MARKERS:
            if marker not in sent:
                assert marker not in response.text, (pairs, response.text)

    fuzz()
    assert account_state(api) == before
