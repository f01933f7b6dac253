"""Stripe's request parameters: form bodies and query strings in its bracket syntax.

    metadata[k]=v                              {"metadata": {"k": "v"}}
    options[document][allowed_types][0]=id_card {"options": {"document": {"allowed_types": ["id_card"]}}}
    expand[]=verified_outputs                  {"expand": ["verified_outputs"]}
    created[gte]=1700000000                    {"created": {"gte": "1700000000"}}

Values stay strings, as Stripe's SDKs send them; the handlers read them with the typed getters
below, which name the parameter and the rule when a value does not fit.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from app.rest.errors import StripeError

_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)\Z")
_PART = re.compile(r"\[([^\[\]]*)\]")
# Maps whose keys are the client's own, digits and the empty string included.
FREE_KEYS = frozenset({"metadata"})
# Far past what any of our parameters nests (options[document][allowed_types][0] is four).
MAX_DEPTH = 5


def parse(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """Nested parameters from `(name, value)` pairs in Stripe's bracket syntax. Numeric indexes
    and `[]` make lists (in index order); anything else makes maps. Right under a root in
    FREE_KEYS every part is a key: `metadata[0]=v` is the key "0", as an SDK sends it.

    Raises:
        StripeError: a name that is not bracket syntax, or one that nests too deep.
    """
    tree: dict[str, Any] = {}
    for name, value in pairs:
        match = _KEY.match(name)
        if match is None:
            raise invalid(name, f"Invalid parameter name: {name[:100]!r}.")
        parts = [match[1], *_PART.findall(match[2])]
        if len(parts) > MAX_DEPTH:
            raise invalid(match[1], f"`{name[:100]}` nests deeper than {MAX_DEPTH} levels.")
        node: Any = tree
        for index, part in enumerate(parts[:-1]):
            child_is_list = not (index == 0 and part in FREE_KEYS) and (
                parts[index + 1] == "" or _is_index(parts[index + 1])
            )
            node = _child(node, part, [] if child_is_list else {}, name)
        _set(node, parts[-1], value, name)
    result: dict[str, Any] = _lists(tree)
    return result


def _child(node: Any, part: str, empty: Any, name: str) -> Any:
    if isinstance(node, list):
        _index(part, name)
        node.append(empty)  # `a[][b]`: each item a new map
        return empty
    found = node.setdefault(part, empty)
    if type(found) is not type(empty):
        raise invalid(_root(name), f"`{name[:100]}` mixes a value and nested parameters.")
    return found


def _set(node: Any, part: str, value: str, name: str) -> None:
    if isinstance(node, list):
        node.append((_index(part, name), value))
        return
    if part in node:
        raise invalid(_root(name), f"`{name[:100]}` is given more than once.")
    node[part] = value


def _index(part: str, name: str) -> int:
    """A list item's place: `[3]`, or `[]` for the end. A name in a list is refused."""
    if part and not _is_index(part):
        raise invalid(_root(name), f"`{name[:100]}` mixes list indexes and names.")
    return int(part) if part else 1 << 62


def _is_index(part: str) -> bool:
    """ASCII digits only: `str.isdigit` also admits characters such as "²", which `int` cannot
    read, and other scripts' digits, which Stripe reads as names."""
    return part.isascii() and part.isdigit()


def _lists(node: Any) -> Any:
    """Lists collected as (index, value) pairs, in index order."""
    if isinstance(node, dict):
        return {key: _lists(value) for key, value in node.items()}
    if isinstance(node, list):
        items = [item[1] if isinstance(item, tuple) else item for item in sorted(node, key=_order)]
        return [_lists(item) for item in items]
    return node


def _order(item: Any) -> int:
    return item[0] if isinstance(item, tuple) else 0


def _root(name: str) -> str:
    return name.split("[", 1)[0]


def invalid(param: str, message: str, code: str | None = None) -> StripeError:
    return StripeError(400, "invalid_request_error", message, param=param, code=code)


def check_known(params: Mapping[str, Any], known: Iterable[str], *, prefix: str = "") -> None:
    """Raises StripeError (`parameter_unknown`) for the first parameter not in `known`."""
    allowed = set(known)
    for name in params:
        if name not in allowed:
            full = f"{prefix}[{name}]" if prefix else name
            raise invalid(full, f"Received unknown parameter: {full}", "parameter_unknown")


def string(params: Mapping[str, Any], name: str, *, prefix: str = "") -> str | None:
    value = params.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        full = f"{prefix}[{name}]" if prefix else name
        raise invalid(full, f"Invalid string: `{full}` must be a string, not nested parameters.")
    return value


def boolean(params: Mapping[str, Any], name: str, *, prefix: str = "") -> bool | None:
    value = params.get(name)
    if value is None:
        return None
    if value not in ("true", "false"):
        full = f"{prefix}[{name}]" if prefix else name
        raise invalid(full, f"Invalid boolean: {str(value)[:100]!r} (true or false).")
    return bool(value == "true")


def mapping(params: Mapping[str, Any], name: str) -> dict[str, Any] | None:
    """A nested map; None when absent. The empty string (`metadata=`) is `{}`: Stripe's way to
    send an empty map."""
    value = params.get(name)
    if value is None:
        return None
    if value == "":
        return {}
    if not isinstance(value, dict):
        raise invalid(name, f"Invalid object: `{name}` must be given as `{name}[key]=value`.")
    return value


def integer(params: Mapping[str, Any], name: str, *, low: int, high: int) -> int | None:
    value = params.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not re.fullmatch(r"-?[0-9]{1,12}", value):
        raise invalid(name, f"Invalid integer: {str(value)[:100]}", "parameter_invalid_integer")
    number = int(value)
    if not low <= number <= high:
        raise invalid(
            name,
            f"`{name}` must be between {low} and {high}, got {number}.",
            "parameter_invalid_integer",
        )
    return number


def timestamp(value: Any, name: str) -> datetime:
    if not isinstance(value, str) or not re.fullmatch(r"[0-9]{1,11}", value):
        raise invalid(
            name,
            f"Invalid integer: {str(value)[:100]} (a unix timestamp).",
            "parameter_invalid_integer",
        )
    return datetime.fromtimestamp(int(value), UTC)


def created_range(params: Mapping[str, Any], name: str = "created") -> dict[str, Any]:
    """`created=T` (exactly that second) or `created[gt|gte|lt|lte]=T`, as created bounds."""
    value = params.get(name)
    if value is None:
        return {}
    if isinstance(value, str):
        second = timestamp(value, name)
        return {
            "created_gte": second,
            "created_lt": datetime.fromtimestamp(second.timestamp() + 1, UTC),
        }
    if not isinstance(value, dict):
        raise invalid(name, f"Invalid `{name}`: a unix timestamp or created[gt|gte|lt|lte].")
    check_known(value, ("gt", "gte", "lt", "lte"), prefix=name)
    return {f"created_{op}": timestamp(bound, f"{name}[{op}]") for op, bound in value.items()}


def expand(params: Mapping[str, Any]) -> set[str]:
    value = params.get("expand")
    if value is None:
        return set()
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise invalid("expand", "Invalid array: pass `expand[]=field` once per field.")
    return set(value)
