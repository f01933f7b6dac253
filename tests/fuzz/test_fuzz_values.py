"""Fuzzing the values behind the rules of app/domain, e-mail and phone (`provided_details`) and
metadata, through both surfaces on a live server: GraphQL's create and update, and REST's
form-encoded create and update (/v1/identity/verification_sessions[/{id}]). The two surfaces share the rules, so for every
value they must agree: both store it exactly as sent (no normalisation, no replacement
character), or both refuse it naming the field; never a 5xx or INTERNAL_SERVER_ERROR, and a
refused request stores nothing.

Values are Unicode's awkward cases: IDNA and Unicode domains, local parts at and past the
length limits, `+` forms, control characters, bidi marks, combining marks, emoji (one character,
four bytes), other scripts' digits, trailing newlines; metadata keys and values at exactly the
limits counted in characters (not bytes), NUL, and lone surrogates (an escape in JSON, a
percent-encoded CESU byte run in a form). Derandomized and bounded.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import httpx
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import Api
from tests.fuzz.state import account_state
from tests.fuzz.test_fuzz_graphql import FUZZ_SETTINGS, LEAK_MARKERS
from tests.fuzz.test_fuzz_rest import a_session, assert_stripe_answer, form_headers

EXAMPLES = 120
# Stands for a lone surrogate, which neither json.dumps nor urlencode can write: replaced in the
# encoded request by `\ud800` (JSON) or `%ED%A0%80` (a form).
LONE = "LONE-SURROGATE"

CREATE = """
mutation Create($input: CreateVerificationSessionInput!) {
  createVerificationSession(input: $input) {
    verificationSession { id metadata providedDetails { email phone } }
    userErrors { field code message }
  }
}
"""
UPDATE = """
mutation Update($input: UpdateVerificationSessionInput!) {
  updateVerificationSession(input: $input) {
    verificationSession { id metadata providedDetails { email phone } }
    userErrors { field code message }
  }
}
"""

LOCAL_PARTS = st.sampled_from(
    [
        "jenny",
        "jenny+tag",
        "+",
        "a.b",
        ".a",
        "a..b",
        '"quoted"',
        "j\u00e9nny",
        "e\u0301",
        "\u202ejenny",
        "jen\u200bny",
        "\U0001f600",
        "\x07",
        "\x7f",
        "a" * 64,
        "a" * 65,
        "a" * 4980,
        "a" * 5000,
        "jen\nny",
        "",
        LONE,
    ]
)
DOMAINS = st.sampled_from(
    [
        "example.com",
        "b\u00fccher.example",
        "xn--bcher-kva.example",
        "\u4f8b\u3048.\u30c6\u30b9\u30c8",
        "example.com.",
        "example",
        "a..b",
        "[127.0.0.1]",
        "example.com\n",
        "example.c\u0301om",
        "\u202eexample.com",
        "xn--.com",
        "example.com\x00",
    ]
)
EMAILS = st.one_of(
    st.builds(lambda local, domain: f"{local}@{domain}", LOCAL_PARTS, DOMAINS),
    st.sampled_from(["@", "a@", "@b.c", "a@@b.c", "a@b@c.d", "a b@c.d"]),
    st.text(max_size=30),
)
PHONES = st.one_of(
    st.sampled_from(
        [
            "+14155550123",
            "+1415555",
            "+141555501234567",
            "+1415555012345678",
            "14155550123",
            "+04155550123",
            "+1 415 555 0123",
            "+1-415-555-0123",
            "+14155550123\n",
            "\u202d+14155550123",
            "+\u0661\u0664\u0661\u0665\u0665\u0665\u0665\u0660\u0661\u0662\u0663",
            "\uff0b\uff11\uff14\uff11\uff15\uff15\uff15\uff15\uff10\uff11\uff12\uff13",
            "+1415555\x000123",
            LONE,
        ]
    ),
    st.from_regex(r"\A\+[0-9]{1,17}\Z"),
    st.text(max_size=20),
)
DETAILS = st.fixed_dictionaries({}, optional={"email": EMAILS, "phone": PHONES}).filter(bool)

METADATA_KEYS = st.sampled_from(
    [
        "k",
        "order_id",
        "a" * 40,
        "a" * 41,
        "\U0001f600" * 40,
        "\U0001f600" * 41,
        "e\u0301" * 20,
        "e\u0301" * 21,
        "\u05d0\u200f",
        "a\x00",
        "a[b",
        "a]",
        " ",
        "\n",
        "a&b=c",
        "%",
        LONE,
    ]
)
METADATA_VALUES = st.sampled_from(
    [
        "v",
        "",
        "a" * 500,
        "a" * 501,
        "\U0001f600" * 500,
        "\U0001f600" * 501,
        "e\u0301" * 250,
        "\u202e\u2066",
        "\x00",
        "line\nbreak",
        "&=%",
        LONE,
    ]
)
METADATA = st.dictionaries(
    METADATA_KEYS | st.text(min_size=1, max_size=10),
    METADATA_VALUES | st.text(max_size=20),
    max_size=5,
)


def graphql(api: Api, document: str, variables: dict[str, Any]) -> httpx.Response:
    body = json.dumps({"query": document, "variables": variables}).replace(LONE, "\\ud800")
    return api.http.post(
        "/graphql",
        content=body,
        headers={"Authorization": f"Bearer {api.key}", "Content-Type": "application/json"},
    )


def form(pairs: list[tuple[str, str]]) -> str:
    return "&".join(f"{quote(name)}={quote(value)}" for name, value in pairs).replace(
        LONE, "%ED%A0%80"
    )


def graphql_verdict(response: httpx.Response, mutation: str) -> dict[str, Any] | None:
    """The session the mutation returned, or None when it was refused (naming a field)."""
    assert response.status_code < 500, response.text
    for marker in LEAK_MARKERS:
        assert marker not in response.text, response.text
    body = response.json()
    if response.status_code == 400:  # the request itself: a lone surrogate
        assert body["errors"][0]["extensions"]["code"] == "BAD_REQUEST", body
        return None
    assert "errors" not in body, body
    payload = body["data"][mutation]
    if payload["userErrors"]:
        assert payload["verificationSession"] is None, payload
        assert all(error["field"] and error["message"] for error in payload["userErrors"])
        return None
    session: dict[str, Any] = payload["verificationSession"]
    return session


def rest_verdict(response: httpx.Response, sent: str) -> dict[str, Any] | None:
    assert_stripe_answer(response, sent=sent)
    if response.status_code >= 400:
        return None
    session: dict[str, Any] = response.json()
    return session


def test_emails_and_phones_get_one_answer_on_both_surfaces(api: Api) -> None:
    # given: a session to update, and the account's rows (after the last accepted example)
    target = a_session(api)
    state = {"before": account_state(api)}

    @settings(FUZZ_SETTINGS, max_examples=EXAMPLES)
    @given(details=DETAILS)
    def fuzz(details: dict[str, str]) -> None:
        pairs = [(f"provided_details[{name}]", value) for name, value in details.items()]
        # when
        created = graphql_verdict(
            graphql(api, CREATE, {"input": {"type": "DOCUMENT", "providedDetails": details}}),
            "createVerificationSession",
        )
        sent = form([("type", "document"), ("expand[]", "provided_details"), *pairs])
        rest = rest_verdict(
            api.http.post(
                "/v1/identity/verification_sessions", content=sent, headers=form_headers(api.key)
            ),
            sent,
        )
        updated = graphql_verdict(
            graphql(api, UPDATE, {"input": {"id": target["id"], "providedDetails": details}}),
            "updateVerificationSession",
        )
        sent = form([("expand[]", "provided_details"), *pairs])
        rest_updated = rest_verdict(
            api.http.post(
                f"/v1/identity/verification_sessions/{target['id']}",
                content=sent,
                headers=form_headers(api.key),
            ),
            sent,
        )
        # then: one verdict, and what is accepted is stored as sent
        verdicts = [result is not None for result in (created, rest, updated, rest_updated)]
        assert len(set(verdicts)) == 1, (details, created, rest, updated, rest_updated)
        after = account_state(api)
        if created is None:
            assert after == state["before"], details
            return
        state["before"] = after
        expected = {"email": details.get("email"), "phone": details.get("phone")}
        assert created["providedDetails"] == expected
        assert updated is not None and updated["providedDetails"] == expected
        given = {name: value for name, value in expected.items() if value is not None}
        assert rest is not None and rest["provided_details"] == given
        assert rest_updated is not None and rest_updated["provided_details"] == given

    fuzz()


def test_metadata_gets_one_answer_on_both_surfaces(api: Api) -> None:
    # given: a session to update (its metadata grows with each accepted example), and the
    # account's rows (after the last accepted example)
    target = a_session(api)
    state = {"before": account_state(api)}

    @settings(FUZZ_SETTINGS, max_examples=EXAMPLES)
    @given(metadata=METADATA)
    def fuzz(metadata: dict[str, str]) -> None:
        pairs = [(f"metadata[{key}]", value) for key, value in metadata.items()]
        # when
        created = graphql_verdict(
            graphql(api, CREATE, {"input": {"type": "DOCUMENT", "metadata": metadata}}),
            "createVerificationSession",
        )
        sent = form([("type", "document"), *pairs])
        rest = rest_verdict(
            api.http.post(
                "/v1/identity/verification_sessions", content=sent, headers=form_headers(api.key)
            ),
            sent,
        )
        # then
        kept = {key: value for key, value in metadata.items() if value != ""}
        if any("[" in key or "]" in key for key in metadata):
            # Not expressible in Stripe's bracket syntax; GraphQL refuses it by the metadata rule.
            assert created is None and rest is None, (metadata, created, rest)
        else:
            assert (created is None) == (rest is None), (metadata, created, rest)
        if created is None:
            assert account_state(api) == state["before"], metadata
            return
        assert created["metadata"] == kept
        assert rest is not None and rest["metadata"] == kept
        # and an update merges the same keys into another session's (unless past 50 keys), on
        # both surfaces alike
        merged = graphql_verdict(
            graphql(api, UPDATE, {"input": {"id": target["id"], "metadata": metadata}}),
            "updateVerificationSession",
        )
        sent = form(pairs)
        rest_merged = rest_verdict(
            api.http.post(
                f"/v1/identity/verification_sessions/{target['id']}",
                content=sent,
                headers=form_headers(api.key),
            ),
            sent,
        )
        assert (merged is None) == (rest_merged is None), (metadata, merged, rest_merged)
        if merged is not None and rest_merged is not None:
            assert rest_merged["metadata"] == merged["metadata"]
        state["before"] = account_state(api)

    fuzz()
