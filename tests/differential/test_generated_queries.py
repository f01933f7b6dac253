"""Generated queries answer the same in both execution modes.

hypothesis-graphql builds queries from `schema.graphql`: any subset of the root fields, nested
selections, inline fragments on the interfaces, and arguments whose values come from the fixture
(real ids of every kind, cursors, filter values and `created` moments) or from just outside it
(unknown and malformed ids, page sizes below 0 and above 100, cursors that are not cursors). Each
document then has some of its arguments moved into variables, given as values, left to a
default on the variable or omitted, since a compiled plan is reused with other variables. The
request goes to both servers by POST or GET, with one of the fixture's credentials (or none) and
either media type; the two replies must be identical.

The runs are derandomized and bounded: CI sees the same examples every time, 400 of them (800
requests) in about fifteen seconds per backend.
"""

from __future__ import annotations

from typing import Any, cast

import graphql
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import Mode, nodes
from hypothesis_graphql import strategies as gql_st

from tests.differential.documents import SCHEMA, SCHEMA_TEXT
from tests.differential.twins import GRAPHQL_RESPONSE, Reply, Request, Twins
from tests.differential.world import World
from tests.helpers import literal

VALID_EXAMPLES = 300
INVALID_EXAMPLES = 100

DIFFERENTIAL_SETTINGS = settings(
    deadline=None,
    derandomize=True,
    database=None,
    # Every example makes two HTTP requests, and documents can be large; neither is a problem.
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
        HealthCheck.large_base_example,
    ],
)

# Who sends a request. Hypothesis already draws the first entry most often, so the secret key,
# which reaches the most code, needs no extra weight.
CREDENTIALS = ("secret", "live", "restricted", "client_secret", "other_account", "none")
UNKNOWN_IDS = [
    "vs_" + "0" * 24,
    "vr_" + "0" * 24,
    "evt_" + "0" * 24,
    "vs_",
    "vs_short",
    "xx_" + "a" * 24,
    "vs_" + "z" * 200,
    "",
]
BAD_CURSORS = ["", "not a cursor", "djE6", "Y3Vyc29y", "=" * 8]
ODD_PAGE_SIZES = [-1, 101, 1000, -(2**31), 2**31 - 1]
ODD_MOMENTS = [
    "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59.999999Z",
    "2026-01-31T12:00:00+05:30",
    "2026-02-30T12:00:00Z",
    "yesterday",
]


NAMES = st.from_regex(r"\A[a-z][a-zA-Z0-9]{0,8}\Z")


def often(usual: st.SearchStrategy[Any], rare: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """`usual` about seven times in eight, `rare` otherwise. One bad page size or cursor makes
    the whole response `data: null` (connections are non-null), so bad values stay rare enough
    for most documents to read data."""
    return st.one_of(*[usual] * 7, rare)


def custom_scalars(world: World) -> dict[str, st.SearchStrategy[graphql.ValueNode]]:
    """Literal strategies for the custom scalars, and for the built-ins whose values decide what
    a query reaches: ids, page sizes and the strings that are cursors or filter values."""
    return {
        "ID": often(st.sampled_from(world.ids), st.sampled_from(UNKNOWN_IDS)).map(nodes.String),
        "Int": often(st.integers(0, 100), st.sampled_from(ODD_PAGE_SIZES)).map(nodes.Int),
        "String": often(
            st.sampled_from(world.cursors + world.strings),
            st.sampled_from(BAD_CURSORS) | st.text(max_size=12),
        ).map(nodes.String),
        "DateTime": often(st.sampled_from(world.moments), st.sampled_from(ODD_MOMENTS)).map(
            nodes.String
        ),
        # No query argument takes these two today; they are here for the day one does.
        "Metadata": st.dictionaries(NAMES, st.text(max_size=8), max_size=3).map(literal),
        "JSON": st.one_of(st.integers(), st.text(max_size=8), st.booleans()).map(literal),
    }


class _Rewrite(graphql.Visitor):
    """Two edits of a generated document, drawn as it is walked.

    A connection given both `first` and `last` (which hypothesis-graphql writes in most lists,
    and the gateway refuses) keeps only one of them seven times in eight, so that most pages are
    read. Drawn arguments move into variables: given in `variables`, left to the variable's
    default, or (for a nullable argument) omitted so that the argument's default applies.
    """

    def __init__(self, type_info: graphql.TypeInfo, draw: st.DrawFn) -> None:
        super().__init__()
        self.type_info = type_info
        self.draw = draw
        self.definitions: list[graphql.VariableDefinitionNode] = []
        self.variables: dict[str, Any] = {}

    def enter_field(self, node: graphql.FieldNode, *_: Any) -> Any:
        names = {argument.name.value for argument in node.arguments or ()}
        if not {"first", "last"} <= names or self.draw(st.integers(0, 7)) == 0:
            return None
        dropped = self.draw(st.sampled_from(["first", "last"]))
        return graphql.FieldNode(
            alias=node.alias,
            name=node.name,
            arguments=tuple(a for a in node.arguments or () if a.name.value != dropped),
            directives=node.directives,
            selection_set=node.selection_set,
        )

    def enter_argument(self, node: graphql.ArgumentNode, *_: Any) -> Any:
        argument = self.type_info.get_argument()
        if argument is None or not self.draw(st.booleans()):
            return None
        name = f"v{len(self.definitions)}"
        ways = ["value", "value", "default"]
        if not isinstance(argument.type, graphql.GraphQLNonNull):
            ways.append("omitted")
        way = self.draw(st.sampled_from(ways))
        if way == "value":
            self.variables[name] = graphql.value_from_ast_untyped(node.value)
        self.definitions.append(
            graphql.VariableDefinitionNode(
                variable=graphql.VariableNode(name=graphql.NameNode(value=name)),
                type=graphql.parse_type(str(argument.type)),
                # A generated argument is a literal, never a variable: a valid default.
                default_value=cast(graphql.ConstValueNode, node.value)
                if way == "default"
                else None,
                directives=(),
            )
        )
        return graphql.ArgumentNode(
            name=node.name, value=graphql.VariableNode(name=graphql.NameNode(value=name))
        )


@st.composite
def with_variables(
    draw: st.DrawFn, documents: st.SearchStrategy[graphql.DocumentNode]
) -> tuple[str, dict[str, Any] | None]:
    """A generated query as `_Rewrite` edits it; its text and variables."""
    document = draw(documents)
    type_info = graphql.TypeInfo(SCHEMA)
    rewrite = _Rewrite(type_info, draw)
    rewritten = graphql.visit(document, graphql.TypeInfoVisitor(type_info, rewrite))
    (operation,) = rewritten.definitions
    assert isinstance(operation, graphql.OperationDefinitionNode)
    operation = graphql.OperationDefinitionNode(
        operation=operation.operation,
        name=graphql.NameNode(value="Generated") if rewrite.definitions else None,
        variable_definitions=tuple(rewrite.definitions),
        directives=(),
        selection_set=operation.selection_set,
    )
    text = graphql.print_ast(graphql.DocumentNode(definitions=(operation,)))
    return text, rewrite.variables if rewrite.definitions else None


def requests_of(
    world: World, documents: st.SearchStrategy[tuple[str, dict[str, Any] | None]]
) -> st.SearchStrategy[Request]:
    """Requests carrying `documents`, each with a drawn credential, method and media type."""
    credentials = world.keys.all()
    return st.builds(
        lambda document, who, method, accept: Request(
            query=document[0],
            variables=document[1],
            key=credentials[who],
            # Long documents go by POST: a URL that long is refused before the gateway sees it.
            method=method if len(document[0]) < 2000 else "POST",
            accept=accept,
        ),
        documents,
        st.sampled_from(CREDENTIALS),
        st.sampled_from(["POST", "POST", "POST", "GET"]),
        st.sampled_from([None, "application/json", GRAPHQL_RESPONSE]),
    )


def answered(reply: Reply) -> bool:
    """True for a reply with data and no error at all."""
    return reply.status == 200 and reply.data is not None and not reply.errors


def test_generated_queries_answer_the_same(twins: Twins, world: World) -> None:
    # given
    documents = gql_st.queries(
        SCHEMA_TEXT, custom_scalars=custom_scalars(world), print_ast=lambda document: document
    )
    replies: list[Reply] = []

    @settings(DIFFERENTIAL_SETTINGS, max_examples=VALID_EXAMPLES)
    @given(request=requests_of(world, with_variables(documents)))
    def check(request: Request) -> None:
        # when / then
        replies.append(twins.send(request))

    check()
    # and the examples reached data, not only errors
    assert len(replies) >= VALID_EXAMPLES
    assert sum(map(answered, replies)) >= len(replies) // 5, "too few examples ran without errors"
    assert any(reply.status == 401 for reply in replies)


def test_generated_invalid_queries_answer_the_same(twins: Twins, world: World) -> None:
    # given: documents with one schema violation each (an unknown field, a wrong argument type)
    documents = gql_st.queries(
        SCHEMA_TEXT, custom_scalars=custom_scalars(world), mode=Mode.NEGATIVE
    )
    replies: list[Reply] = []

    @settings(DIFFERENTIAL_SETTINGS, max_examples=INVALID_EXAMPLES)
    @given(request=requests_of(world, documents.map(lambda text: (text, None))))
    def check(request: Request) -> None:
        # when / then
        replies.append(twins.send(request))

    check()
    # and they were refused as invalid, for callers with a key
    codes = {code for reply in replies for code in reply.codes}
    assert "GRAPHQL_VALIDATION_FAILED" in codes, codes
