"""Metadata rules (app.domain.metadata.merge), without a database."""

from __future__ import annotations

from typing import Any

import pytest

from app.domain import metadata
from app.domain.errors import ErrorCode, InvalidParameter


def fifty_keys() -> dict[str, str]:
    return {f"key{index:02d}": f"value{index}" for index in range(50)}


def test_merge_into_empty_metadata_keeps_given_pairs() -> None:
    # when
    result = metadata.merge({}, {"order": "1234", "tier": "gold"})
    # then
    assert result == {"order": "1234", "tier": "gold"}


def test_merge_overwrites_and_adds_keys_leaving_others() -> None:
    # when
    result = metadata.merge({"a": "1", "b": "2"}, {"b": "20", "c": "3"})
    # then
    assert result == {"a": "1", "b": "20", "c": "3"}


def test_merge_removes_key_set_to_empty_string() -> None:
    # when
    result = metadata.merge({"a": "1", "b": "2"}, {"a": ""})
    # then
    assert result == {"b": "2"}


def test_merge_ignores_removal_of_absent_key() -> None:
    # when
    result = metadata.merge({"a": "1"}, {"missing": ""})
    # then
    assert result == {"a": "1"}


def test_merge_with_none_clears_every_key() -> None:
    # when
    result = metadata.merge({"a": "1", "b": "2"}, None)
    # then
    assert result == {}


def test_merge_with_no_changes_keeps_current() -> None:
    # when
    result = metadata.merge({"a": "1"}, {})
    # then
    assert result == {"a": "1"}


def test_merge_does_not_modify_current_mapping() -> None:
    # given
    current = {"a": "1", "b": "2"}
    # when
    result = metadata.merge(current, {"a": "", "c": "3"})
    # then
    assert current == {"a": "1", "b": "2"}
    assert result is not current


def test_merge_accepts_exactly_the_limits() -> None:
    # given
    changes = {**{f"key{index:02d}": "v" for index in range(48)}, "k" * 40: "x", "long": "v" * 500}
    # when
    result = metadata.merge({}, changes)
    # then
    assert len(result) == 50
    assert result["k" * 40] == "x"
    assert result["long"] == "v" * 500


def test_merge_rejects_51_keys_with_stripes_message() -> None:
    # given
    changes = {f"key{index}": "v" for index in range(51)}
    # when
    with pytest.raises(InvalidParameter) as raised:
        metadata.merge({}, changes)
    # then
    assert raised.value.code is ErrorCode.PARAMETER_INVALID
    assert raised.value.field == ["metadata"]
    assert raised.value.message == "Metadata can have up to 50 keys, but you've set 51."


def test_merge_counts_the_merged_result_against_the_key_limit() -> None:
    # when
    with pytest.raises(InvalidParameter) as raised:
        metadata.merge(fifty_keys(), {"one-more": "v"})
    # then
    assert raised.value.message == "Metadata can have up to 50 keys, but you've set 51."


def test_merge_lets_a_removal_make_room_for_a_new_key() -> None:
    # when
    result = metadata.merge(fifty_keys(), {"key00": "", "new": "v"})
    # then
    assert len(result) == 50
    assert "key00" not in result
    assert result["new"] == "v"


def test_merge_rejects_key_of_41_characters_with_stripes_message() -> None:
    # given
    key = "k" * 41
    # when
    with pytest.raises(InvalidParameter) as raised:
        metadata.merge({}, {key: "v"})
    # then
    assert raised.value.field == ["metadata", key]
    assert raised.value.message == (
        "Metadata keys can have up to 40 characters, but you passed in a key that is 41 "
        f"characters. Invalid key: {key}"
    )


@pytest.mark.parametrize("key", ["order[1]", "[", "]", "a]b"])
def test_merge_rejects_key_with_square_bracket(key: str) -> None:
    # when
    with pytest.raises(InvalidParameter) as raised:
        metadata.merge({}, {key: "v"})
    # then
    assert raised.value.field == ["metadata", key]
    assert raised.value.message == f"Metadata keys may not contain '[' or ']'. Invalid key: {key}"


def test_merge_rejects_bracket_key_even_when_removing_it() -> None:
    # when
    with pytest.raises(InvalidParameter) as raised:
        metadata.merge({}, {"order[1]": ""})
    # then
    assert raised.value.field == ["metadata", "order[1]"]


def test_merge_rejects_empty_key() -> None:
    # when
    with pytest.raises(InvalidParameter) as raised:
        metadata.merge({}, {"": "v"})
    # then
    assert raised.value.field == ["metadata", ""]
    assert raised.value.message == "Metadata keys must not be empty."


def test_merge_rejects_value_of_501_characters() -> None:
    # when
    with pytest.raises(InvalidParameter) as raised:
        metadata.merge({}, {"note": "v" * 501})
    # then
    assert raised.value.field == ["metadata", "note"]
    assert raised.value.message == (
        "Metadata values can have up to 500 characters, but you passed in a value that is 501 "
        "characters. Invalid value for key: note"
    )


@pytest.mark.parametrize("value", [1, 0, 1.5, True, False, None, ["a"], {"a": "b"}])
def test_merge_rejects_value_that_is_not_a_string(value: Any) -> None:
    # when
    with pytest.raises(InvalidParameter) as raised:
        metadata.merge({}, {"count": value})
    # then
    assert raised.value.field == ["metadata", "count"]
    assert (
        raised.value.message
        == "Metadata values must be strings, but the value for key count is not."
    )


@pytest.mark.parametrize(("key", "value"), [("note", "a\x00b"), ("no\x00te", "v")])
def test_merge_rejects_nul_character(key: str, value: str) -> None:
    # when
    with pytest.raises(InvalidParameter) as raised:
        metadata.merge({}, {key: value})
    # then
    assert raised.value.field == ["metadata", key]
    assert raised.value.message == (
        "Metadata keys and values must not contain the NUL character (U+0000). "
        f"Invalid pair for key: {key!r}"
    )


def test_merge_limits_match_the_documented_numbers() -> None:
    # then
    assert (metadata.MAX_KEYS, metadata.MAX_KEY_LENGTH, metadata.MAX_VALUE_LENGTH) == (50, 40, 500)
