"""Stripe's list parameters and reply, for every list endpoint: `limit` 1..100 (default 10),
`starting_after` / `ending_before` naming an object of the list (not both), newest first, and
`{object: "list", data, has_more, url}`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from app.pagination import PageRequest, page_request
from app.rest import params
from app.rest.errors import no_such
from app.services import Page

LIST_PARAMS = ("limit", "starting_after", "ending_before", "expand")


@dataclass(frozen=True)
class Window:
    """Which page of a list a request asks for."""

    limit: int
    starting_after: str | None
    ending_before: str | None

    @property
    def forward(self) -> bool:
        return self.ending_before is None

    async def page(
        self,
        cursor_of: Callable[[str], Awaitable[str | None]],
        *,
        decode: Callable[..., Any] | None = None,
    ) -> PageRequest:
        """The keyset page; `cursor_of(id)` is the cursor of the named object, None when the
        caller cannot see it, and `decode` reads such a cursor (the list's own kind).

        Raises:
            StripeError: the named object does not exist for the caller.
        """
        name, anchor = (
            ("starting_after", self.starting_after)
            if self.forward
            else ("ending_before", self.ending_before)
        )
        cursor = None
        if anchor is not None:
            cursor = await cursor_of(anchor)
            if cursor is None:
                raise no_such("object", anchor, param=name, status=400)
        if self.forward:
            return page_request(
                first=self.limit, after=cursor, last=None, before=None, decode=decode
            )
        return page_request(first=None, after=None, last=self.limit, before=cursor, decode=decode)

    def has_more(self, page: Page[Any]) -> bool:
        """More objects in the direction of travel: older ones going forward, newer ones going
        back from `ending_before`."""
        return bool(page.has_next_page if self.forward else page.has_previous_page)


def window(given: dict[str, Any]) -> Window:
    after = params.string(given, "starting_after")
    before = params.string(given, "ending_before")
    if after is not None and before is not None:
        raise params.invalid(
            "ending_before",
            "You may only specify one of these parameters: ending_before, starting_after.",
        )
    limit = params.integer(given, "limit", low=1, high=100)
    return Window(limit=10 if limit is None else limit, starting_after=after, ending_before=before)


def list_object(url: str, data: list[dict[str, Any]], has_more: bool) -> dict[str, Any]:
    return {"object": "list", "data": data, "has_more": has_more, "url": url}


def list_expand(given: dict[str, Any], expandable: frozenset[str]) -> set[str]:
    """A list expands its items' attributes as `data.<attribute>`."""
    inner = set()
    for name in sorted(params.expand(given)):
        if not name.startswith("data.") or name[5:] not in expandable:
            raise params.invalid("expand", f"This property cannot be expanded ({name[:100]}).")
        inner.add(name[5:])
    return inner


def object_expand(given: dict[str, Any], expandable: frozenset[str]) -> set[str]:
    expand = params.expand(given)
    for name in sorted(expand - expandable):
        raise params.invalid("expand", f"This property cannot be expanded ({name[:100]}).")
    return expand
