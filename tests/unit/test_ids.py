"""Ids and secret tokens: the length asked for, base-62 only, every character equally likely."""

from __future__ import annotations

from collections import Counter

from app.domain.ids import BASE62, new_id, prefix_of, random_base62


def test_random_base62_has_the_length_asked_for() -> None:
    # when
    lengths = [len(random_base62(length)) for length in (0, 1, 24, 32, 500)]
    # then
    assert lengths == [0, 1, 24, 32, 500]


def test_random_base62_draws_every_character_about_equally_often() -> None:
    # when
    counts = Counter("".join(random_base62(62) for _ in range(2000)))
    # then: about 2,000 of each; keeping bytes 248 to 255 would give the first eight ~2,500
    assert set(counts) == set(BASE62)
    assert all(1700 < count < 2300 for count in counts.values()), counts


def test_new_id_is_a_well_formed_id() -> None:
    # when
    session_id = new_id("vs")
    # then
    assert prefix_of(session_id) == "vs"
    assert len(session_id) == len("vs_") + 24
