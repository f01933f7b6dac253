"""Compiled plans on a small schema of their own, against Strawberry's graphql-core execution: the
same data where a plan answers, and no answer (the caller then asks graphql-core) wherever the
answer would carry an error. No database; the gateway's own schema is compared end to end in
tests/differential."""

from __future__ import annotations

import asyncio
from enum import Enum
from typing import Any

import pytest
import strawberry
from graphql import parse
from strawberry.execution.is_awaitable import optimized_is_awaitable
from strawberry.types import Info

from app.schema.compiler import Compiler
from app.schema.permissions import ContextPermission
from app.settings import Settings, SettingsError


class OnlyFriends(ContextPermission):
    message = "friends only"

    def allows(self, context: Any) -> bool:
        return bool(context.get("friend"))


@strawberry.enum
class Colour(Enum):
    RED = "red"
    BLUE = "blue"


@strawberry.interface
class Named:
    name: str


@strawberry.type
class Pet(Named):
    colour: Colour
    age: int | None
    secret: str = strawberry.field(permission_classes=[OnlyFriends], default="bone")

    @strawberry.field
    def shout(self) -> str:
        return self.name.upper()

    @strawberry.field
    async def later(self, info: Info, times: int = 2) -> list[str]:
        await asyncio.sleep(0)
        return [self.name] * times


@strawberry.type
class Owner(Named):
    pets: list[Pet]
    best: Pet | None


PETS = [Pet(name="rex", colour=Colour.RED, age=3), Pet(name="tom", colour=Colour.BLUE, age=None)]


@strawberry.type
class Query:
    @strawberry.field
    async def owner(self, name: str = "ann") -> Owner:
        return Owner(name=name, pets=PETS, best=PETS[0])

    @strawberry.field
    def things(self) -> list[Named]:
        return [PETS[1], Owner(name="bob", pets=[], best=None)]

    @strawberry.field
    def broken(self) -> Pet | None:
        raise RuntimeError("no pet today")

    @strawberry.field
    def nothing(self) -> Pet:
        return None  # type: ignore[return-value]


CALLS: list[str] = []


@strawberry.type
class Mutation:
    @strawberry.mutation
    def adopt(self, name: str) -> Pet:
        CALLS.append(name)
        return Pet(name=name, colour=Colour.RED, age=0)


SCHEMA = strawberry.Schema(query=Query, mutation=Mutation, types=[Pet, Owner])


async def compiled(
    compiler: Compiler, query: str, variables: dict[str, Any] | None, context: Any
) -> dict[str, Any] | None:
    document = parse(query)
    executor = SCHEMA.execution_context_class.build(
        SCHEMA._schema,
        document,
        context_value=context,
        raw_variable_values=variables,
        is_awaitable=optimized_is_awaitable,  # type: ignore[arg-type]
        operation_extensions=None,
    )
    assert not isinstance(executor, list)
    plan = compiler.plan(query, document, executor)
    return None if plan is None else await plan.run(executor)


def direct_compiler() -> Compiler:
    """A compiler that calls resolvers directly where Strawberry's wrapper would add nothing
    (as the gateway's does: this schema has no exception handlers either)."""
    return Compiler(SCHEMA._schema, config=SCHEMA.config, exception_handlers=())


def both(
    query: str,
    variables: dict[str, Any] | None = None,
    context: Any = None,
    *,
    direct: bool = True,
) -> tuple[dict[str, Any] | None, Any]:
    compiler = direct_compiler() if direct else Compiler(SCHEMA._schema)
    context = {"friend": True} if context is None else context

    async def go() -> tuple[dict[str, Any] | None, Any]:
        # Twice: the first run learns classes and enum names, the second takes the fast paths.
        await compiled(compiler, query, variables, context)
        mine = await compiled(compiler, query, variables, context)
        reference = await SCHEMA.execute(query, variable_values=variables, context_value=context)
        return mine, reference

    return asyncio.run(go())


EVERYTHING = """
query Everything($name: String, $times: Int = 1, $withAge: Boolean!) {
  __typename
  owner(name: $name) {
    __typename name
    pets { name colour age @include(if: $withAge) shout secret later(times: $times) }
    best { ...PetFields alias: name }
  }
  things { __typename name ... on Pet { colour } ... on Owner { pets { name } } }
}
fragment PetFields on Pet { colour shout }
"""


@pytest.mark.parametrize("direct", [True, False])
@pytest.mark.parametrize("with_age", [True, False])
def test_a_plan_answers_what_graphql_core_answers(with_age: bool, direct: bool) -> None:
    mine, reference = both(EVERYTHING, {"name": "cy", "withAge": with_age}, direct=direct)
    assert reference.errors is None
    assert mine == reference.data
    assert list(mine["owner"]) == list(reference.data["owner"])  # the keys' order too


def test_an_error_in_a_nullable_field_is_left_to_graphql_core() -> None:
    mine, reference = both("{ owner { name } broken { name } }")
    assert mine is None
    assert reference.data == {"owner": {"name": "ann"}, "broken": None}
    assert reference.errors[0].message == "no pet today"


def test_a_null_in_a_non_null_field_is_left_to_graphql_core() -> None:
    mine, reference = both("{ nothing { name } }")
    assert mine is None
    assert reference.data is None
    assert "Cannot return null" in reference.errors[0].message


def test_a_refused_context_permission_is_left_to_graphql_core() -> None:
    mine, reference = both("{ owner { pets { secret } } }", context={"friend": False})
    assert mine is None
    assert {error.message for error in reference.errors} == {"friends only"}


def test_a_context_permission_defines_allows_not_has_permission() -> None:
    with pytest.raises(TypeError, match="allows"):

        class Wrong(ContextPermission):
            def has_permission(self, source: Any, info: Any, **kwargs: Any) -> bool:
                return True


def test_introspection_is_not_compiled() -> None:
    mine, reference = both("{ __schema { queryType { name } } }")
    assert mine is None
    assert reference.data == {"__schema": {"queryType": {"name": "Query"}}}


def test_a_mutation_is_not_compiled_so_it_runs_once() -> None:
    compiler = Compiler(SCHEMA._schema)
    CALLS.clear()
    # when
    mine = asyncio.run(compiled(compiler, 'mutation { adopt(name: "kit") { name } }', None, {}))
    # then: no plan, and its resolver never ran (the reference alone runs it)
    assert mine is None
    assert CALLS == []


def test_graphql_execution_names_its_variable_when_wrong() -> None:
    assert Settings.from_environ({}).graphql_execution == "compiled"
    assert Settings.from_environ({"GRAPHQL_EXECUTION": "reference"}).graphql_execution == (
        "reference"
    )
    with pytest.raises(SettingsError, match="GRAPHQL_EXECUTION must be one of compiled, reference"):
        Settings.from_environ({"GRAPHQL_EXECUTION": "fast"})


def test_resolvers_are_called_directly_only_where_the_wrapper_adds_nothing() -> None:
    from app.schema.compiler import _direct_call, _strawberry_field

    config = SCHEMA.config
    query, pet = SCHEMA._schema.query_type, SCHEMA._schema.get_type("Pet")
    assert query is not None
    owner = _direct_call(_strawberry_field(query.fields["owner"]), config)
    # `name: str` passes through Strawberry's conversion unchanged
    assert owner is not None and owner.plain == {"name": "name"}
    assert owner.kwargs({"name": "x"}) == {"name": "x"}
    # a permission is a field extension: the wrapper runs it
    assert _direct_call(_strawberry_field(pet.fields["secret"]), config) is None  # type: ignore[union-attr]
    # without the schema's config (or with exception handlers) the wrapper is always called
    assert _direct_call(_strawberry_field(query.fields["owner"]), None) is None
    assert (
        Compiler(SCHEMA._schema, config=config, exception_handlers=((Exception,),)).config is None
    )
