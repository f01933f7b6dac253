"""Every field of every type a query reaches, answered the same in both modes, and the check
that the fixture has an instance of each of those types (so that no type goes unread)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.differential.documents import SCHEMA, every_field, object_types_reachable_from_query
from tests.differential.twins import Reply, Twins, data_of
from tests.differential.world import Keys, World

ROOTS = {
    "verificationSessions": "verificationSessions(first: 100)",
    "verificationReports": "verificationReports(first: 100)",
    "events": "events(first: 100)",
    "nodes": "nodes(ids: $ids)",
}


def every_field_document(root: str) -> str:
    """A query of `root` selecting every field of every type it reaches."""
    assert SCHEMA.query_type is not None
    selection = every_field(SCHEMA.query_type.fields[root].type)
    arguments = "($ids: [ID!]!)" if root == "nodes" else ""
    return f"query Every{arguments} {{ {ROOTS[root]} {selection} }}"


def every_field_reply(twins: Twins, keys: Keys, world: World, root: str, key_name: str) -> Reply:
    ids = [
        *world.sessions.values(),
        *world.live_sessions.values(),
        *world.reports,
        *world.live_reports,
        *world.events[:30],
    ]
    variables = {"ids": ids} if root == "nodes" else None
    return twins.post(every_field_document(root), variables, key=keys.all()[key_name])


@pytest.mark.parametrize("key_name", ["secret", "live", "restricted"])
@pytest.mark.parametrize("root", list(ROOTS))
def test_every_field_of_every_type(
    twins: Twins, keys: Keys, world: World, root: str, key_name: str
) -> None:
    # when
    data = data_of(every_field_reply(twins, keys, world, root, key_name))
    # then
    assert data[root]


def _typenames(value: Any) -> set[str]:
    if isinstance(value, dict):
        found = {value["__typename"]} if "__typename" in value else set()
        return found.union(*(_typenames(item) for item in value.values()))
    if isinstance(value, list):
        return set().union(*(_typenames(item) for item in value))
    return set()


def test_the_fixture_has_an_instance_of_every_object_type(
    twins: Twins, keys: Keys, world: World
) -> None:
    # when
    seen = {"Query"}
    for root in ROOTS:
        seen |= _typenames(data_of(every_field_reply(twins, keys, world, root, "secret")))
    # then
    assert seen == object_types_reachable_from_query()
