"""The GraphQL endpoint reads request bodies with orjson where it reads them as `json` does, and
with `json` elsewhere: every body answers exactly what `json.loads` answers, except a lone
surrogate, which only `json` reads and nothing after it can store or send."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.web.graphql import RequestError, _loads

BODIES = [
    b'{"query": "{ __typename }"}',
    b'\xef\xbb\xbf{"a": 1}',  # a UTF-8 byte-order mark: json accepts it, orjson does not
    '{"a": 1}'.encode("utf-16"),
    b'{"a": 1, "a": 2}',
    b'{"a": 1e400}',
    b'{"a": NaN}',
    b'{"a": 123456789012345678901234567890}',
    b'{"a": 18446744073709551616}',
    b'{"a": -9223372036854775809}',
    b'{"a": 9223372036854775807}',
    b'{"a": -0.0, "b": 1.0000000000000002, "c": 1E2}',
    b'{"a": "\\u00e9\xc3\xa9"}',
]


@pytest.mark.parametrize("body", BODIES)
def test_a_body_reads_as_json_reads_it(body: bytes) -> None:
    expected = json.loads(body)
    found = _loads(body)
    assert repr(found) == repr(expected)
    assert [type(v) for v in found.values()] == [type(v) for v in expected.values()]


@pytest.mark.parametrize("body", [b"", b"{", b'{"a": "\x01"}', b"\xff", b"[1,]"])
def test_invalid_json_fails_as_json_fails(body: bytes) -> None:
    with pytest.raises(ValueError):
        json.loads(body)
    with pytest.raises(ValueError):
        _loads(body)


@pytest.mark.parametrize(
    "body",
    [
        b'{"a": "\\ud800"}',
        b'{"a": ["x\\udfffy"]}',
        b'{"\\ud83d": 1}',
        b'{"a": "\\ud800", "n": 1234567890123456789012}',
    ],
)
def test_a_lone_surrogate_is_a_bad_request(body: bytes) -> None:
    with pytest.raises(RequestError) as refused:
        _loads(body)
    assert refused.value.status == 400
    assert "lone UTF-16 surrogate" in refused.value.message


def test_a_surrogate_pair_is_text() -> None:
    assert _loads(b'{"a": "\\ud83d\\ude00", "n": 1234567890123456789012}')["a"] == "\U0001f600"


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=300, derandomize=True)
@given(JSON)
def test_any_json_value_reads_back_alike(value: object) -> None:
    body = json.dumps(value).encode()
    found = _loads(body)
    expected = json.loads(body)
    assert repr(found) == repr(expected)
    if isinstance(expected, float):
        assert math.copysign(1, found) == math.copysign(1, expected)  # type: ignore[arg-type]
