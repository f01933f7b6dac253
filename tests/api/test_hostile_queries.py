"""Hostile documents over real HTTP: graphql-cop's checks, the query limits and what errors leak.

graphql-cop (github.com/dolevf/graphql-cop) flags alias overloading, array batching, directive
overloading, circular fragments and introspection, field duplication, suggestions, GET-based
mutations, POST-based CSRF and trace mode; each has a test here that would fail if the gateway
became vulnerable to it. GraphiQL, queries over GET and introspection are intended (the schema is
public): the tests check instead that GET never mutates and that introspection shows nothing that
schema.graphql does not.

Field duplication is answered, not refused: 500 copies of `__typename` merge into one response
key, validate in milliseconds and run once. Past graphql-core's own validation work limit (about
a thousand copies) the document is refused as QUERY_TOO_COMPLEX; MAX_TOKENS bounds the rest.
"""

from __future__ import annotations

import dataclasses
import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from graphql import (
    build_client_schema,
    get_introspection_query,
    lexicographic_sort_schema,
    print_schema,
)
from graphql import (
    build_schema as build_sdl_schema,
)

from tests.conftest import Api, Server, client_of, running_server

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "schema.graphql"

COUNT_SESSIONS = "{ verificationSessions { totalCount } }"
CREATE = "mutation { createVerificationSession(input: {type: DOCUMENT}) { userErrors { code } } }"

CIRCULAR_FRAGMENTS = """
query {
  __schema { ...A }
}
fragment A on __Schema { __typename ...B }
fragment B on __Schema { ...A }
"""

# graphql-cop's introspection-based circular query.
CIRCULAR_INTROSPECTION = (
    "query { __schema { types { fields { type { fields { type { fields { type { fields "
    "{ type { name } } } } } } } } } } }"
)

SESSIONS_PAGE = """
query Page($first: Int) {
  verificationSessions(first: $first) { nodes { id status } pageInfo { hasNextPage } }
}
"""

FULL_INTROSPECTION = get_introspection_query(
    descriptions=True,
    specified_by_url=True,
    directive_is_repeatable=True,
    schema_description=True,
    input_value_deprecation=True,
)

# What GraphiQL's docs explorer asks for one type, with graphql-js's deepest TypeRef.
TYPE_REF = "kind name " + "ofType { kind name " * 9 + "}" * 9
DEEP_TYPE = f"""
query DeepType {{
  __type(name: "VerificationSession") {{
    kind name description
    fields(includeDeprecated: true) {{
      name description isDeprecated deprecationReason
      args(includeDeprecated: true) {{ name description defaultValue type {{ {TYPE_REF} }} }}
      type {{ {TYPE_REF} }}
    }}
    interfaces {{ {TYPE_REF} }}
  }}
}}
"""

LIMIT_CODES = {
    "QUERY_TOO_DEEP",
    "TOO_MANY_ALIASES",
    "TOO_MANY_TOKENS",
    "TOO_MANY_DIRECTIVES",
    "NODE_BUDGET_EXCEEDED",
    "QUERY_TOO_COMPLEX",
}


def codes(response: httpx.Response) -> list[str]:
    return [error["extensions"]["code"] for error in response.json().get("errors", [])]


def only_error(response: httpx.Response) -> dict[str, Any]:
    """The response refused the whole document: HTTP 200, one error, no `data` at all."""
    assert response.status_code == 200, response.text
    body = response.json()
    assert "data" not in body, body
    assert len(body["errors"]) == 1, body["errors"]
    error: dict[str, Any] = body["errors"][0]
    return error


def count_sessions(api: Api) -> int:
    total: int = api.gql(COUNT_SESSIONS)["verificationSessions"]["totalCount"]
    return total


def aliases(count: int) -> str:
    return "query { " + " ".join(f"alias{i}: __typename" for i in range(count)) + " }"


def session_chain(depth: int) -> str:
    """A valid document `depth` fields deep: session -> report -> session -> ... -> id."""
    links = ["lastVerificationReport", "verificationSession"]
    fields = ["verificationSession(id: $id)"] + [links[i % 2] for i in range(depth - 2)]
    return "query Deep($id: ID!) { " + " { ".join(fields) + " { id" + " }" * len(fields) + " }"


@pytest.fixture(scope="module")
def development_server(server: Server) -> Iterator[Server]:
    """A second server over the same database with GATEWAY_ENV=development."""
    settings = dataclasses.replace(server.settings, gateway_env="development")
    with running_server(settings, run_worker=False) as started:
        yield started


@pytest.fixture
def development_api(development_server: Server) -> Iterator[Api]:
    with client_of(development_server) as client:
        yield client


@pytest.fixture(scope="module")
def small_budget_server(server: Server) -> Iterator[Server]:
    """A server whose NODE_BUDGET (250) a few aliased connections exceed."""
    settings = dataclasses.replace(server.settings, node_budget=250)
    with running_server(settings, run_worker=False) as started:
        yield started


@pytest.fixture
def small_budget_api(small_budget_server: Server) -> Iterator[Api]:
    with client_of(small_budget_server) as client:
        yield client


# --- alias overloading --------------------------------------------------------------------------


def test_alias_overloading_is_refused_before_execution(api: Api) -> None:
    # when
    response = api.post(aliases(101))
    # then
    assert only_error(response) == {
        "message": "Alias count 101 exceeds the limit of 30 (MAX_ALIASES).",
        "extensions": {"code": "TOO_MANY_ALIASES"},
    }


def test_a_refused_document_is_400_for_graphql_response_json(api: Api) -> None:
    # when
    response = api.post(aliases(101), headers={"Accept": "application/graphql-response+json"})
    # then
    assert response.status_code == 400
    assert response.json() == {
        "errors": [
            {
                "message": "Alias count 101 exceeds the limit of 30 (MAX_ALIASES).",
                "extensions": {"code": "TOO_MANY_ALIASES"},
            }
        ]
    }


def test_aliases_up_to_the_limit_are_answered(api: Api) -> None:
    # when
    data = api.gql(aliases(30))
    # then
    assert data == {f"alias{i}": "Query" for i in range(30)}


def test_aliases_in_a_fragment_count_at_every_spread(api: Api) -> None:
    # given: 4 aliases spread 8 times through two levels of fragments
    document = """
    query { ...Twice ...Twice ...Twice ...Twice }
    fragment Twice on Query { ...Four ...Four }
    fragment Four on Query { a: __typename b: __typename c: __typename d: __typename }
    """
    # when
    response = api.post(document)
    # then
    assert only_error(response)["message"] == (
        "Alias count 32 exceeds the limit of 30 (MAX_ALIASES)."
    )


# --- array batching -----------------------------------------------------------------------------


def test_array_batching_is_refused(api: Api) -> None:
    # given: graphql-cop sends the same query ten times in one JSON array
    batch = [{"query": "query cop { __typename }"}] * 10
    # when
    response = api.http.post("/graphql", json=batch, headers={"Authorization": f"Bearer {api.key}"})
    # then
    assert response.status_code == 400
    assert "data" not in response.json()
    assert codes(response) == ["BAD_REQUEST"]


# --- directive overloading ----------------------------------------------------------------------


def test_directive_overloading_is_refused_with_one_error(api: Api) -> None:
    # when
    response = api.post("query { __typename" + " @include(if: true)" * 50 + " }")
    # then
    assert only_error(response) == {
        "message": "Directive count 50 on field '__typename' exceeds the limit of 5 "
        "(MAX_DIRECTIVES_PER_FIELD).",
        "locations": [{"line": 1, "column": 9}],
        "extensions": {"code": "TOO_MANY_DIRECTIVES"},
    }


def test_graphql_cops_unknown_directives_get_one_error_not_ten(api: Api) -> None:
    # when: graphql-cop flags a server that answers each unknown directive with its own error
    response = api.post("query { __typename @aa@aa@aa@aa@aa@aa@aa@aa@aa@aa }")
    # then
    assert codes(response) == ["TOO_MANY_DIRECTIVES"]


def test_directives_in_fragments_and_on_spreads_are_limited(api: Api) -> None:
    # when
    spread = api.post(
        "query { ...F" + " @skip(if: false)" * 6 + " } fragment F on Query { __typename }"
    )
    inside = api.post(
        "query { ...F } fragment F on Query { __typename" + " @skip(if: false)" * 6 + " }"
    )
    # then
    assert only_error(spread)["message"].startswith("Directive count 6 on spread '...F'")
    assert only_error(inside)["message"].startswith("Directive count 6 on field '__typename'")


def test_include_and_skip_together_are_allowed(api: Api) -> None:
    # when
    data = api.gql(
        "query ($show: Boolean = true) { __typename @include(if: $show) @skip(if: false) }"
    )
    # then
    assert data == {"__typename": "Query"}


# --- circular fragments and circular introspection ---------------------------------------------


def test_circular_fragments_are_refused_by_validation_without_hanging(api: Api) -> None:
    # when
    started = time.monotonic()
    response = api.post(CIRCULAR_FRAGMENTS)
    # then
    assert time.monotonic() - started < 5
    assert only_error(response) == {
        "message": "Cannot spread fragment 'A' within itself via 'B'.",
        "locations": [{"line": 5, "column": 37}, {"line": 6, "column": 26}],
        "extensions": {"code": "GRAPHQL_VALIDATION_FAILED"},
    }


def test_circular_introspection_is_refused(api: Api) -> None:
    # when
    response = api.post(CIRCULAR_INTROSPECTION)
    # then
    error = only_error(response)
    assert error["message"] == "Maximum introspection depth exceeded"
    assert error["extensions"] == {"code": "GRAPHQL_VALIDATION_FAILED"}


def test_a_long_chain_of_fragments_is_refused_quickly(api: Api) -> None:
    # given: 600 fragments each spreading the next (deep enough to exhaust a recursive walker)
    chain = "".join(f"fragment F{i} on Query {{ ...F{i + 1} }}\n" for i in range(600))
    document = "{ ...F0 }\n" + chain + "fragment F600 on Query { __typename }"
    # when
    started = time.monotonic()
    response = api.post(document)
    # then
    assert time.monotonic() - started < 5
    assert codes(response) == ["QUERY_TOO_COMPLEX"]


def test_fragments_spread_exponentially_are_measured_in_one_pass(api: Api) -> None:
    # given: each fragment spreads the next twice: 2^60 aliases once expanded
    fragments = "".join(
        f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}\n" for i in range(60)
    )
    document = "{ ...F0 }\n" + fragments + "fragment F60 on Query { a: __typename }"
    # when
    started = time.monotonic()
    response = api.post(document)
    # then
    assert time.monotonic() - started < 5
    assert only_error(response) == {
        "message": "Alias count over 10^15 exceeds the limit of 30 (MAX_ALIASES).",
        "extensions": {"code": "TOO_MANY_ALIASES"},
    }


# --- field duplication --------------------------------------------------------------------------


def test_field_duplication_is_answered_quickly(api: Api) -> None:
    # given: graphql-cop's document
    document = "query { " + "__typename \n" * 500 + "} "
    # when
    started = time.monotonic()
    response = api.post(document)
    # then
    assert time.monotonic() - started < 2
    assert response.status_code == 200
    assert response.json() == {"data": {"__typename": "Query"}}


def test_field_duplication_past_the_validation_work_limit_is_refused(api: Api) -> None:
    # when
    response = api.post("query { " + "__typename \n" * 1500 + "}")
    # then
    assert only_error(response) == {
        "message": "The document is too complex to validate: repeat fewer fields and fragment "
        "spreads.",
        "extensions": {"code": "QUERY_TOO_COMPLEX"},
    }


# --- deep nesting and size ----------------------------------------------------------------------


def test_a_query_at_the_depth_limit_runs(api: Api) -> None:
    # when
    response = api.post(session_chain(15), {"id": "vs_000000000000000000000000"})
    # then
    assert response.status_code == 200
    assert response.json() == {"data": {"verificationSession": None}}


def test_a_query_past_the_depth_limit_is_refused(api: Api) -> None:
    # when
    response = api.post(session_chain(16), {"id": "vs_000000000000000000000000"})
    # then
    assert only_error(response) == {
        "message": "Query depth 16 exceeds the limit of 15 (MAX_QUERY_DEPTH).",
        "extensions": {"code": "QUERY_TOO_DEEP"},
    }


def test_depth_counts_through_fragments(api: Api) -> None:
    # given: 10 fields in the operation around a fragment of 7 more
    document = (
        "query { "
        + "a { " * 10
        + "...F"
        + " }" * 10
        + " } fragment F on T { "
        + "b { " * 6
        + "c"
        + " }" * 6
        + " }"
    )
    # when
    response = api.post(document)
    # then
    assert only_error(response)["message"] == (
        "Query depth 17 exceeds the limit of 15 (MAX_QUERY_DEPTH)."
    )


def test_nesting_too_deep_to_parse_is_refused(api: Api) -> None:
    # when
    response = api.post("{" + "a {" * 1500 + "b" + "}" * 1500 + "}")
    # then
    error = only_error(response)
    assert error["extensions"]["code"] == "GRAPHQL_PARSE_FAILED"
    assert "nested too deeply" in error["message"]


def test_a_document_with_too_many_tokens_is_refused_where_parsing_stopped(api: Api) -> None:
    # when
    response = api.post("{ " + "__typename " * 6000 + "}")
    # then
    assert only_error(response) == {
        "message": "Token count exceeds the limit of 5000 (MAX_TOKENS): parsing stopped at "
        "token 5001.",
        "locations": [{"line": 1, "column": 3 + 11 * 4999}],
        "extensions": {"code": "TOO_MANY_TOKENS"},
    }


def test_a_document_with_too_many_comments_is_refused(api: Api) -> None:
    # when
    response = api.post("{\n" + "#\n" * 6000 + "__typename }")
    # then
    assert only_error(response)["extensions"] == {"code": "TOO_MANY_TOKENS"}


# --- node budget --------------------------------------------------------------------------------


def test_node_budget_is_checked_before_execution_with_the_variables(api: Api) -> None:
    # when
    response = api.post(SESSIONS_PAGE, {"first": 60000})
    # then: refused as a whole; the resolver, which allows at most 100, never ran
    assert only_error(response) == {
        "message": "Node count 60,000 exceeds the limit of 50,000 (NODE_BUDGET): ask for smaller "
        "pages (`first`/`last`) or fewer connections in one request.",
        "extensions": {"code": "NODE_BUDGET_EXCEEDED"},
    }


def test_node_budget_reads_a_variables_default(api: Api) -> None:
    # when
    response = api.post("query ($n: Int = 50001) { events(last: $n) { nodes { id } } }", {})
    # then
    assert only_error(response)["message"].startswith("Node count 50,001 exceeds")


def test_node_budget_sums_aliased_connections(small_budget_api: Api) -> None:
    # given: 3 x 100 nodes, and a connection without first/last counting its default page of 10
    over = """
    query {
      a: verificationSessions(first: 100) { nodes { id } }
      b: verificationSessions(first: 100) { nodes { id } }
      c: verificationReports(last: 100) { nodes { id } }
      events { nodes { id } }
    }
    """
    within = """
    query {
      a: verificationSessions(first: 100) { nodes { id } }
      b: verificationSessions(first: 100) { nodes { id } }
      c: verificationReports(last: 40) { nodes { id } }
      events { nodes { id } }
    }
    """
    # when
    refused = small_budget_api.post(over)
    answered = small_budget_api.post(within)
    # then
    assert only_error(refused) == {
        "message": "Node count 310 exceeds the limit of 250 (NODE_BUDGET): ask for smaller "
        "pages (`first`/`last`) or fewer connections in one request.",
        "extensions": {"code": "NODE_BUDGET_EXCEEDED"},
    }
    assert answered.status_code == 200
    assert "errors" not in answered.json()


def test_node_budget_counts_connections_inside_fragments(small_budget_api: Api) -> None:
    # given
    document = """
    query { ...Lists ...Lists }
    fragment Lists on Query {
      a: verificationSessions(first: 100) { totalCount }
      b: events(first: $n) { totalCount }
    }
    """
    # when
    response = small_budget_api.post(document.replace("query {", "query ($n: Int) {"), {"n": 30})
    # then
    assert only_error(response)["message"].startswith("Node count 260 exceeds the limit of 250")


# --- error cap ----------------------------------------------------------------------------------


def test_a_document_with_many_validation_errors_gets_exactly_twenty(api: Api) -> None:
    # when
    response = api.post("{ " + " ".join(f"missing{i}" for i in range(40)) + " }")
    # then
    errors = response.json()["errors"]
    assert len(errors) == 20
    assert [error["extensions"]["code"] for error in errors[:19]] == [
        "GRAPHQL_VALIDATION_FAILED"
    ] * 19
    assert errors[19] == {
        "message": "Error count 21 exceeds the limit of 20 (MAX_ERRORS): only the first 19 are "
        "listed.",
        "extensions": {"code": "TOO_MANY_ERRORS"},
    }


def test_many_variable_errors_are_capped_at_twenty(api: Api) -> None:
    # given: 25 variables, each with a value that is not a Boolean
    names = [f"b{i}" for i in range(25)]
    document = (
        "query ("
        + ", ".join(f"${name}: Boolean!" for name in names)
        + ") { "
        + " ".join(f"{name}: __typename @include(if: ${name})" for name in names)
        + " }"
    )
    # when
    response = api.post(document, {name: "yes" for name in names})
    # then
    errors = response.json()["errors"]
    assert len(errors) == 20
    assert {error["extensions"]["code"] for error in errors[:19]} == {"BAD_USER_INPUT"}
    assert errors[19]["message"] == (
        "Error count 25 exceeds the limit of 20 (MAX_ERRORS): only the first 19 are listed."
    )


# --- suggestions --------------------------------------------------------------------------------

UNKNOWN_INPUT_FIELD = (
    "mutation ($i: CreateVerificationSessionInput!) { createVerificationSession(input: $i) "
    "{ userErrors { code } } }"
)
MISSPELLINGS: list[tuple[str, dict[str, Any] | None]] = [
    ("{ verificationSesions { totalCount } }", None),
    ("{ verificationSessions(fist: 1) { totalCount } }", None),
    (
        "mutation { createVerificationSession(input: {type: DOCUMNT}) { userErrors { code } } }",
        None,
    ),
    (
        "mutation ($t: VerificationSessionType) { createVerificationSession(input: {type: $t}) "
        "{ userErrors { code } } }",
        {"t": "DOCUMNT"},
    ),
    (UNKNOWN_INPUT_FIELD, {"i": {"typ": "DOCUMENT"}}),
    (
        "query ($f: VerificationSessionFiltr) { verificationSessions(filter: $f) { totalCount } }",
        None,
    ),
    ("{ verificationSessions { nodes { ... on VerificationSesion { id } } } }", None),
    ("{ verificationSessions }", None),
    ("query { __schema { directive } }", None),
]
MISSPELLING_IDS = [
    "field",
    "argument",
    "enum-literal",
    "enum-variable",
    "input-field-variable",
    "variable-type",
    "fragment-type",
    "leaf-selection",
    "graphql-cop",
]


@pytest.mark.parametrize(("document", "variables"), MISSPELLINGS, ids=MISSPELLING_IDS)
def test_production_never_suggests_names(
    api: Api, document: str, variables: dict[str, Any] | None
) -> None:
    # when
    response = api.post(document, variables)
    # then
    assert response.json()["errors"], response.text
    assert "did you mean" not in response.text.lower()


@pytest.mark.parametrize(("document", "variables"), MISSPELLINGS, ids=MISSPELLING_IDS)
def test_development_suggests_names(
    development_api: Api, document: str, variables: dict[str, Any] | None
) -> None:
    # when
    response = development_api.post(document, variables)
    # then
    assert "Did you mean" in response.text


def test_production_keeps_the_rest_of_a_message_after_a_suggestion(api: Api) -> None:
    # when
    response = api.post(UNKNOWN_INPUT_FIELD, {"i": {"typ": "DOCUMENT"}})
    # then
    assert response.json()["errors"] == [
        {
            "message": "Variable '$i' has invalid value: Expected value of type "
            "'CreateVerificationSessionInput' not to include unknown field 'typ'. "
            "Found: {'typ': 'DOCUMENT'}.",
            "locations": [{"line": 1, "column": 11}],
            "extensions": {"code": "BAD_USER_INPUT"},
        }
    ]


# --- GET-based mutation and CSRF ----------------------------------------------------------------


def test_get_never_mutates(api: Api) -> None:
    # given
    before = count_sessions(api)
    bearer = {"Authorization": f"Bearer {api.key}"}
    # when
    attempts = [
        api.http.get("/graphql", params={"query": CREATE}, headers=bearer),
        api.http.get(
            "/graphql",
            params={
                "query": f"query Q {{ __typename }} {CREATE.replace('mutation', 'mutation M')}",
                "operationName": "M",
            },
            headers=bearer,
        ),
        api.http.get(
            "/graphql", params={"query": CREATE}, headers={**bearer, "Accept": "text/html"}
        ),
    ]
    # then
    assert [response.status_code for response in attempts] == [405, 405, 405]
    assert {code for response in attempts for code in codes(response)} == {"METHOD_NOT_ALLOWED"}
    assert count_sessions(api) == before


@pytest.mark.parametrize(
    "send",
    [
        pytest.param(
            lambda http, headers: http.post("/graphql", data={"query": CREATE}, headers=headers),
            id="form-urlencoded",
        ),
        pytest.param(
            lambda http, headers: http.post(
                "/graphql",
                content=json.dumps({"query": CREATE}),
                headers={**headers, "Content-Type": "text/plain"},
            ),
            id="text-plain",
        ),
        pytest.param(
            lambda http, headers: http.post(
                "/graphql", files={"query": (None, CREATE)}, headers=headers
            ),
            id="multipart",
        ),
    ],
)
def test_posts_a_browser_form_can_send_are_refused_and_write_nothing(api: Api, send: Any) -> None:
    # given: the three content types a cross-site form may POST without a CORS preflight
    before = count_sessions(api)
    # when
    response = send(api.http, {"Authorization": f"Bearer {api.key}"})
    # then
    assert response.status_code == 415
    assert codes(response) == ["UNSUPPORTED_MEDIA_TYPE"]
    assert count_sessions(api) == before


# --- trace and debug leakage --------------------------------------------------------------------

LEAK = re.compile(r"Traceback|File \"|\.py\b|/app/|site-packages|stacktrace|exception", re.I)


@pytest.mark.parametrize(
    ("document", "variables"),
    [
        ("query cop { __typename }", None),
        ("{ __typename", None),
        ("{ missing }", None),
        (SESSIONS_PAGE, {"first": "ten"}),
        (SESSIONS_PAGE, {"first": 101}),
        (aliases(101), None),
        ("{ " + "__typename " * 6000 + "}", None),
        ("query { node(id: 1) { id } }", None),
    ],
    ids=[
        "ok",
        "syntax",
        "validation",
        "variable",
        "resolver",
        "limit",
        "tokens",
        "argument-literal",
    ],
)
def test_no_response_carries_tracing_or_debug_details(
    api: Api, document: str, variables: dict[str, Any] | None
) -> None:
    # when
    response = api.post(document, variables)
    # then
    body = response.json()
    assert "extensions" not in body
    for error in body.get("errors", []):
        assert set(error) <= {"message", "locations", "path", "extensions"}
        assert set(error["extensions"]) == {"code"}
        assert not LEAK.search(error["message"]), error["message"]


# --- introspection ------------------------------------------------------------------------------


def test_graphiql_and_codegen_introspection_works_under_the_default_limits(api: Api) -> None:
    # when: no key needed, the schema is public
    response = api.post(FULL_INTROSPECTION, key=None)
    # then
    assert response.status_code == 200
    body = response.json()
    assert "errors" not in body, body["errors"]
    assert body["data"]["__schema"]["queryType"] == {"name": "Query", "kind": "OBJECT"}


def test_introspection_reveals_nothing_beyond_schema_graphql(api: Api) -> None:
    # given
    committed = build_sdl_schema(SCHEMA_FILE.read_text(encoding="utf-8"))
    # when
    introspected = build_client_schema(api.post(FULL_INTROSPECTION, key=None).json()["data"])
    # then
    assert print_schema(lexicographic_sort_schema(introspected)) == print_schema(
        lexicographic_sort_schema(committed)
    )
    assert fields_of(introspected) == fields_of(committed)


def test_graphiqls_deep_type_query_works(api: Api) -> None:
    # when
    response = api.post(DEEP_TYPE, key=None)
    # then
    body = response.json()
    assert "errors" not in body, body["errors"]
    fields = {field["name"]: field for field in body["data"]["__type"]["fields"]}
    assert fields["id"]["type"] == {
        "kind": "NON_NULL",
        "name": None,
        "ofType": {"kind": "SCALAR", "name": "ID", "ofType": None},
    }


def test_introspection_over_get_works(api: Api) -> None:
    # when
    response = api.http.get("/graphql", params={"query": FULL_INTROSPECTION})
    # then
    assert response.status_code == 200
    assert "errors" not in response.json()


def fields_of(schema: Any) -> dict[str, set[str]]:
    return {
        name: set(getattr(graphql_type, "fields", {}))
        for name, graphql_type in schema.type_map.items()
    }
