"""The query limits without a server: what `measure` counts, and the settings that bound it.

The gateway's schema has no connection inside another, so the GitHub-style multiplication of the
node budget is pinned here on a small schema that has them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from graphql import GraphQLSchema, OperationDefinitionNode, parse, specified_rules
from graphql import build_schema as build_sdl_schema

from app.schema import build_schema
from app.schema.limits import QueryLimiter, QueryLimits
from app.schema.measure import Measure, measure
from app.settings import Settings, SettingsError

PLAYGROUND = Path(__file__).resolve().parents[2] / "playground" / "operations"

# GitHub's own example shape: repositories that have issues that have comments.
NESTED = build_sdl_schema(
    """
    type Query { viewer: User! node(id: ID!): Node }
    interface Node { id: ID! }
    type User implements Node {
      id: ID!
      repositories(first: Int, last: Int): RepositoryConnection!
      login: String!
    }
    type RepositoryConnection { nodes: [Repository!]! totalCount: Int! }
    type Repository implements Node {
      id: ID!
      issues(first: Int, last: Int, after: String): IssueConnection!
      owner: User!
    }
    type IssueConnection { nodes: [Issue!]! }
    type Issue { comments(first: Int): CommentConnection! title: String! }
    type CommentConnection { nodes: [Comment!]! }
    type Comment { body: String! }
    """
)

LIMITS = QueryLimits(
    max_depth=15,
    max_aliases=30,
    max_tokens=5000,
    max_directives=5,
    node_budget=50_000,
    max_errors=20,
    default_page_size=10,
    hide_suggestions=True,
)


def measured(
    document: str, variables: dict[str, Any] | None = None, schema: GraphQLSchema = NESTED
) -> Measure:
    parsed = parse(document)
    operation = next(d for d in parsed.definitions if isinstance(d, OperationDefinitionNode))
    return measure(operation, parsed, schema, variables or {}, LIMITS.default_page_size)


# --- node budget --------------------------------------------------------------------------------


def test_nested_connections_multiply() -> None:
    # given
    document = """
    { viewer { repositories(first: 50) { nodes { issues(first: 10) { nodes { title } } } } } }
    """
    # then: GitHub's worked example, 50 + 50 * 10
    assert measured(document).nodes == 550


def test_three_levels_of_connections() -> None:
    # given
    document = """
    { viewer { repositories(first: 50) { nodes {
        issues(first: 20) { nodes { comments(first: 10) { nodes { body } } } }
    } } } }
    """
    # then
    assert measured(document).nodes == 50 + 50 * 20 + 50 * 20 * 10


def test_a_connection_without_first_or_last_counts_the_default_page() -> None:
    assert measured(
        "{ viewer { repositories { nodes { issues { nodes { title } } } } } }"
    ).nodes == (10 + 10 * 10)


def test_last_and_variables_and_their_defaults_are_read() -> None:
    # given
    document = """
    query ($outer: Int, $inner: Int = 7) {
      viewer { repositories(last: $outer) { nodes { issues(last: $inner) { nodes { title } } } } }
    }
    """
    # then
    assert measured(document, {"outer": 4}).nodes == 4 + 4 * 7
    assert measured(document, {"outer": 4, "inner": 2}).nodes == 4 + 4 * 2
    assert measured(document, {"outer": None}).nodes == 10 + 10 * 7


def test_a_value_the_resolver_would_refuse_counts_as_nothing_or_the_default() -> None:
    # given
    document = "query ($n: Int) { viewer { repositories(first: $n) { totalCount } } }"
    # then
    assert measured(document, {"n": -5}).nodes == 0
    assert measured(document, {"n": "many"}).nodes == 10
    assert measured(document, {"n": True}).nodes == 10
    assert measured(document, {"n": 60000.0}).nodes == 60000


def test_connections_in_fragments_multiply_by_where_they_are_spread() -> None:
    # given
    document = """
    { viewer { repositories(first: 5) { nodes { ...Issues } } } ...Viewer }
    fragment Issues on Repository { issues(first: 3) { nodes { title } } }
    fragment Viewer on Query { viewer { repositories(first: 2) { nodes { ...Issues } } } }
    """
    # then
    assert measured(document).nodes == (5 + 5 * 3) + (2 + 2 * 3)


def test_connections_reached_through_an_interface_fragment_count() -> None:
    # given
    document = '{ node(id: "u") { ... on User { repositories(first: 40) { totalCount } } } }'
    # then
    assert measured(document).nodes == 40


# --- depth, aliases, directives -----------------------------------------------------------------


def test_depth_counts_fields_on_the_longest_path() -> None:
    assert measured("{ viewer { login } }").depth == 2
    assert (
        measured("{ viewer { ...U } } fragment U on User { repositories { nodes { id } } }").depth
        == 4
    )


def test_a_fragment_cycle_is_left_to_validation() -> None:
    # given
    document = """
    { viewer { ...A } }
    fragment A on User { login ...B }
    fragment B on User { repositories { nodes { owner { ...A } } } }
    """
    # when
    seen = measured(document)
    # then: viewer > repositories > nodes > owner; the spread closing the cycle counts as nothing
    assert seen.depth == 4


def test_the_most_directives_on_one_node_are_reported() -> None:
    # given
    document = """
    query ($a: Boolean = true @deprecated @deprecated) {
      viewer @skip(if: false) { login @include(if: true) @include(if: true) @include(if: true) }
    }
    """
    # when
    count, where, _ = measured(document).directives or (0, "", None)
    # then
    assert (count, where) == (3, "field 'login'")


def test_aliases_count_every_spread() -> None:
    # given
    document = """
    { ...F ...F ...F }
    fragment F on Query { a: viewer { b: login } }
    """
    # then
    assert measured(document).aliases == 6


# --- the gateway's own documents ----------------------------------------------------------------


@pytest.mark.parametrize("path", sorted(PLAYGROUND.glob("*.graphql")), ids=lambda path: path.stem)
def test_every_playground_operation_is_within_the_default_limits(path: Path) -> None:
    # given
    schema = build_schema()._schema
    limiter = QueryLimiter(LIMITS)
    query = path.read_text(encoding="utf-8")
    # when
    errors = limiter.check(
        query=query,
        document=limiter.parse(query),
        schema=schema,
        rules=tuple(specified_rules),
        operation_name=None,
        variables={},
    )
    # then
    assert errors == []


def test_parse_and_validation_results_are_cached() -> None:
    # given
    schema = build_schema()._schema
    limiter = QueryLimiter(LIMITS)
    query = "{ verificationSessions { totalCount } }"

    def check() -> list[Any]:
        return limiter.check(
            query=query,
            document=limiter.parse(query),
            schema=schema,
            rules=tuple(specified_rules),
            operation_name=None,
            variables={},
        )

    # when
    check()
    check()
    # then
    assert limiter.parse(query) is limiter.parse(query)
    assert limiter._parse.cache_info().hits >= 3  # type: ignore[attr-defined]
    assert limiter._validate.cache_info().hits == 1  # type: ignore[attr-defined]


def test_long_documents_are_not_cached() -> None:
    # given: a document longer than the cacheable 10,000 characters
    limiter = QueryLimiter(LIMITS)
    query = "{ " + "__typename " * 1000 + "}"
    # then
    assert limiter.parse(query) is not limiter.parse(query)


# --- settings -----------------------------------------------------------------------------------


def test_defaults_are_the_documented_ones() -> None:
    # when
    settings = Settings.from_environ({})
    # then
    assert (
        settings.gateway_env,
        settings.development,
        settings.max_query_depth,
        settings.max_aliases,
        settings.max_tokens,
        settings.max_directives_per_field,
        settings.node_budget,
        settings.max_errors,
    ) == ("production", False, 15, 30, 5000, 5, 50_000, 20)


def test_limits_are_read_from_the_environment() -> None:
    # when
    settings = Settings.from_environ(
        {
            "GATEWAY_ENV": "development",
            "MAX_QUERY_DEPTH": "20",
            "MAX_ALIASES": "0",
            "MAX_TOKENS": "800",
            "MAX_DIRECTIVES_PER_FIELD": "2",
            "NODE_BUDGET": "1000",
            "MAX_ERRORS": "5",
            "MAX_BODY_BYTES": "2048",
        }
    )
    # then
    assert settings.development
    assert (
        settings.max_query_depth,
        settings.max_aliases,
        settings.max_tokens,
        settings.max_directives_per_field,
        settings.node_budget,
        settings.max_errors,
        settings.max_body_bytes,
    ) == (20, 0, 800, 2, 1000, 5, 2048)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("GATEWAY_ENV", "staging", "GATEWAY_ENV must be one of production, development"),
        ("MAX_QUERY_DEPTH", "deep", "MAX_QUERY_DEPTH must be a whole number, got 'deep'"),
        ("MAX_QUERY_DEPTH", "0", "MAX_QUERY_DEPTH must be between 1 and 1000, got '0'"),
        ("MAX_ALIASES", "-1", "MAX_ALIASES must be between 0 and 100000"),
        ("MAX_TOKENS", "50", "MAX_TOKENS must be between 100 and 1000000"),
        ("MAX_DIRECTIVES_PER_FIELD", "1.5", "MAX_DIRECTIVES_PER_FIELD must be a whole number"),
        ("NODE_BUDGET", "0", "NODE_BUDGET must be between 1 and 1000000000"),
        ("MAX_ERRORS", "1", "MAX_ERRORS must be between 2 and 1000"),
        ("MAX_BODY_BYTES", "1000", "MAX_BODY_BYTES must be between 1024 and 100000000"),
    ],
)
def test_a_bad_limit_names_its_variable(name: str, value: str, message: str) -> None:
    # when
    with pytest.raises(SettingsError) as refused:
        Settings.from_environ({name: value})
    # then
    assert str(refused.value).startswith(message)


def test_the_sdl_does_not_depend_on_the_limits_or_the_environment() -> None:
    # given
    development = Settings.from_environ({"GATEWAY_ENV": "development", "MAX_TOKENS": "100"})
    # then
    assert build_schema(development).as_str() == build_schema().as_str()
