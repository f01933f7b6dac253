"""The schema the generated and schema-driven documents are built from: `schema.graphql`, the
file the gateway's own test keeps equal to what it serves."""

from __future__ import annotations

from pathlib import Path

import graphql

SCHEMA_TEXT = (Path(__file__).parents[2] / "schema.graphql").read_text()
SCHEMA = graphql.build_schema(SCHEMA_TEXT)


def every_field(
    type_: graphql.GraphQLOutputType,
    path: frozenset[str] = frozenset(),
    taken: dict[str, str] | None = None,
) -> str:
    """A selection of every field of `type_` that needs no argument, `__typename` on every
    object, nested down to the leaves but never into a type already on the path (a session's
    report's session), and every possible type of an interface as an inline fragment.

    Args:
        taken: Response names already used beside this selection (by the other fragments of one
            interface) and their types: a name taken with another type gets an alias, as two
            fields of one name and different types would not validate.
    """
    named = graphql.get_named_type(type_)
    if graphql.is_leaf_type(named):
        return ""
    path = path | {named.name}
    if isinstance(named, graphql.GraphQLInterfaceType):
        shared: dict[str, str] = {}
        fragments = [
            f"... on {possible.name} {every_field(possible, path, shared)}"
            for possible in SCHEMA.get_possible_types(named)
        ]
        return "{ __typename " + " ".join(fragments) + " }"
    assert isinstance(named, graphql.GraphQLObjectType)
    taken = {} if taken is None else taken
    selected = ["__typename"]
    for name, field in named.fields.items():
        if any(graphql.is_required_argument(argument) for argument in field.args.values()):
            continue
        child = graphql.get_named_type(field.type)
        if not graphql.is_leaf_type(child) and child.name in path:
            continue
        key = name
        if taken.setdefault(name, str(field.type)) != str(field.type):
            key = f"{name}On{named.name}: {name}"
        selected.append(f"{key} {every_field(field.type, path)}".strip())
    return "{ " + " ".join(selected) + " }"


def object_types_reachable_from_query() -> set[str]:
    """The names of every object type a query can return, Query itself included."""
    assert SCHEMA.query_type is not None
    found: set[str] = set()
    pending: list[graphql.GraphQLNamedType] = [SCHEMA.query_type]
    while pending:
        named = pending.pop()
        if isinstance(named, graphql.GraphQLInterfaceType):
            pending.extend(t for t in SCHEMA.get_possible_types(named) if t.name not in found)
            continue
        if not isinstance(named, graphql.GraphQLObjectType) or named.name in found:
            continue
        found.add(named.name)
        pending.extend(graphql.get_named_type(field.type) for field in named.fields.values())
    return found
