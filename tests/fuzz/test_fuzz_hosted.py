"""Fuzzing the hosted page's form posts (app/web/hosted.py, app/web/hosted_form.py) on a live
server: whatever a browser, or anything pretending to be one, posts to `/verify/<token>`, the
answer is an HTML page (the form again, naming the field, or a 4xx page) or the redirect of an
accepted submission, never a 5xx, and a refused post changes nothing: the session, its link and
its events are as they were.

Bodies start from the verify form's own fields, each kept, dropped, repeated or replaced by an
awkward value (huge, NUL, control and bidi characters, emoji, dates of every shape), plus fields
of any name; or they are raw bytes, percent-escapes that are not UTF-8, too many fields or too
many bytes; sent as a form or as some other content type. Derandomized and bounded.
"""

from __future__ import annotations

from urllib.parse import quote, urlsplit

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import Api
from tests.fuzz.state import session_state
from tests.fuzz.test_fuzz_graphql import FUZZ_SETTINGS, LEAK_MARKERS
from tests.fuzz.test_fuzz_rest import a_session

EXAMPLES = 150
FORM = "application/x-www-form-urlencoded"
VALID = {
    "outcome": "verified",
    "first_name": "Jenny",
    "last_name": "Rosen",
    "dob": "1901-01-01",
    "address_line1": "1234 Main St.",
    "address_city": "San Francisco",
    "address_country": "US",
    "id_number_type": "us_ssn",
    "id_number": "000000000",
    "email": "jenny.rosen@example.com",
    "phone": "+14155550123",
}
NAMES = [*VALID, "address_line2", "address_state", "address_postal_code", "last_error_code"]
AWKWARD = st.sampled_from(
    [
        "",
        " ",
        "\x00",
        "a\x00b",
        "\x07\x1b[31m",
        "\u202eevil",
        "\u200f\u200e",
        "e\u0301",
        "\U0001f600" * 10,
        "x" * 5001,
        "requires_input",
        "verified",
        "processing",
        "abandoned",
        "consent_declined",
        "0000-00-00",
        "9999-12-31",
        "1901-02-29",
        "2026-13-01",
        "\u0661\u0669\u0660\u0661-01-01",
        "1901-01-01\n",
        "-1",
        "us",
        "ZZ",
        "br_cpf",
        "jenny@example.com\n",
        "+1",
    ]
)
VALUES = st.one_of(AWKWARD, AWKWARD, st.text(max_size=30))
CONTENT_TYPES = st.sampled_from(
    [
        FORM,
        FORM,
        FORM,
        FORM,
        f"{FORM}; charset=utf-8",
        f"{FORM}; charset=latin-1",
        "APPLICATION/X-WWW-FORM-URLENCODED",
        "multipart/form-data; boundary=x",
        "application/json",
        "text/plain",
        "",
        'form; x="',
    ]
)


@st.composite
def form_pairs(draw: st.DrawFn) -> list[tuple[str, str]]:
    """The verify form's fields, each kept, dropped, repeated or replaced; then other names."""
    pairs: list[tuple[str, str]] = []
    for name, value in VALID.items():
        choice = draw(st.integers(0, 9))
        if choice == 0:
            continue
        if choice in (1, 2):
            value = draw(VALUES)
        pairs.append((name, value))
        if choice == 3:
            pairs.append((name, draw(VALUES)))
    extra = st.tuples(st.sampled_from(NAMES) | st.text(max_size=10), VALUES)
    pairs += draw(st.lists(extra, max_size=4))
    return pairs


def encode(pairs: list[tuple[str, str]]) -> bytes:
    return "&".join(f"{quote(name)}={quote(value)}" for name, value in pairs).encode()


@st.composite
def one_change(draw: st.DrawFn) -> list[tuple[str, str]]:
    """The valid verify form with at most one field's value replaced: mostly accepted."""
    pairs = list(VALID.items())
    if draw(st.booleans()):
        index = draw(st.integers(0, len(pairs) - 1))
        pairs[index] = (pairs[index][0], draw(VALUES))
    return pairs


BODIES = st.one_of(
    one_change().map(encode),
    form_pairs().map(encode),
    form_pairs().map(encode),
    form_pairs().map(encode),
    st.binary(max_size=200),
    st.sampled_from(
        [
            b"",
            b"outcome=%FF",
            b"outcome=%ED%A0%80",
            b"outcome=verified&first_name=\xe9",
            b"%=%&&&=&===",
            b"a=1&" * 101,
            b"outcome=verified&x=" + b"a" * 300_000,
            b"outcome=requires_input&last_error_code=abandoned&last_error_code=x",
            b"outcome[]=verified",
        ]
    ),
)


def test_any_post_gets_an_html_answer_and_a_refused_one_changes_nothing(api: Api) -> None:
    # given: a test-mode session's page, a new one once a post is accepted, and its rows
    session = a_session(api)
    target = {"session": session, "before": session_state(api, session["id"])}

    @settings(FUZZ_SETTINGS, max_examples=EXAMPLES)
    @given(body=BODIES, content_type=st.just(FORM) | CONTENT_TYPES)
    def fuzz(body: bytes, content_type: str) -> None:
        session, before = target["session"], target["before"]
        path = urlsplit(session["url"]).path
        headers = {"Content-Type": content_type} if content_type else {}
        # when
        response = api.http.post(path, content=body, headers=headers)
        # then
        assert response.status_code in (303, 400, 413, 415), (body[:200], response.text[:500])
        for marker in LEAK_MARKERS:
            if marker.encode() not in body:
                assert marker not in response.text, (body[:200], response.text[:500])
        if response.status_code == 303:
            fresh = a_session(api)
            target.update(session=fresh, before=session_state(api, fresh["id"]))
            return
        assert response.headers["content-type"].startswith("text/html"), response.headers
        assert session_state(api, session["id"]) == before, body[:200]

    fuzz()
    # and the page of the last session still shows its form
    page = api.http.get(target["session"]["url"])
    assert page.status_code == 200 and "<form" in page.text, page.text[:500]
