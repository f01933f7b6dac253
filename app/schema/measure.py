"""Measuring a GraphQL operation: depth, aliases, directives and connection nodes.

The node count is GitHub's: a connection field (one with a `first` or `last` argument) costs its
page size, read from the request's variables where it is one, else the default page size, times
the page sizes of the connections it sits in; the operation costs the sum. So
`{ a(first: 10) { nodes { b(first: 20) { totalCount } } } }` costs 10 + 10 * 20.

One pass, without recursion: each fragment is folded once, in dependency order, so a chain or a
diamond of spreads costs one visit per fragment however often it is spread, and a long chain
cannot exhaust the stack. (Strawberry's QueryDepthLimiter and MaxAliasesLimiter re-walk a
fragment at each spread, which is exponential on such documents.) Nothing here knows the
gateway's schema.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from graphql import (
    ArgumentNode,
    DirectiveNode,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    Node,
    OperationDefinitionNode,
    SelectionSetNode,
    ValueNode,
    VariableNode,
    Visitor,
    get_named_type,
    visit,
)

PAGE_ARGUMENTS = ("first", "last")


@dataclass
class Measure:
    """What an operation or fragment asks for, its fragment spreads included.

    Attributes:
        depth: The most fields on one path from the top.
        aliases: Aliased fields, a fragment's counted once per spread.
        nodes: Connection nodes it could return (the node budget's count).
        directives: The node with the most directives: (count, description, node).
    """

    depth: int = 0
    aliases: int = 0
    nodes: int = 0
    directives: tuple[int, str, Node] | None = None

    def note_directives(
        self, directives: Sequence[DirectiveNode] | None, where: str, node: Node
    ) -> None:
        count = len(directives or ())
        if count and (self.directives is None or count > self.directives[0]):
            self.directives = (count, where, node)


def measure(
    operation: OperationDefinitionNode,
    document: DocumentNode,
    schema: GraphQLSchema,
    variables: Mapping[str, Any],
    default_page_size: int,
) -> Measure:
    """Measure `operation` with the request's variables, without recursion.

    Unknown fields and types (which validation reports) count as plain fields; a spread that
    closes a cycle of fragments (which validation also reports) counts as nothing.
    """
    defaults = {
        definition.variable.name.value: definition.default_value
        for definition in operation.variable_definitions or ()
    }
    pages = _PageSizes(variables, defaults, default_page_size)
    fragments = {
        definition.name.value: definition
        for definition in document.definitions
        if isinstance(definition, FragmentDefinitionNode)
    }
    folded: dict[str, Measure] = {}
    for name in _dependency_order(fragments):
        fragment = fragments[name]
        parent = schema.get_type(fragment.type_condition.name.value)
        folded[name] = _fold(fragment, f"fragment '{name}'", parent, schema, folded, pages)
    result = _fold(
        operation, "the operation", schema.get_root_type(operation.operation), schema, folded, pages
    )
    for definition in operation.variable_definitions or ():
        name = definition.variable.name.value
        result.note_directives(definition.directives, f"variable '${name}'", definition)
    return result


def _fold(
    owner: OperationDefinitionNode | FragmentDefinitionNode,
    description: str,
    parent: GraphQLNamedType | None,
    schema: GraphQLSchema,
    folded: Mapping[str, Measure],
    pages: _PageSizes,
) -> Measure:
    result = Measure()
    result.note_directives(owner.directives, description, owner)
    # (selection set, fields above it, product of the page sizes above it, its type)
    stack: list[tuple[SelectionSetNode, int, int, GraphQLNamedType | None]] = [
        (owner.selection_set, 0, 1, parent)
    ]
    while stack:
        selection_set, depth, multiplier, parent_type = stack.pop()
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                name = selection.name.value
                result.note_directives(selection.directives, f"field '{name}'", selection)
                result.depth = max(result.depth, depth + 1)
                if selection.alias is not None:
                    result.aliases += 1
                definition = _field(parent_type, name)
                inner = multiplier
                if definition is not None and any(a in definition.args for a in PAGE_ARGUMENTS):
                    inner = multiplier * pages.size(selection)
                    result.nodes += inner
                if selection.selection_set is not None:
                    child_type = get_named_type(definition.type) if definition else None
                    stack.append((selection.selection_set, depth + 1, inner, child_type))
            elif isinstance(selection, InlineFragmentNode):
                result.note_directives(selection.directives, "an inline fragment", selection)
                condition = selection.type_condition
                inline_type = schema.get_type(condition.name.value) if condition else parent_type
                stack.append((selection.selection_set, depth, multiplier, inline_type))
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                result.note_directives(selection.directives, f"spread '...{name}'", selection)
                spread = folded.get(name)
                if spread is None:
                    continue
                result.depth = max(result.depth, depth + spread.depth)
                result.aliases += spread.aliases
                result.nodes += multiplier * spread.nodes
                if spread.directives is not None and (
                    result.directives is None or spread.directives[0] > result.directives[0]
                ):
                    result.directives = spread.directives
    return result


def page_variables(document: DocumentNode) -> frozenset[str]:
    """The variables a document passes as page sizes: all `measure` reads of the variables, so
    its result for one document is the same for equal values of these."""
    found: set[str] = set()

    class PageArguments(Visitor):
        def enter_argument(self, node: ArgumentNode, *_: Any) -> None:
            if node.name.value in PAGE_ARGUMENTS and isinstance(node.value, VariableNode):
                found.add(node.value.name.value)

    visit(document, PageArguments())
    return frozenset(found)


class _PageSizes:
    """The page size a connection field asks for, as the resolver will see it."""

    def __init__(
        self,
        variables: Mapping[str, Any],
        defaults: Mapping[str, ValueNode | None],
        default_page_size: int,
    ) -> None:
        self.variables = variables
        self.defaults = defaults
        self.default_page_size = default_page_size

    def size(self, field: FieldNode) -> int:
        sizes = [
            value
            for argument in field.arguments or ()
            if argument.name.value in PAGE_ARGUMENTS
            and (value := self._int(argument.value)) is not None
        ]
        # A negative size is refused when the field resolves; it returns nothing.
        return max(0, *sizes) if sizes else self.default_page_size

    def _int(self, value: ValueNode | None) -> int | None:
        if isinstance(value, VariableNode):
            name = value.name.value
            if name not in self.variables:
                return self._int(self.defaults.get(name))
            given = self.variables[name]
            if isinstance(given, float) and given.is_integer():
                return int(given)  # JSON's 100.0 is a valid Int
            return given if isinstance(given, int) and not isinstance(given, bool) else None
        if isinstance(value, IntValueNode):
            return int(value.value)
        return None


def _field(parent: GraphQLNamedType | None, name: str) -> GraphQLField | None:
    if isinstance(parent, (GraphQLObjectType, GraphQLInterfaceType)):
        field: GraphQLField | None = parent.fields.get(name)
        return field
    return None


def _dependency_order(fragments: Mapping[str, FragmentDefinitionNode]) -> list[str]:
    """Fragment names, each after the fragments it spreads; a spread closing a cycle is
    ignored. Iterative, so a long chain of fragments cannot exhaust the stack."""
    order: list[str] = []
    seen: set[str] = set()
    for root in fragments:
        if root in seen:
            continue
        seen.add(root)
        path = [(root, iter(_spreads(fragments[root].selection_set)))]
        while path:
            name, spreads = path[-1]
            child = next(spreads, None)
            if child is None:
                path.pop()
                order.append(name)
            elif child in fragments and child not in seen:
                seen.add(child)
                path.append((child, iter(_spreads(fragments[child].selection_set))))
    return order


def _spreads(selection_set: SelectionSetNode) -> Iterator[str]:
    stack = [selection_set]
    while stack:
        for selection in stack.pop().selections:
            if isinstance(selection, FragmentSpreadNode):
                yield selection.name.value
            elif (
                isinstance(selection, (FieldNode, InlineFragmentNode))
                and selection.selection_set is not None
            ):
                stack.append(selection.selection_set)
