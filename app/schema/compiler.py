"""Compiled execution of query operations, with graphql-core as the fallback and the reference.

graphql-core executes a document by interpreting it: for every field of every object it collects
the selection, builds a path and a resolve info, looks the field up, calls its resolver, checks
for awaitables and completes the value by type. A page of 50 sessions is some 450 such steps.
Here an operation is compiled once into a plan, a Python function per selected object type that
reads each field and builds the response dict in one pass:

    plan = compiler.plan(document, operation_name, variables)      # cached per operation
    data = await plan.run(context, variables)                      # None: ask the reference

What a plan calls is what graphql-core would call: the field's own resolver (with a real resolve
info and the arguments graphql-core computes) wherever one is defined; for Strawberry's basic
fields, which have none, Strawberry's default resolver on the field's Python name, which is all
that Strawberry's basic-field resolver does; and for leaf values the type's own
`coerce_output_value`. Only three shortcuts are taken, each exact:

- a `str` for String or ID, and a `bool` for Boolean, is its own serialization (graphql-core
  returns such values unchanged);
- an enum member's serialization is memoized per type (the serializer is a pure function of the
  member);
- a permission that depends on the caller alone (`ContextPermission`) is asked once per
  operation instead of once per object.

Only answers without errors are compiled. The moment anything unusual happens while a plan runs
(a resolver raises, a non-null field is null, a value does not serialize, a permission refuses,
a type does not match), the plan gives up and `run` returns None; the caller then executes the
operation through graphql-core, which produces the errors, their paths and the partial data the
specification asks for. A plan never runs a mutation (its resolvers would run twice) nor anything
this module does not compile (subscriptions, introspection, types or resolvers it cannot vouch
for): `plan` returns None for those and the reference runs them.

Nothing here knows the gateway's domain.
"""

from __future__ import annotations

import asyncio
import itertools
import keyword
import weakref
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    DocumentNode,
    FragmentDefinitionNode,
    GraphQLAbstractType,
    GraphQLBoolean,
    GraphQLEnumType,
    GraphQLError,
    GraphQLField,
    GraphQLID,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    GraphQLString,
    OperationDefinitionNode,
    OperationType,
    Undefined,
    assert_valid_schema,
    get_nullable_type,
    is_abstract_type,
    is_leaf_type,
    is_list_type,
    is_non_null_type,
    is_object_type,
)
from graphql.execution.collect_fields import (
    FieldDetails,
    FragmentDetails,
    collect_fields,
    collect_subfields,
)
from graphql.execution.executor import default_field_resolver, default_type_resolver
from graphql.execution.values import get_argument_values, get_variable_values
from graphql.language import DirectiveNode, VariableNode, visit
from graphql.language.visitor import Visitor
from graphql.pyutils import Path, is_iterable
from strawberry.execution.is_awaitable import optimized_is_awaitable
from strawberry.permission import PermissionExtension
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.field import StrawberryField

from app.schema.permissions import ContextPermission

FieldDetailsList = list[FieldDetails]
Completer = Callable[["Run", Any, Path | None], Any]


class Bail(Exception):
    """The plan cannot answer this request exactly; graphql-core must."""


class Unsupported(Exception):
    """The operation uses something the compiler does not compile."""


@dataclass
class Run:
    """One execution of a plan: the request's context, its coerced variables and the executor
    graphql-core would have used (for resolve infos), and the awaitables still to settle."""

    context: Any
    executor: Any
    # [object the value goes into (set once that object is built), key, awaitable, completer,
    # path]; registered the moment a resolver returns the awaitable, so that a run that gives up
    # before the object exists still closes it.
    pending: list[list[Any]] = field(default_factory=list)

    def later(
        self, key: str | int, awaitable: Awaitable[Any], complete: Completer, path: Path | None
    ) -> list[Any]:
        entry = [None, key, awaitable, complete, path]
        self.pending.append(entry)
        return entry


@dataclass(frozen=True)
class _Selection:
    """What collecting an operation's fields depends on."""

    fragments: Any
    variable_values: Any
    operation: OperationDefinitionNode


@dataclass
class _Object:
    """The compiled selection of one object type: `function(run, source, path) -> dict`."""

    function: Callable[[Run, Any, Path | None], dict[str, Any]] | None = None
    needs_path: bool = False


class Plan:
    """One query operation, compiled for one set of @skip/@include decisions."""

    def __init__(
        self, *, compiler: Compiler, root: _Object, permissions: tuple[ContextPermission, ...]
    ) -> None:
        self.compiler = compiler
        self.root = root
        self.permissions = permissions

    async def run(self, executor: Any) -> dict[str, Any] | None:
        """The operation's `data`, or None when only graphql-core can answer exactly."""
        run = Run(context=executor.context_value, executor=executor)
        for permission in self.permissions:
            if not permission.allows(run.context):
                return None
        try:
            assert self.root.function is not None
            data = self.root.function(run, executor.root_value, None)
            while run.pending:
                pending, run.pending = run.pending, []
                if len(pending) == 1:
                    # One awaitable (a single root field): awaited as it is, without a task.
                    values = [await pending[0][2]]
                else:
                    values = await asyncio.gather(
                        *(awaitable for _, _, awaitable, _, _ in pending), return_exceptions=True
                    )
                failed = False
                for (target, key, _, complete, path), value in zip(pending, values, strict=True):
                    if isinstance(value, BaseException) or failed:
                        failed = True
                        continue
                    target[key] = complete(run, value, path)
                if failed:
                    raise Bail
        except Exception:
            _close(run.pending)
            self.compiler.bailed += 1
            return None
        self.compiler.compiled += 1
        return data


def _close(pending: Iterable[list[Any]]) -> None:
    # Awaitables that a bailed run never awaited would warn "never awaited"; the reference run
    # calls their resolvers again.
    for _, _, awaitable, _, _ in pending:
        close = getattr(awaitable, "close", None)
        if close is not None:
            close()
        elif isinstance(awaitable, asyncio.Future):
            awaitable.cancel()


class Prepared:
    """What graphql-core's `Executor.build` works out from the document alone (the operation,
    the fragments), worked out once per document and operation name: each request then only
    coerces its variables and constructs the executor, with exactly the arguments `build` would
    pass it."""

    def __init__(
        self,
        schema: GraphQLSchema,
        executor_class: type[Any],
        operation: OperationDefinitionNode,
        fragment_definitions: dict[str, FragmentDefinitionNode],
    ) -> None:
        self.schema = schema
        self.executor_class = executor_class
        self.operation = operation
        self.variable_definitions = operation.variable_definitions or ()
        self.fragment_definitions = fragment_definitions
        self.fragments = {
            name: FragmentDetails(definition, None)
            for name, definition in fragment_definitions.items()
        }

    @classmethod
    def of(
        cls,
        schema: GraphQLSchema,
        executor_class: type[Any],
        document: DocumentNode,
        operation: OperationDefinitionNode,
    ) -> Prepared | None:
        """None for a document whose fragments declare variables (an experimental syntax this
        does not prepare): `build` handles those."""
        fragments = {}
        for definition in document.definitions:
            if isinstance(definition, FragmentDefinitionNode):
                if definition.variable_definitions:
                    return None
                fragments[definition.name.value] = definition
        return cls(schema, executor_class, operation, fragments)

    def executor(self, *, context: Any, variables: dict[str, Any] | None, **extra: Any) -> Any:
        """`executor_class.build(schema, document, context_value=context,
        raw_variable_values=variables, operation_name=…, is_awaitable=…, **extra)` for this
        operation, or None where `build` would answer errors (the variables do not fit)."""
        coerced = get_variable_values(
            self.schema, self.variable_definitions, variables or {}, max_errors=50
        )
        if isinstance(coerced, list):
            return None
        return self.executor_class(
            self.schema,
            self.fragment_definitions,
            self.fragments,
            None,
            context,
            self.operation,
            coerced,
            default_field_resolver,
            default_type_resolver,
            default_field_resolver,
            False,
            None,
            optimized_is_awaitable,
            None,
            hide_suggestions=False,
            abort_signal=None,
            hooks=None,
            **extra,
        )


class Compiler:
    """Compiles the query operations of one schema and keeps the plans, least recently used
    first out.

    Attributes:
        compiled: Runs a plan answered.
        bailed: Runs a plan gave back to graphql-core.
    """

    def __init__(self, schema: GraphQLSchema, *, cache_size: int = 256) -> None:
        self.schema = schema
        self.cache_size = cache_size
        self._plans: OrderedDict[tuple[Any, ...], Plan | None] = OrderedDict()
        self._directive_variables: OrderedDict[str, tuple[str, ...]] = OrderedDict()
        self._prepared: OrderedDict[tuple[str, str | None], Prepared | None] = OrderedDict()
        self._names = itertools.count()
        self._enum_names: dict[GraphQLEnumType, dict[Any, str]] = {}
        self.compiled = 0
        self.bailed = 0

    def prepared(
        self,
        query: str,
        document: DocumentNode,
        operation: OperationDefinitionNode,
        operation_name: str | None,
        executor_class: type[Any],
    ) -> Prepared | None:
        """The document's `operation` (the one `operation_name` selects, as graphql-core's
        `get_operation_ast` finds it), prepared once for its executors."""
        key = (query, operation_name)
        if key in self._prepared:
            self._prepared.move_to_end(key)
            return self._prepared[key]
        assert_valid_schema(self.schema)
        prepared = Prepared.of(self.schema, executor_class, document, operation)
        self._remember(self._prepared, key, prepared)
        return prepared

    def plan(self, query: str, document: DocumentNode, executor: Any) -> Plan | None:
        """The plan for `query`'s operation as the executor chose it (graphql-core's executor,
        built for the request: operation, fragments, coerced variables). None when the compiler
        does not cover the operation; the reference then runs it."""
        variables = self._directive_variables.get(query)
        if variables is None:
            variables = _directive_variables(document)
            self._remember(self._directive_variables, query, variables)
        operation = executor.operation
        coerced = executor.variable_values.coerced
        key = (
            query,
            operation.name.value if operation.name else None,
            *(coerced.get(name, Undefined) for name in variables),
        )
        if key in self._plans:
            self._plans.move_to_end(key)
            return self._plans[key]
        try:
            plan: Plan | None = self._compile(executor)
        except Exception:
            # Unsupported, or the selection itself is in error (an @include whose `if` is a null
            # variable): graphql-core runs it and, where there is one, reports the error.
            plan = None
        self._remember(self._plans, key, plan)
        return plan

    def _remember(self, cache: OrderedDict[Any, Any], key: Any, value: Any) -> None:
        cache[key] = value
        if len(cache) > self.cache_size:
            cache.popitem(last=False)

    # Compilation.

    def _compile(self, executor: Any) -> Plan:
        operation = executor.operation
        if operation.operation != OperationType.QUERY:
            raise Unsupported("only queries are compiled")
        root_type = self.schema.query_type
        assert root_type is not None
        # What collecting fields reads, and no more: a plan outlives the request it was made for.
        selection = _Selection(
            fragments=executor.fragments,
            variable_values=executor.variable_values,
            operation=operation,
        )
        grouped, _, _ = collect_fields(
            self.schema, selection.fragments, selection.variable_values, root_type, operation
        )
        permissions: list[ContextPermission] = []
        root = self._object(root_type, grouped, selection, permissions)
        return Plan(compiler=self, root=root, permissions=tuple(dict.fromkeys(permissions)))

    def _object(
        self,
        object_type: GraphQLObjectType,
        grouped: dict[str, FieldDetailsList],
        selection: _Selection,
        permissions: list[ContextPermission],
    ) -> _Object:
        """Generate `function(run, source, path)` for a selection on an object type: one local
        per field, read and completed in selection order, then one dict literal."""
        compiled = _Object()
        names: dict[str, Any] = {
            "Path": Path,
            "Bail": Bail,
            "Undefined": Undefined,
            "_awaitable": optimized_is_awaitable,
        }
        lines: list[str] = []
        entries: list[str] = []
        later: list[str] = []
        for index, (response_name, details) in enumerate(grouped.items()):
            node = details[0].node
            field_name = node.name.value
            value = f"v{index}"
            entries.append(f"{response_name!r}: {value}")
            if field_name == "__typename":
                lines.append(f"    {value} = {object_type.name!r}")
                continue
            if field_name.startswith("__"):
                raise Unsupported("introspection is not compiled")
            field_def = object_type.fields.get(field_name)
            if field_def is None:
                raise Unsupported(f"unknown field {field_name}")
            strawberry_field = _strawberry_field(field_def)
            complete, needs_path = self._completer(
                field_def.type, details, selection, permissions, (field_def, object_type)
            )
            names[f"c{index}"] = complete
            path = f"Path(path, {response_name!r}, {object_type.name!r})"
            read = _direct_read(strawberry_field, permissions)
            if read is not None:
                names[f"r{index}"] = read
                if read is getattr and _attribute_name(strawberry_field.python_name):
                    lines.append(f"    {value} = source.{strawberry_field.python_name}")
                elif read is strawberry_field.default_resolver:
                    lines.append(
                        f"    {value} = r{index}(source, {strawberry_field.python_name!r})"
                    )
                else:
                    lines.append(f"    {value} = r{index}(source)")
                named = get_nullable_type(field_def.type)
                parts = _OBJECT_PARTS.get(complete)
                if is_leaf_type(named) and named not in _BUILTIN_CHECKS:
                    lines.extend(self._leaf_inline(names, index, named, complete))
                elif parts is not None:
                    lines.extend(
                        _object_inline(
                            names, index, parts, complete, path if needs_path else "None"
                        )
                    )
                else:
                    lines.extend(
                        _complete_inline(
                            field_def.type, value, f"c{index}", path if needs_path else "None"
                        )
                    )
                compiled.needs_path |= needs_path
                continue
            # A field with a resolver of its own: called as graphql-core calls it.
            compiled.needs_path = True
            names[f"r{index}"] = _resolver_call(field_def, details, object_type)
            lines.append(f"    p{index} = {path}")
            lines.append(f"    {value} = r{index}(run, source, p{index})")
            lines.append(f"    if _awaitable({value}):")
            lines.append(
                f"        w{index} = run.later({response_name!r}, {value}, c{index}, p{index})"
            )
            lines.append(f"        {value} = None")
            lines.append("    else:")
            lines.append(f"        w{index} = None")
            lines.append(f"        {value} = c{index}(run, {value}, p{index})")
            later.append(f"    if w{index} is not None:\n        w{index}[0] = result")
        name = f"_{object_type.name}_{next(self._names)}"
        body = "\n".join(lines) or "    pass"
        source = f"def {name}(run, source, path):\n{body}\n    result = {{{', '.join(entries)}}}\n"
        source += "\n".join(later) + "\n    return result\n"
        exec(compile(source, f"<plan {name}>", "exec"), names)
        compiled.function = names[name]
        return compiled

    def _leaf_inline(
        self, names: dict[str, Any], index: int, leaf_type: Any, complete: Completer
    ) -> list[str]:
        """Lines completing a basic field of an enum or custom scalar type: a value of the class
        the field's values have had so far goes straight to the type's serializer (the full
        completer, whose checks only matter for None, Undefined and exceptions, would do just
        that); any other value takes the full completer, which learns its class."""
        value, known, coerce, full = f"v{index}", f"T{index}", f"s{index}", f"c{index}"
        names[known] = _Unseen
        names[coerce] = self._leaf(leaf_type)

        def learning(run: Run, given: Any, path: Path | None) -> Any:
            completed = complete(run, given, path)
            kind = given.__class__
            ordinary = kind is not type(None) and kind is not type(Undefined)
            if ordinary and not issubclass(kind, BaseException):
                names[known] = kind
            return completed

        names[full] = learning
        memo = self._enum_names.get(leaf_type)
        if memo is not None:
            # An enum member's name straight from the memo `_leaf` keeps, the call on a miss.
            names[f"m{index}"] = memo
            return [
                f"    if {value}.__class__ is {known}:",
                f"        n{index} = m{index}.get({value})",
                f"        if n{index} is None:",
                f"            n{index} = {coerce}({value})",
                f"            if n{index} is None or n{index} is Undefined:",
                "                raise Bail",
                f"        {value} = n{index}",
                "    else:",
                f"        {value} = {full}(run, {value}, None)",
            ]
        return [
            f"    if {value}.__class__ is {known}:",
            f"        {value} = {coerce}({value})",
            f"        if {value} is None or {value} is Undefined:",
            "            raise Bail",
            "    else:",
            f"        {value} = {full}(run, {value}, None)",
        ]

    def _completer(
        self,
        return_type: GraphQLOutputType,
        details: FieldDetailsList,
        selection: _Selection,
        permissions: list[ContextPermission],
        owner: tuple[GraphQLField, GraphQLObjectType],
    ) -> tuple[Completer, bool]:
        """`complete(run, value, path)` for a value of the field `owner` (its definition and
        parent type) of type `return_type`, as graphql-core's `complete_value` completes it,
        raising Bail wherever graphql-core would record an error; and whether it needs the path
        (resolvers and abstract types below it read one)."""
        if is_non_null_type(return_type):
            assert isinstance(return_type, GraphQLNonNull)
            inner, needs_path = self._completer(
                return_type.of_type, details, selection, permissions, owner
            )

            def complete_non_null(run: Run, value: Any, path: Path | None) -> Any:
                completed = inner(run, value, path)
                if completed is None:
                    raise Bail
                return completed

            _OBJECT_PARTS[complete_non_null] = _OBJECT_PARTS.get(inner)
            return complete_non_null, needs_path

        if is_list_type(return_type):
            assert isinstance(return_type, GraphQLList)
            item_type = return_type.of_type
            if isinstance(item_type, GraphQLNonNull) and isinstance(
                item_type.of_type, GraphQLObjectType
            ):
                return self._object_list(item_type.of_type, details, selection, permissions)
            item, needs_path = self._completer(
                return_type.of_type, details, selection, permissions, owner
            )

            def complete_list(run: Run, value: Any, path: Path | None) -> Any:
                if isinstance(value, Exception):
                    raise Bail
                if value is None or value is Undefined:
                    return None
                if not is_iterable(value) or hasattr(value, "__aiter__"):
                    raise Bail
                if needs_path:
                    return [item(run, each, Path(path, i, None)) for i, each in enumerate(value)]
                return [item(run, each, None) for each in value]

            return complete_list, needs_path

        if is_leaf_type(return_type):
            coerce = self._leaf(return_type)

            def complete_leaf(run: Run, value: Any, path: Path | None) -> Any:
                if isinstance(value, Exception):
                    raise Bail
                if value is None or value is Undefined:
                    return None
                coerced = coerce(value)
                if coerced is None or coerced is Undefined:
                    raise Bail
                return coerced

            return complete_leaf, False

        if is_abstract_type(return_type):
            assert isinstance(return_type, GraphQLAbstractType)
            return self._abstract(return_type, details, selection, owner), True

        if is_object_type(return_type):
            assert isinstance(return_type, GraphQLObjectType)
            function, is_type_of, needs_path = self._object_parts(
                return_type, details, selection, permissions
            )

            def complete_object(run: Run, value: Any, path: Path | None) -> Any:
                if isinstance(value, Exception):
                    raise Bail
                if value is None or value is Undefined:
                    return None
                if is_type_of is not None and not is_type_of(value, None):
                    raise Bail
                return function(run, value, path)

            _OBJECT_PARTS[complete_object] = (function, is_type_of)
            return complete_object, needs_path

        raise Unsupported(f"cannot complete {return_type}")

    def _object_list(
        self,
        object_type: GraphQLObjectType,
        details: FieldDetailsList,
        selection: _Selection,
        permissions: list[ContextPermission],
    ) -> tuple[Completer, bool]:
        """A list of non-null objects (a page's edges or nodes), each item completed in the loop
        itself: the same checks as a non-null object's completer, without two calls per item."""
        function, is_type_of, needs_path = self._object_parts(
            object_type, details, selection, permissions
        )

        def complete_object_list(run: Run, value: Any, path: Path | None) -> Any:
            if isinstance(value, Exception):
                raise Bail
            if value is None or value is Undefined:
                return None
            if not is_iterable(value) or hasattr(value, "__aiter__"):
                raise Bail
            completed = []
            for index, each in enumerate(value):
                if each is None or each is Undefined or isinstance(each, Exception):
                    raise Bail
                if is_type_of is not None and not is_type_of(each, None):
                    raise Bail
                completed.append(
                    function(run, each, Path(path, index, None) if needs_path else None)
                )
            return completed

        return complete_object_list, needs_path

    def _object_parts(
        self,
        object_type: GraphQLObjectType,
        details: FieldDetailsList,
        selection: _Selection,
        permissions: list[ContextPermission],
    ) -> tuple[Callable[[Run, Any, Path | None], dict[str, Any]], Any, bool]:
        """The compiled selection of an object type, its `is_type_of` (None when it has none)
        and whether the selection needs paths."""
        is_type_of = object_type.is_type_of
        if is_type_of is not None and not _ignores_info(is_type_of):
            raise Unsupported(f"{object_type.name}.is_type_of may read the resolve info")
        grouped, _, _ = collect_subfields(
            self.schema,
            selection.fragments,
            selection.variable_values,
            selection.operation,
            object_type,
            details,
        )
        compiled = self._object(object_type, grouped, selection, permissions)
        assert compiled.function is not None
        return compiled.function, is_type_of, compiled.needs_path

    def _leaf(self, leaf_type: Any) -> Callable[[Any], Any]:
        coerce: Callable[[Any], Any] = leaf_type.coerce_output_value
        wrapped = getattr(leaf_type, "wrapped_cls", None)
        if not isinstance(leaf_type, GraphQLEnumType) or wrapped is None:
            return coerce
        # Strawberry serializes an enum member by scanning the type's values; the answer for a
        # member never changes, so each is asked once.
        names = self._enum_names.setdefault(leaf_type, {})

        def coerce_enum(value: Any) -> Any:
            if type(value) is wrapped:
                found = names.get(value)
                if found is None:
                    found = names[value] = coerce(value)
                return found
            return coerce(value)

        return coerce_enum

    def _abstract(
        self,
        abstract_type: GraphQLAbstractType,
        details: FieldDetailsList,
        selection: _Selection,
        owner: tuple[GraphQLField, GraphQLObjectType],
    ) -> Completer:
        """An interface value: its runtime type resolved as graphql-core does (with the field's
        resolve info), then the selection compiled for that type, once per type seen."""
        resolve_type = abstract_type.resolve_type
        if resolve_type is None:
            raise Unsupported(f"{abstract_type.name} has no resolve_type")
        # Per runtime type: its completer and the permissions its selection asks, which the
        # plan did not know up front and so are asked at each use.
        by_type: dict[str, tuple[Completer, tuple[ContextPermission, ...]]] = {}
        schema = self.schema
        field_def, parent_type = owner
        nodes = [detail.node for detail in details]

        def complete_abstract(run: Run, value: Any, path: Path | None) -> Any:
            if isinstance(value, Exception):
                raise Bail
            if value is None or value is Undefined:
                return None
            # graphql-core resolves the type with the field's info, whose path is the field's
            # (a list's items share it).
            field_path = path
            while field_path is not None and isinstance(field_path.key, int):
                field_path = field_path.prev
            info = run.executor.build_resolve_info(field_def, nodes, parent_type, field_path)
            name = resolve_type(value, info, abstract_type)
            if not isinstance(name, str):
                raise Bail
            compiled = by_type.get(name)
            if compiled is None:
                runtime_type = schema.get_type(name)
                if not isinstance(runtime_type, GraphQLObjectType) or not schema.is_sub_type(
                    abstract_type, runtime_type
                ):
                    raise Bail
                found: list[ContextPermission] = []
                try:
                    complete, _ = self._completer(runtime_type, details, selection, found, owner)
                except Unsupported:
                    raise Bail from None
                compiled = by_type[name] = (complete, tuple(dict.fromkeys(found)))
            complete, guards = compiled
            if not all(permission.allows(run.context) for permission in guards):
                raise Bail
            return complete(run, value, path)

        return complete_abstract


# The compiled selection and `is_type_of` behind an object's completer (and a non-null one's),
# so that a plan can call the selection directly (`_object_inline`).
_OBJECT_PARTS: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()


def _object_inline(
    names: dict[str, Any], index: int, parts: tuple[Any, Any], complete: Completer, path: str
) -> list[str]:
    """Lines completing a basic field of an object type: a value of the class the field's values
    have had so far (so neither None, Undefined nor an exception) that passes `is_type_of` goes
    straight to the compiled selection, as the full completer would send it; any other value
    takes the full completer, which learns its class."""
    value, known = f"v{index}", f"K{index}"
    function, is_type_of = parts
    names[known] = _Unseen
    names[f"F{index}"] = function
    names[f"I{index}"] = is_type_of

    def learning(run: Run, given: Any, path: Path | None) -> Any:
        completed = complete(run, given, path)
        kind = given.__class__
        if completed is not None and not issubclass(kind, BaseException):
            names[known] = kind
        return completed

    names[f"c{index}"] = learning
    check = f"{value}.__class__ is {known}"
    if is_type_of is not None:
        check += f" and I{index}({value}, None)"
    return [
        f"    if {check}:",
        f"        {value} = F{index}(run, {value}, {path})",
        "    else:",
        f"        {value} = c{index}(run, {value}, {path})",
    ]


class _Unseen:
    """The class no value has: a leaf's fast path stays closed until a value was completed."""


# Built-in scalars whose values of one Python type serialize to themselves.
_BUILTIN_CHECKS: dict[Any, str] = {
    GraphQLString: "str",
    GraphQLID: "str",
    GraphQLBoolean: "bool",
}


def _complete_inline(
    return_type: GraphQLOutputType, value: str, complete: str, path: str
) -> list[str]:
    """Lines completing a basic field's value: the exact shortcut for a str, bool or None of a
    built-in scalar where there is one, the full completer otherwise."""
    non_null = is_non_null_type(return_type)
    named = return_type.of_type if isinstance(return_type, GraphQLNonNull) else return_type
    builtin = _BUILTIN_CHECKS.get(named)
    if builtin is None:
        return [f"    {value} = {complete}(run, {value}, {path})"]
    check = f"type({value}) is {builtin}"
    if non_null:
        return [f"    if not ({check}):", f"        {value} = {complete}(run, {value}, {path})"]
    return [
        f"    if {value} is not None and not ({check}):",
        f"        {value} = {complete}(run, {value}, {path})",
    ]


def _attribute_name(name: str) -> bool:
    """Whether `source.<name>` is valid Python (so `getattr(source, name)` can be written so)."""
    return name.isidentifier() and not keyword.iskeyword(name)


def _strawberry_field(field_def: GraphQLField) -> StrawberryField:
    found = (field_def.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
    if not isinstance(found, StrawberryField):
        raise Unsupported("not a Strawberry field")
    return found


def _direct_read(
    strawberry_field: StrawberryField, permissions: list[ContextPermission]
) -> Callable[..., Any] | None:
    """How to read a field without a resolve info, when Strawberry itself needs none for it:
    its default resolver (called with the source and the field's Python name) for a field
    without a resolver, or the resolver's own function (called with the source, as Strawberry
    passes `self`) for a synchronous resolver of `self` alone. Either way with no extension but
    permissions that depend on the caller alone, collected into `permissions` and asked once per
    run. None for any other field, which is called as graphql-core calls it."""
    resolver = strawberry_field.base_resolver
    if resolver is not None and (
        resolver.is_async
        or resolver.self_parameter is None
        or resolver.arguments
        or resolver.info_parameter is not None
        or resolver.root_parameter is not None
        or resolver.parent_parameter is not None
    ):
        return None
    guards: list[ContextPermission] = []
    for extension in strawberry_field.extensions:
        if not isinstance(extension, PermissionExtension) or extension.fail_silently:
            return None
        for permission in extension.permissions:
            if not isinstance(permission, ContextPermission):
                return None
            guards.append(permission)
    permissions.extend(guards)
    if resolver is not None:
        function = resolver.wrapped_func
        return function if callable(function) else None
    return strawberry_field.default_resolver


def _resolver_call(
    field_def: GraphQLField, details: FieldDetailsList, parent_type: GraphQLObjectType
) -> Callable[[Run, Any, Path], Any]:
    """Call a field's own resolver as graphql-core's `execute_field` does: a resolve info for the
    field and its path, and the arguments coerced from the document and the variables."""
    resolve = field_def.resolve
    if resolve is None:
        raise Unsupported("a field without a resolver")
    nodes = [detail.node for detail in details]
    first = details[0]
    has_arguments = bool(field_def.args or first.node.arguments)

    def call(run: Run, source: Any, path: Path) -> Any:
        executor = run.executor
        info = executor.build_resolve_info(field_def, nodes, parent_type, path)
        if not has_arguments:
            return resolve(source, info)
        arguments = get_argument_values(
            field_def,
            first.node,
            executor.variable_values,
            first.fragment_variable_values,
            executor.hide_suggestions,
        )
        return resolve(source, info, **arguments)

    return call


def _ignores_info(is_type_of: Callable[..., Any]) -> bool:
    # Strawberry generates `is_type_of(obj, _info)` for types that implement an interface; it
    # reads the object only. Anyone else's may read the info, which a plan does not build.
    return is_type_of.__qualname__.endswith("_get_is_type_of.<locals>.is_type_of")


def _directive_variables(document: DocumentNode) -> tuple[str, ...]:
    """Variables the document's @skip/@include directives read: collecting fields depends on
    their values, so each set of values gets a plan of its own."""
    found: dict[str, None] = {}

    class Directives(Visitor):
        def enter_directive(self, node: DirectiveNode, *_: Any) -> None:
            if node.name.value in ("skip", "include"):
                for argument in node.arguments or ():
                    if isinstance(argument.value, VariableNode):
                        found[argument.value.name.value] = None

    visit(document, Directives())
    return tuple(found)


__all__ = ["Bail", "Compiler", "GraphQLError", "Plan"]
