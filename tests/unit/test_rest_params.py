"""Stripe's bracket syntax for form bodies and query strings (`app.rest.params`)."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.rest import params
from app.rest.errors import StripeError


def parse(query: str) -> dict[str, object]:
    return params.parse(parse_qsl(query, keep_blank_values=True))


def test_nested_maps_lists_and_appends() -> None:
    assert parse(
        "type=document&metadata[a]=1&metadata[b]=&options[document][allowed_types][1]=id_card"
        "&options[document][allowed_types][0]=passport&expand[]=x&expand[]=y&created[gte]=5"
    ) == {
        "type": "document",
        "metadata": {"a": "1", "b": ""},
        "options": {"document": {"allowed_types": ["passport", "id_card"]}},
        "expand": ["x", "y"],
        "created": {"gte": "5"},
    }


@pytest.mark.parametrize(
    ("query", "param"),
    [
        ("a]=1", "a]"),
        ("[a]=1", "[a]"),
        ("a[b=1", "a[b"),
        ("a=1&a[b]=2", "a"),
        ("a[b]=1&a=2", "a"),
        ("a=1&a=2", "a"),
        ("a[b][c][d][e][f]=1", "a"),
        ("a[0]=1&a[x]=2", "a"),
        ("a[0][b]=1&a[x][c]=2", "a"),
    ],
)
def test_malformed_names_are_refused_naming_the_parameter(query: str, param: str) -> None:
    with pytest.raises(StripeError) as refused:
        parse(query)
    assert refused.value.status == 400
    assert refused.value.param == param


@given(
    st.dictionaries(
        st.text("abcdefghij_0123", min_size=1, max_size=8),
        st.text(max_size=20),
        max_size=10,
    )
)
def test_metadata_round_trips_whatever_its_values(metadata: dict[str, str]) -> None:
    query = urlencode({f"metadata[{key}]": value for key, value in metadata.items()})
    assert parse(query) == ({"metadata": metadata} if metadata else {})


def test_metadata_keys_of_digits_or_none_are_keys_not_list_indexes() -> None:
    assert parse("metadata[0]=a&metadata[12]=b&metadata[]=c") == {
        "metadata": {"0": "a", "12": "b", "": "c"}
    }
    # Below metadata's own keys, and elsewhere, digits are still indexes.
    assert parse("metadata[0][1]=a") == {"metadata": {"0": ["a"]}}
    assert parse("expand[0]=a") == {"expand": ["a"]}


def test_other_digits_than_ascii_are_names_not_indexes() -> None:
    # "²" passes str.isdigit but not int(): it used to fail there, a 500
    assert parse("expand[%C2%B2]=a") == {"expand": {"\u00b2": "a"}}
    with pytest.raises(StripeError) as mixed:
        parse("expand[]=a&expand[%D9%A3]=b")
    assert mixed.value.param == "expand"


def test_typed_getters_name_the_rule() -> None:
    with pytest.raises(StripeError) as integer:
        params.integer({"limit": "ten"}, "limit", low=1, high=100)
    assert integer.value.code == "parameter_invalid_integer"
    with pytest.raises(StripeError) as too_many:
        params.integer({"limit": "101"}, "limit", low=1, high=100)
    assert "between 1 and 100" in too_many.value.message
    with pytest.raises(StripeError) as unknown:
        params.check_known({"gt": "1", "gte": "2", "nope": "3"}, ("gt", "gte"), prefix="created")
    assert unknown.value.param == "created[nope]" and unknown.value.code == "parameter_unknown"
    assert params.created_range({"created": "100"}) == {
        "created_gte": params.timestamp("100", "created"),
        "created_lt": params.timestamp("101", "created"),
    }
