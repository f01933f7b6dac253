"""schema.graphql is a build artifact: it must match the code, and document every field."""

from __future__ import annotations

from pathlib import Path

from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLScalarType,
)

from app.schema import build_schema

SCHEMA_FILE = Path(__file__).resolve().parents[1] / "schema.graphql"


def test_committed_schema_matches_the_code() -> None:
    # given
    live = build_schema().as_str() + "\n"
    # when
    committed = SCHEMA_FILE.read_text(encoding="utf-8")
    # then
    assert committed == live, (
        "schema.graphql is stale: run `python -m app export-schema --output schema.graphql`"
    )


def test_every_type_field_and_argument_has_a_description() -> None:
    # given
    schema = build_schema()._schema
    missing: list[str] = []
    # when
    for name, graphql_type in schema.type_map.items():
        if name.startswith("__") or name in {"String", "Boolean", "Int", "Float", "ID"}:
            continue
        if name not in {"Query", "Mutation"} and not graphql_type.description:
            missing.append(name)
        if isinstance(
            graphql_type, (GraphQLObjectType, GraphQLInterfaceType, GraphQLInputObjectType)
        ):
            for field_name, field in graphql_type.fields.items():
                if not field.description:
                    missing.append(f"{name}.{field_name}")
                for argument_name, argument in getattr(field, "args", {}).items():
                    if not argument.description:
                        missing.append(f"{name}.{field_name}({argument_name})")
        assert isinstance(
            graphql_type,
            (
                GraphQLObjectType,
                GraphQLInterfaceType,
                GraphQLInputObjectType,
                GraphQLEnumType,
                GraphQLScalarType,
            ),
        )
    # then
    assert missing == []


def test_page_size_limits_are_stated_in_the_argument_descriptions() -> None:
    # given
    field = build_schema()._schema.query_type.fields["verificationSessions"]
    # then
    assert "100" in field.args["first"].description
    assert "100" in field.args["last"].description
    assert "100" in build_schema()._schema.query_type.fields["nodes"].args["ids"].description
