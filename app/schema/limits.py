"""Limits on what one GraphQL request may ask for, enforced before anything runs.

A public endpoint must refuse documents built to exhaust it, cheaply and clearly. Each limit
answers with one top-level error whose `extensions.code` names it and whose message gives the
value seen and the setting that bounds it:

    TOO_MANY_TOKENS       more lexical tokens (or comments) than MAX_TOKENS; parsing stops there
    TOO_MANY_DIRECTIVES   a field, fragment, operation or variable carries more directives than
                          MAX_DIRECTIVES_PER_FIELD
    QUERY_TOO_DEEP        fields nested deeper than MAX_QUERY_DEPTH (`{ a { b } }` is 2 deep)
    TOO_MANY_ALIASES      more aliases than MAX_ALIASES, a fragment's counted at every spread
    NODE_BUDGET_EXCEEDED  the connections could return more than NODE_BUDGET nodes
    QUERY_TOO_COMPLEX     graphql-core gave up validating the document (its own work limit)

The node budget is GitHub's (see `app.schema.measure`): the page sizes of nested connections
multiplied, summed over the operation, with the request's variables.

Documents are measured before the standard validation, in one pass without recursion. A document
over a limit gets those errors alone, without the cost of the full validation; Strawberry's
QueryDepthLimiter and MaxAliasesLimiter report without a code or the value seen, and run with
(not before) the other rules. Parse and validation results are cached by query text, since
neither depends on variables; the node budget, which does, is measured per request.

Nothing here knows the gateway's domain; `build_schema` wires it from the settings.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from graphql import (
    DocumentNode,
    GraphQLError,
    GraphQLSchema,
    GraphQLSyntaxError,
    OperationDefinitionNode,
    get_operation_ast,
    parse,
    validate,
)
from graphql.validation import ASTValidationRule
from graphql.validation.validate import ValidationAbortedError
from strawberry.extensions import SchemaExtension
from strawberry.schema.validation_rules.maybe_null import MaybeNullValidationRule
from strawberry.schema.validation_rules.one_of import OneOfInputValidationRule

from app.schema.measure import Measure, measure, page_variables

# Strawberry's own rules, which its `validate_document` adds to every validation.
_STRAWBERRY_RULES = (MaybeNullValidationRule, OneOfInputValidationRule)
# A cached document costs about 60 bytes per character of query text; longer texts (an ordinary
# operation, or the full introspection query, is a few KB) are parsed and validated every time,
# so that unique big documents cannot fill the memory through the caches. Trusted documents
# (`QueryLimiter.trust`) are cached whatever their length: the operator chose them, and nobody
# else can add one.
CACHEABLE_LENGTH = 10_000
_PARSE_LIMIT = re.compile(r"Document contains more than \d+ (tokens|comments)\. Parsing aborted\.")


@dataclass(frozen=True, kw_only=True)
class QueryLimits:
    """The limits of one schema; see the module docstring for what each one counts.

    Attributes:
        max_depth: MAX_QUERY_DEPTH.
        max_aliases: MAX_ALIASES.
        max_tokens: MAX_TOKENS (lexical tokens; comments are counted apart, to the same limit).
        max_directives: MAX_DIRECTIVES_PER_FIELD.
        node_budget: NODE_BUDGET.
        max_errors: MAX_ERRORS; validation stops after this many errors.
        default_page_size: What a connection without `first`/`last` returns.
        hide_suggestions: Leave graphql-core's "Did you mean …?" out of validation errors.
        cache_size: How many query texts the parse and validation caches keep each.
    """

    max_depth: int
    max_aliases: int
    max_tokens: int
    max_directives: int
    node_budget: int
    max_errors: int
    default_page_size: int
    hide_suggestions: bool
    cache_size: int = 128


def limits_extension(limiter: QueryLimiter) -> Callable[[], SchemaExtension]:
    """A factory for `strawberry.Schema(extensions=[...])`: one extension per request, all of
    them sharing the limiter's caches."""
    return lambda: _LimitsExtension(limiter)


class _LimitsExtension(SchemaExtension):
    def __init__(self, limiter: QueryLimiter) -> None:
        self.limiter = limiter

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        if context.query:
            # A GraphQLError raised here becomes the response's only error.
            context.graphql_document = self.limiter.parse(context.query)
        yield

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        if context.query and context.graphql_document is not None:
            # Setting the errors, even to an empty list, replaces Strawberry's own validation.
            context.pre_execution_errors = self.limiter.check(
                query=context.query,
                document=context.graphql_document,
                schema=context.schema._schema,
                rules=context.validation_rules,
                operation_name=context.operation_name,
                variables=context.variables or {},
            )
        yield


class QueryLimiter:
    """Parses, measures and validates documents for one schema, caching what does not depend on
    the request's variables."""

    def __init__(self, limits: QueryLimits) -> None:
        self.limits = limits
        self._parse = lru_cache(maxsize=limits.cache_size)(self._parse_uncached)
        self._validate = lru_cache(maxsize=limits.cache_size)(self._validate_cached)
        self._page_variables = lru_cache(maxsize=limits.cache_size)(
            lambda query: page_variables(self._parse(query))
        )
        # Measures by (query, operation, the page-size variables' values): all a measure reads.
        self._measures: OrderedDict[tuple[Any, ...], Measure] = OrderedDict()
        self._trusted: frozenset[str] = frozenset()

    def trust(self, queries: Iterable[str]) -> None:
        """Cache these texts like short ones, however long (the trusted documents, fixed at
        start), so that a request for one never parses or validates it again."""
        self._trusted = frozenset(query for query in queries if len(query) > CACHEABLE_LENGTH)

    def _cacheable(self, query: str) -> bool:
        return len(query) <= CACHEABLE_LENGTH or query in self._trusted

    def parse(self, query: str) -> DocumentNode:
        """The document of `query`, from the cache when seen before.

        Raises:
            GraphQLError: TOO_MANY_TOKENS, or graphql-core's syntax error.
        """
        if not self._cacheable(query):
            return self._parse_uncached(query)
        return self._parse(query)

    def operation(
        self, query: object, operation_name: str | None
    ) -> OperationDefinitionNode | None:
        """The operation a request runs (as graphql-core's `get_operation_ast` picks it from
        the cached document); None when `query` is not a document that parses or holds no such
        operation (execution then says why)."""
        if not isinstance(query, str):
            return None
        try:
            return get_operation_ast(self.parse(query), operation_name)
        except GraphQLError:
            return None

    def check(
        self,
        *,
        query: str,
        document: DocumentNode,
        schema: GraphQLSchema,
        rules: tuple[type[ASTValidationRule], ...],
        operation_name: str | None,
        variables: Mapping[str, Any],
    ) -> list[GraphQLError]:
        """The limits' errors if any, else the (cached) validation errors; empty when the
        operation may run."""
        operation = get_operation_ast(document, operation_name)
        # Without a single operation to run, execution will refuse the document anyway; measure
        # them all so that none escapes the limits.
        operations = (
            [operation]
            if operation is not None
            else [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
        )
        for each in operations:
            seen = self._measure(query, each, document, schema, variables)
            errors = self._violations(seen)
            if errors:
                return errors
        if not self._cacheable(query):
            return list(self._validate_document(document, schema, rules))
        return list(self._validate(query, schema, rules))

    def _measure(
        self,
        query: str,
        operation: OperationDefinitionNode,
        document: DocumentNode,
        schema: GraphQLSchema,
        variables: Mapping[str, Any],
    ) -> Measure:
        """`measure`, remembered for cacheable queries: a measure depends on the document and on
        the values of its page-size variables alone."""
        if not self._cacheable(query):
            return measure(operation, document, schema, variables, self.limits.default_page_size)
        names = sorted(self._page_variables(query))
        # Each value with its type: 1, 1.0 and True are one key, and a measure tells them apart.
        given = [
            (name in variables, type(variables.get(name)), variables.get(name)) for name in names
        ]
        key = (query, operation.name.value if operation.name else None, schema, *given)
        try:
            found = self._measures.get(key)
        except TypeError:  # a value that cannot be a key (a list where a size belongs)
            return measure(operation, document, schema, variables, self.limits.default_page_size)
        if found is None:
            found = measure(operation, document, schema, variables, self.limits.default_page_size)
            self._measures[key] = found
            if len(self._measures) > self.limits.cache_size:
                self._measures.popitem(last=False)
        else:
            self._measures.move_to_end(key)
        return found

    def _parse_uncached(self, query: str) -> DocumentNode:
        limit = self.limits.max_tokens
        try:
            return parse(query, max_lexical_tokens=limit, max_comments=limit)
        except GraphQLSyntaxError as error:
            match = _PARSE_LIMIT.search(error.message)
            if match is None:
                raise
            counted = "Token" if match.group(1) == "tokens" else "Comment"
            raise _error(
                f"{counted} count exceeds the limit of {limit} (MAX_TOKENS): parsing stopped at "
                f"{counted.lower()} {limit + 1}.",
                "TOO_MANY_TOKENS",
                source=error.source,
                positions=error.positions,
            ) from None

    def _validate_cached(
        self, query: str, schema: GraphQLSchema, rules: tuple[type[ASTValidationRule], ...]
    ) -> tuple[GraphQLError, ...]:
        return self._validate_document(self._parse(query), schema, rules)

    def _validate_document(
        self,
        document: DocumentNode,
        schema: GraphQLSchema,
        rules: tuple[type[ASTValidationRule], ...],
    ) -> tuple[GraphQLError, ...]:
        errors = validate(
            schema,
            document,
            (*rules, *_STRAWBERRY_RULES),
            max_errors=self.limits.max_errors,
            hide_suggestions=self.limits.hide_suggestions,
        )
        return tuple(_clarify_abort(error) for error in errors)

    def _violations(self, seen: Measure) -> list[GraphQLError]:
        limits = self.limits
        errors: list[GraphQLError] = []
        if seen.directives is not None and seen.directives[0] > limits.max_directives:
            count, where, node = seen.directives
            errors.append(
                _error(
                    f"Directive count {count} on {where} exceeds the limit of "
                    f"{limits.max_directives} (MAX_DIRECTIVES_PER_FIELD).",
                    "TOO_MANY_DIRECTIVES",
                    nodes=[node],
                )
            )
        if seen.depth > limits.max_depth:
            errors.append(
                _error(
                    f"Query depth {seen.depth} exceeds the limit of {limits.max_depth} "
                    "(MAX_QUERY_DEPTH).",
                    "QUERY_TOO_DEEP",
                )
            )
        if seen.aliases > limits.max_aliases:
            errors.append(
                _error(
                    f"Alias count {_number(seen.aliases)} exceeds the limit of "
                    f"{limits.max_aliases} (MAX_ALIASES).",
                    "TOO_MANY_ALIASES",
                )
            )
        if seen.nodes > limits.node_budget:
            errors.append(
                _error(
                    f"Node count {_number(seen.nodes)} exceeds the limit of "
                    f"{limits.node_budget:,} (NODE_BUDGET): ask for smaller pages (`first`/"
                    "`last`) or fewer connections in one request.",
                    "NODE_BUDGET_EXCEEDED",
                )
            )
        return errors


def _clarify_abort(error: GraphQLError) -> GraphQLError:
    # graphql-core aborts with a bare "Validation aborted." when a document would take too much
    # work to validate (e.g. a thousand copies of one field, or deeply shared fragments).
    if isinstance(error, ValidationAbortedError) and error.message == "Validation aborted.":
        return _error(
            "The document is too complex to validate: repeat fewer fields and fragment spreads.",
            "QUERY_TOO_COMPLEX",
        )
    return error


def _number(value: int) -> str:
    # Spreading fragments that spread fragments multiplies counts; keep messages readable.
    return f"{value:,}" if value < 10**15 else "over 10^15"


def _error(message: str, code: str, **kwargs: Any) -> GraphQLError:
    return GraphQLError(message, extensions={"code": code}, **kwargs)
