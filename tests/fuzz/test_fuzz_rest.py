"""Fuzzing the Stripe-compatible REST surface on a live server: whatever parameters a client
sends, in whatever bracket syntax, the answer is Stripe's object or Stripe's error envelope, never
a 5xx, and bad input changes nothing.

Parameter names are drawn from the endpoints' own names, nested in brackets (well formed or not)
and mixed with arbitrary text; values are arbitrary text, URL-shaped and IP-literal strings
included. Each example goes to every endpoint, as a form body for a POST and as a query string
for a GET, with the account's secret key, a restricted key or a made-up one. Derandomized and
bounded, like tests/fuzz/test_fuzz_graphql.py.
"""

from __future__ import annotations

import json
from urllib.parse import urlencode

import httpx
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import Api
from tests.fuzz.test_fuzz_graphql import FUZZ_SETTINGS, LEAK_MARKERS

EXAMPLES = 400
NAMES = (
    "type",
    "verification_flow",
    "client_reference_id",
    "metadata",
    "options",
    "document",
    "allowed_types",
    "require_id_number",
    "provided_details",
    "email",
    "phone",
    "related_customer",
    "related_person",
    "account",
    "person",
    "matching",
    "return_url",
    "expand",
    "limit",
    "starting_after",
    "ending_before",
    "created",
    "gte",
    "lt",
    "status",
    "types",
    "verification_session",
    "data.verified_outputs",
    "0",
    "",
)
AWKWARD = [
    "document",
    "id_number",
    "true",
    "maybe",
    "1700000000",
    "99999999999999999999",
    "-1",
    "0",
    "101",
    "http://[::1",
    "https://[fe80::1%25eth0]/x",
    "http://user:pw@example.com:99999/",
    "javascript:alert(1)",
    "vs_000000000000000000000000",
    "identity.verification_session.*",
    "",
]
SAMPLES = st.sampled_from(AWKWARD)
VALUES = st.one_of(SAMPLES, SAMPLES, st.text(max_size=30))


@st.composite
def parameter_names(draw: st.DrawFn) -> str:
    """Mostly the endpoints' own names, shallowly nested, so that values reach the rules."""
    root = draw(st.sampled_from(NAMES))
    if draw(st.integers(0, 4)) == 0:
        root = draw(st.text(max_size=8))
    depth = draw(st.sampled_from([0, 0, 0, 0, 1, 1, 2, 3, 6]))
    parts = [draw(st.sampled_from(NAMES) | st.text(max_size=5)) for _ in range(depth)]
    name = root + "".join(f"[{part}]" for part in parts)
    if draw(st.integers(0, 5)) == 0:
        # Now and then a bracket too many or too few.
        name += draw(st.sampled_from(["[", "]", "[]", "][", "[x"]))
    return name


# Known names with drawn values (so the values reach the rules behind them), then names of any
# shape.
PAIRS = st.builds(
    lambda known, other: [*known.items(), *other],
    st.dictionaries(st.sampled_from(NAMES), VALUES, max_size=5),
    st.lists(st.tuples(parameter_names(), VALUES), max_size=3),
)
ENDPOINTS = st.sampled_from(
    [
        ("POST", "/v1/identity/verification_sessions"),
        ("POST", "/v1/identity/verification_sessions"),
        ("POST", "/v1/identity/verification_sessions"),
        ("GET", "/v1/identity/verification_sessions"),
        ("GET", "/v1/identity/verification_sessions/{id}"),
        ("POST", "/v1/identity/verification_sessions/{id}"),
        ("POST", "/v1/identity/verification_sessions/{id}/cancel"),
        ("POST", "/v1/identity/verification_sessions/{id}/redact"),
        ("POST", "/v1/test_helpers/identity/verification_sessions/{id}/verify"),
        ("GET", "/v1/identity/verification_reports"),
        ("GET", "/v1/events"),
    ]
)


def form_headers(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}", "Content-Type": "application/x-www-form-urlencoded"}


def a_session(api: Api) -> dict[str, str]:
    """A session of the account, created over REST: the target of the per-session endpoints."""
    response = api.http.post(
        "/v1/identity/verification_sessions", content="type=document", headers=form_headers(api.key)
    )
    assert response.status_code == 200, response.text
    session: dict[str, str] = response.json()
    return session


def test_any_parameters_get_a_stripe_answer_never_a_server_error(api: Api) -> None:
    # given
    made = a_session(api)
    keys = st.sampled_from([api.key, api.key, api.key, api.new_key(restricted=True), "sk_test_x"])

    @settings(FUZZ_SETTINGS, max_examples=EXAMPLES)
    @given(
        endpoint=ENDPOINTS,
        pairs=PAIRS,
        key=keys,
        session_id=st.sampled_from([made["id"], "vs_x", "x"]),
    )
    def fuzz(
        endpoint: tuple[str, str], pairs: list[tuple[str, str]], key: str, session_id: str
    ) -> None:
        method, path = endpoint
        if endpoint == ("POST", "/v1/identity/verification_sessions") and not any(
            name == "type" for name, _ in pairs
        ):
            # Mostly a valid create, so that the values reach the rules behind the parameters.
            pairs = [("type", "document"), *pairs]
        encoded = urlencode(pairs)
        url = path.format(id=session_id)
        headers = {"Authorization": f"Bearer {key}"}
        # when
        if method == "GET":
            response = api.http.get(f"{url}?{encoded}", headers=headers)
        else:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            response = api.http.post(url, content=encoded, headers=headers)
        # then
        assert_stripe_answer(response, sent=encoded)

    fuzz()


def assert_stripe_answer(response: httpx.Response, *, sent: str) -> None:
    assert response.status_code < 500, response.text
    assert response.headers["content-type"].startswith("application/json"), response.text
    body = json.loads(response.text)
    assert isinstance(body, dict)
    if response.status_code >= 400:
        error = body["error"]
        assert set(error) <= {"type", "code", "param", "message"}, error
        assert error["type"] in ("invalid_request_error", "idempotency_error"), error
        assert isinstance(error["message"], str) and error["message"]
    for marker in LEAK_MARKERS:
        if marker not in sent:
            assert marker not in response.text, response.text


def test_every_parameter_with_every_awkward_value_gets_a_stripe_answer(api: Api) -> None:
    """Hypothesis rarely lands a given value on a given name; this sweep does every pair, on
    the endpoints that take the most parameters, starting from a valid request."""
    made = a_session(api)
    form = form_headers(api.key)
    for name in NAMES:
        for value in AWKWARD:
            for shape in (name, f"{name}[0]", f"options[document][{name}]", f"metadata[{name}]"):
                pair = urlencode([(shape, value)])
                # when
                create = api.http.post(
                    "/v1/identity/verification_sessions",
                    content=f"type=document&{pair}",
                    headers=form,
                )
                update = api.http.post(
                    f"/v1/identity/verification_sessions/{made['id']}", content=pair, headers=form
                )
                listed = api.http.get(f"/v1/identity/verification_sessions?{pair}", headers=form)
                # then
                for response in (create, update, listed):
                    assert_stripe_answer(response, sent=pair)
