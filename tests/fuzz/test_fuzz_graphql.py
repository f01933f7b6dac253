"""Fuzzing `/graphql` on a live server: the error contract holds for whatever a client sends.

Four generators run against the same real server (uvicorn over SQLite and, with
TEST_DATABASE_URL, Postgres), each bounded and derandomized so that CI runs the same examples
every time, in about twenty seconds per backend:

- hypothesis-graphql builds documents from the server's own introspection: valid queries and
  mutations, and ones with exactly one schema violation (an unknown field, a wrong argument
  type, a missing required input). Each is POSTed with the account's secret key, a restricted
  key, a session's client secret or no key at all.
- Every root field is called with its arguments as variables drawn from their types, as
  clients send them (hypothesis-graphql writes values inline).
- Raw requests: bodies that are not JSON or not a request, JSON nested thousands of levels deep,
  other content types, GET with arbitrary parameters, any Idempotency-Key.
- schemathesis, in GraphQL mode, loads the schema from the same server's URL and calls every
  root field with a secret key, under its `not_a_server_error` check and ours.

Every response must keep the promises of docs/security.md: no 5xx, a JSON object
for a body, no traceback, file path, driver name or masked INTERNAL_SERVER_ERROR anywhere in it,
and every error carrying `extensions.code` and nothing beyond `message`, `locations`, `path`
and `extensions`.

Generated strings are echoed back (a `clientReferenceId`, a value quoted in a validation
message), and Hypothesis likes to draw string constants from the code under test, such as
"INTERNAL_SERVER_ERROR". A forbidden marker that the request itself carried is therefore not
held against the response; the codes and messages of errors are still checked field by field.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, cast

import graphql
import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import Mode
from hypothesis_graphql import strategies as gql
from schemathesis import Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok

from app.schema.errors import INTERNAL_MESSAGE
from tests.conftest import Api, Server, client_of
from tests.helpers import CREATE_CREDENTIALS, literal, simulate

# Strings that only a fault of ours would put in a response.
LEAK_MARKERS = (
    "Traceback",
    'File "',
    '.py"',
    "sqlalchemy",
    "asyncpg",
    "sqlite3",
    "INTERNAL_SERVER_ERROR",
)
ERROR_KEYS = {"message", "locations", "path", "extensions"}
GRAPHQL_RESPONSE = "application/graphql-response+json"

# The bounds: examples per generator run. hypothesis-graphql runs four times per backend
# (queries and mutations, valid and invalid); schemathesis twice per root field (valid and
# invalid). About 1,500 requests per backend in all.
HYPOTHESIS_GRAPHQL_EXAMPLES = 150
SCHEMATHESIS_EXAMPLES_PER_OPERATION = 15
VARIABLES_EXAMPLES = 300
RAW_EXAMPLES = 200

FUZZ_SETTINGS = settings(
    deadline=None,
    # The same examples on every run: a failure in CI is a failure on a laptop.
    derandomize=True,
    database=None,
    # Requests go over real HTTP and generated documents are large; neither is a problem to
    # report, and a schema that grows must not turn into a failed health check.
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
        HealthCheck.large_base_example,
    ],
)

# Who sends a generated document; repeats weight the draw towards the secret key, which reaches
# the most code.
CREDENTIALS = ("secret", "secret", "secret", "secret", "client_secret", "restricted", "none")


# --- values -----------------------------------------------------------------------------------
# Plain JSON values first (what variables carry), then the same as GraphQL literals.

NAMES = st.from_regex(r"\A[_A-Za-z][_0-9A-Za-z]{0,40}\Z")


def json_values(keys: st.SearchStrategy[str]) -> st.SearchStrategy[Any]:
    """Any JSON value, with object keys drawn from `keys`."""
    return st.recursive(
        st.none()
        | st.booleans()
        | st.integers()
        | st.floats(allow_nan=False, allow_infinity=False)
        | st.text(max_size=600),
        lambda children: (
            st.lists(children, max_size=3) | st.dictionaries(keys, children, max_size=3)
        ),
        max_leaves=6,
    )


# Metadata is mostly well-formed (string values, some too long or with `[`), sometimes not.
def metadata_values(keys: st.SearchStrategy[str]) -> st.SearchStrategy[Any]:
    return st.dictionaries(keys, st.text(max_size=600), max_size=55) | json_values(keys)


# RFC 3339 moments at the edges of what datetime and the databases hold, and strings that only
# look like them.
DATETIME_TEXT = st.one_of(
    st.datetimes(timezones=st.timezones()).map(lambda moment: moment.isoformat()),
    st.sampled_from(
        [
            "0001-01-01T00:00:00+01:00",
            "0001-01-01T00:00:00Z",
            "9999-12-31T23:59:59.999999-01:00",
            "9999-12-31T23:59:59.999999Z",
            "2026-01-31T12:00:00",
            "2026-02-30T12:00:00Z",
            "2026-01-31T25:00:00Z",
            "1970-01-01T00:00:00+23:59",
        ]
    ),
    st.text(max_size=40),
)


def id_values(known_ids: list[str]) -> st.SearchStrategy[str]:
    """Mostly ids that exist, so that mutations get past "not found" into the rules behind it."""
    return st.one_of(
        st.sampled_from(known_ids),
        st.sampled_from(["vs_", "vr_", "evt_", "acct_", "vs_" + "0" * 24, "vs_" + "z" * 200]),
        st.text(max_size=80),
    )


def custom_scalars(known_ids: list[str]) -> dict[str, st.SearchStrategy[graphql.ValueNode]]:
    """Literal strategies for the schema's own scalars, and for ID."""
    return {
        "ID": id_values(known_ids).map(literal) | st.integers().map(literal),
        "DateTime": (DATETIME_TEXT | st.integers()).map(literal),
        "Metadata": metadata_values(NAMES).map(literal),
        "JSON": json_values(NAMES).map(literal),
    }


# --- what every response must be -------------------------------------------------------------


def _strings(value: Any) -> Iterator[str]:
    """Every string in a decoded JSON value, keys included."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def response_problems(status: int, content: bytes, request_text: str) -> list[str]:
    """What is wrong with a response to a request whose body was `request_text`; empty if
    nothing is."""
    problems = []
    if status >= 500:
        problems.append(f"status {status}")
    try:
        body = json.loads(content)
    except ValueError:
        return [*problems, "the body is not JSON"]
    if not isinstance(body, dict):
        return [*problems, "the body is not a JSON object"]
    text = "\n".join(_strings(body))
    problems.extend(
        f"{marker!r} in the response"
        for marker in LEAK_MARKERS
        if marker in text and marker not in request_text
    )
    errors = body.get("errors", [])
    if not isinstance(errors, list):
        return [*problems, "`errors` is not a list"]
    for error in errors:
        if not isinstance(error, dict):
            problems.append(f"an error is not an object: {error!r}")
            continue
        extensions = error.get("extensions")
        code = extensions.get("code") if isinstance(extensions, dict) else None
        if not isinstance(code, str) or not code:
            problems.append(f"an error without extensions.code: {error!r}")
        elif code == "INTERNAL_SERVER_ERROR" or error.get("message") == INTERNAL_MESSAGE:
            problems.append(f"an unexpected fault: {error!r}")
        if extra := set(error) - ERROR_KEYS:
            problems.append(f"an error with keys {sorted(extra)}: {error!r}")
    return problems


def assert_keeps_the_error_contract(response: httpx.Response, request_text: str) -> None:
    problems = response_problems(response.status_code, response.content, request_text)
    assert not problems, (
        f"{'; '.join(problems)}\n--- request\n{request_text}\n--- response {response.status_code}"
        f"\n{response.text[:4000]}"
    )


# --- the data generated documents point at ---------------------------------------------------


def _create(api: Api, key: str | None = "default") -> dict[str, Any]:
    payload = api.gql(CREATE_CREDENTIALS, {"input": {"type": "DOCUMENT"}}, key=key)[
        "createVerificationSession"
    ]
    assert payload["userErrors"] == [], payload["userErrors"]
    session: dict[str, Any] = payload["verificationSession"]
    return session


REPORT_AND_EVENTS = """
query Ids($id: ID!) {
  verificationSession(id: $id) { lastVerificationReport { id } }
  events(filter: {verificationSession: $id}) { nodes { id } }
}
"""


@pytest.fixture
def fuzz_targets(api: Api, server: Server) -> dict[str, Any]:
    """Sessions of the account in several states, a report, events, a restricted key, client
    secrets, and a session of another account: the ids and keys generated requests use."""
    open_sessions = [_create(api) for _ in range(6)]
    verified = _create(api)
    simulate(api, verified["id"], "VERIFIED")
    ids = api.gql(REPORT_AND_EVENTS, {"id": verified["id"]})
    with client_of(server) as other:
        foreign = _create(other)
    known_ids = [
        *(session["id"] for session in open_sessions),
        verified["id"],
        ids["verificationSession"]["lastVerificationReport"]["id"],
        *(event["id"] for event in ids["events"]["nodes"]),
        foreign["id"],
    ]
    return {
        "ids": known_ids,
        "client_secrets": [session["clientSecret"] for session in open_sessions],
        "restricted": api.new_key(restricted=True),
    }


def live_schema(api: Api) -> graphql.GraphQLSchema:
    """The schema as the server introspects it, with no key (the schema is public)."""
    introspection = api.gql(graphql.get_introspection_query(), key=None)
    return graphql.build_client_schema(cast(graphql.IntrospectionQuery, introspection))


def root_fields(schema: graphql.GraphQLSchema) -> set[str]:
    """`Query.node`, `Mutation.createVerificationSession`, ...: every root field by name."""
    return {
        f"{root.name}.{name}"
        for root in (schema.query_type, schema.mutation_type)
        if root is not None
        for name in root.fields
    }


def credential_strategy(api: Api, fuzz_targets: dict[str, Any]) -> st.SearchStrategy[str | None]:
    """The Authorization key a generated request carries, None for none."""
    keys = {
        "secret": st.just(api.key),
        "restricted": st.just(fuzz_targets["restricted"]),
        "client_secret": st.sampled_from(fuzz_targets["client_secrets"]),
        "none": st.none(),
    }
    return st.sampled_from(CREDENTIALS).flatmap(lambda who: keys[who])


# --- hypothesis-graphql ----------------------------------------------------------------------


@pytest.mark.parametrize("mode", [Mode.POSITIVE, Mode.NEGATIVE], ids=["valid", "invalid"])
@pytest.mark.parametrize("operation", ["query", "mutation"])
def test_generated_documents_keep_the_error_contract(
    api: Api, fuzz_targets: dict[str, Any], operation: str, mode: Mode
) -> None:
    # given
    schema = live_schema(api)
    generate = gql.queries if operation == "query" else gql.mutations
    documents = generate(schema, custom_scalars=custom_scalars(fuzz_targets["ids"]), mode=mode)
    credentials = credential_strategy(api, fuzz_targets)
    accepts = st.sampled_from(["application/json", "application/json", GRAPHQL_RESPONSE])

    @settings(FUZZ_SETTINGS, max_examples=HYPOTHESIS_GRAPHQL_EXAMPLES)
    @given(document=documents, key=credentials, accept=accepts)
    def fuzz(document: str, key: str | None, accept: str) -> None:
        # when
        response = api.post(document, key=key, headers={"Accept": accept})
        # then
        assert_keeps_the_error_contract(response, document)

    fuzz()


# --- variables -------------------------------------------------------------------------------
# hypothesis-graphql writes every value inline, but clients send variables, which graphql-core
# coerces on another path (and JSON carries integers of any size). So every root field is also
# called with all its arguments as variables, drawn from the arguments' types: mostly well-typed,
# now and then null or any JSON value at all.


def one_in(n: int, rare: st.SearchStrategy[Any], usual: st.SearchStrategy[Any]) -> Any:
    """`rare` about once in `n` draws, else `usual`."""
    return st.integers(1, n).flatmap(lambda roll: rare if roll == 1 else usual)


def variable_values(type_: graphql.GraphQLInputType, known_ids: list[str]) -> Any:
    """JSON values for a variable of `type_`."""
    nullable = not isinstance(type_, graphql.GraphQLNonNull)
    inner = graphql.get_nullable_type(type_)
    strategy: st.SearchStrategy[Any]
    if isinstance(inner, graphql.GraphQLList):
        item = variable_values(inner.of_type, known_ids)
        # A single value stands for a list of one.
        strategy = st.lists(item, max_size=4) | item
    elif isinstance(inner, graphql.GraphQLInputObjectType):
        values = {
            name: variable_values(field.type, known_ids) for name, field in inner.fields.items()
        }
        required = {
            name for name, field in inner.fields.items() if graphql.is_required_input_field(field)
        }
        strategy = st.fixed_dictionaries(
            {name: values[name] for name in required},
            optional={name: value for name, value in values.items() if name not in required},
        )
    elif isinstance(inner, graphql.GraphQLEnumType):
        strategy = st.sampled_from(sorted(inner.values))
    else:
        strategy = {
            # Page sizes between 0 and 100 are the interesting ones.
            "Int": st.integers(-5, 120) | st.integers(),
            "Float": st.floats(allow_nan=False, allow_infinity=False),
            "String": st.text(max_size=600),
            "Boolean": st.booleans(),
            "ID": id_values(known_ids),
            "DateTime": DATETIME_TEXT,
            "Metadata": metadata_values(st.text(max_size=45)),
            "JSON": json_values(st.text(max_size=10)),
        }[graphql.get_named_type(inner).name]
    if nullable:
        strategy = one_in(8, st.none(), strategy)
    return one_in(20, json_values(st.text(max_size=10)), strategy)


def selection(
    schema: graphql.GraphQLSchema,
    type_: graphql.GraphQLOutputType,
    depth: int,
    taken: dict[str, str] | None = None,
) -> str:
    """Every field of `type_` that takes no required argument, `depth` levels down.

    Args:
        taken: Field names already selected beside this one (in the fragments of one
            interface) and their types: a name taken with another type would not validate.
    """
    named = graphql.get_named_type(type_)
    if graphql.is_leaf_type(named):
        return ""
    if isinstance(named, graphql.GraphQLInterfaceType | graphql.GraphQLUnionType):
        shared: dict[str, str] = {}
        fragments = [
            f"... on {possible.name} {selection(schema, possible, depth - 1, shared)}"
            for possible in schema.get_possible_types(named)
            if depth > 0
        ]
        return "{ __typename " + " ".join(fragments) + " }"
    assert isinstance(named, graphql.GraphQLObjectType)
    taken = {} if taken is None else taken
    fields = []
    for name, field in named.fields.items():
        if any(graphql.is_required_argument(argument) for argument in field.args.values()):
            continue
        if taken.setdefault(name, str(field.type)) != str(field.type):
            continue
        if graphql.is_leaf_type(graphql.get_named_type(field.type)):
            fields.append(name)
        elif depth > 0:
            fields.append(f"{name} {selection(schema, field.type, depth - 1)}")
    return "{ " + " ".join(fields or ["__typename"]) + " }"


def root_field_calls(
    schema: graphql.GraphQLSchema, known_ids: list[str]
) -> st.SearchStrategy[tuple[str, dict[str, Any]]]:
    """A document calling one root field with its arguments as variables, and the variables."""
    calls = []
    for operation, root in (("query", schema.query_type), ("mutation", schema.mutation_type)):
        assert root is not None
        for name, field in root.fields.items():
            if not field.args:
                continue
            definitions = ", ".join(
                f"${arg}: {argument.type}" for arg, argument in field.args.items()
            )
            arguments = ", ".join(f"{arg}: ${arg}" for arg in field.args)
            document = (
                f"{operation} Fuzz({definitions}) "
                f"{{ {name}({arguments}) {selection(schema, field.type, 3)} }}"
            )
            variables = st.fixed_dictionaries(
                {
                    arg: variable_values(argument.type, known_ids)
                    for arg, argument in field.args.items()
                }
            )
            calls.append(st.tuples(st.just(document), variables))
    return st.one_of(calls)


def test_generated_variables_keep_the_error_contract(
    api: Api, fuzz_targets: dict[str, Any]
) -> None:
    # given
    calls = root_field_calls(live_schema(api), fuzz_targets["ids"])
    credentials = credential_strategy(api, fuzz_targets)

    @settings(FUZZ_SETTINGS, max_examples=VARIABLES_EXAMPLES)
    @given(call=calls, key=credentials)
    def fuzz(call: tuple[str, dict[str, Any]], key: str | None) -> None:
        document, variables = call
        # when
        response = api.post(document, variables, key=key)
        # then
        assert_keeps_the_error_contract(
            response, f"{document}\n{json.dumps(variables, ensure_ascii=False)}"
        )

    fuzz()


# --- raw requests -----------------------------------------------------------------------------
# Below GraphQL: bodies that are not JSON, JSON that is not a request, requests whose JSON nests
# far deeper than any input type (a thousand levels reached the interpreter's recursion limit),
# other content types, GET with arbitrary parameters, Idempotency-Key headers of any shape.


def nested_json(depth: int, inner: Any) -> str:
    """`inner` (a JSON value) inside `depth` arrays, as text: json.dumps could not write deep
    nesting itself."""
    return "[" * depth + json.dumps(inner) + "]" * depth


# Printable ASCII, without the leading or trailing whitespace an HTTP field value cannot carry
# (RFC 9110, 5.5): httpx refuses to send it, so such a draw would fail before any request.
HEADER_TEXT = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=300).map(
    str.strip
)
DEPTHS = st.integers(0, 8) | st.integers(900, 1_100) | st.integers(0, 20_000)


@st.composite
def raw_bodies(draw: st.DrawFn, documents: st.SearchStrategy[str]) -> bytes:
    """A POST body: mostly a request with nested variables, sometimes anything at all."""
    kind = draw(st.sampled_from(["request", "request", "json", "bytes"]))
    if kind == "bytes":
        return draw(st.binary(max_size=2_000))
    if kind == "json":
        return nested_json(draw(DEPTHS), draw(json_values(st.text()))).encode()
    document = json.dumps(draw(documents))
    variables = nested_json(draw(DEPTHS), draw(json_values(st.text(max_size=10))))
    where = draw(st.sampled_from(["variables", "value", "input"]))
    if where == "value":
        variables = f'{{"a": {variables}}}'
    elif where == "input":
        variables = f'{{"input": {{"id": "vs_x", "metadata": {{"k": {variables}}}}}}}'
    operation_name = json.dumps(draw(json_values(st.text(max_size=10))))
    return f'{{"query": {document}, "variables": {variables}, "operationName": {operation_name}}}'.encode()


def test_raw_requests_keep_the_error_contract(api: Api, fuzz_targets: dict[str, Any]) -> None:
    # given
    schema = live_schema(api)
    documents = gql.from_schema(schema, custom_scalars=custom_scalars(fuzz_targets["ids"]))
    content_types = st.sampled_from(
        ["application/json"] * 4 + ["application/json; charset=utf-8", "text/plain", ""]
    )

    @settings(FUZZ_SETTINGS, max_examples=RAW_EXAMPLES)
    @given(
        method=st.sampled_from(["POST", "POST", "POST", "GET"]),
        body=raw_bodies(documents),
        params=st.dictionaries(st.sampled_from(["query", "variables", "operationName"]), st.text()),
        content_type=content_types,
        key=credential_strategy(api, fuzz_targets),
        idempotency_key=st.none() | HEADER_TEXT,
    )
    def fuzz(
        method: str,
        body: bytes,
        params: dict[str, str],
        content_type: str,
        key: str | None,
        idempotency_key: str | None,
    ) -> None:
        headers = {"Content-Type": content_type}
        if key is not None:
            headers["Authorization"] = f"Bearer {key}"
        if idempotency_key is not None:
            headers["Idempotency-Key"] = idempotency_key
        # when
        if method == "GET":
            response = api.http.get("/graphql", params=params, headers=headers)
            sent = json.dumps(params, ensure_ascii=False)
        else:
            response = api.http.post("/graphql", content=body, headers=headers)
            sent = body.decode(errors="replace")
        # then
        assert_keeps_the_error_contract(response, sent)

    fuzz()


# --- schemathesis ----------------------------------------------------------------------------

# schemathesis has strategies of its own for DateTime and the built-in scalars; Metadata is ours.
schemathesis.graphql.scalar("Metadata", metadata_values(NAMES).map(literal))


def keeps_the_error_contract(ctx: Any, response: schemathesis.Response, case: Any) -> None:
    """The rules above as a schemathesis check."""
    request_text = json.dumps(case.body, ensure_ascii=False) if case.body is not None else ""
    problems = response_problems(response.status_code, response.content, request_text)
    assert not problems, "; ".join(problems)


@pytest.mark.parametrize(
    "mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=["valid", "invalid"]
)
def test_schemathesis_finds_no_server_error(server: Server, api: Api, mode: GenerationMode) -> None:
    # given: the schema as schemathesis loads it from the server's URL, every root field of it
    schema = schemathesis.graphql.from_url(f"{server.base_url}/graphql", timeout=30)
    operations = [result.ok() for result in schema.get_all_operations() if isinstance(result, Ok)]
    assert {operation.label for operation in operations} == root_fields(live_schema(api))
    headers = {"Authorization": f"Bearer {api.key}"}

    for operation in operations:

        @settings(FUZZ_SETTINGS, max_examples=SCHEMATHESIS_EXAMPLES_PER_OPERATION)
        @given(case=operation.as_strategy(generation_mode=mode))
        def fuzz(case: Case[Any]) -> None:
            # when / then
            case.call_and_validate(
                headers=headers, checks=[not_a_server_error, keeps_the_error_contract]
            )

        fuzz()
