"""One request, sent to the server of each execution mode, and the comparison of the two answers.

An answer is compared as the client sees it: the HTTP status, the `Content-Type` header and the
JSON body once parsed. The body is compared as JSON re-serialized in its own key order, so `1`,
`1.0` and `true` differ, and so do the same keys in another order (GraphQL orders a response's
keys as the document selects them). Headers that name the request (`Request-Id`) differ on every
call, and are not part of the comparison.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from typing import Any

import httpx

GRAPHQL_RESPONSE = "application/graphql-response+json"


@dataclass(frozen=True)
class Request:
    """A request to `/graphql`, sent unchanged to both servers.

    Attributes:
        query: The GraphQL document.
        variables: The `variables` member; None leaves it out.
        operation_name: The `operationName` member; None leaves it out.
        key: The bearer credential (an API key or a client secret); None sends no Authorization.
        method: POST (a JSON body) or GET (the members as query parameters).
        accept: The Accept header; None sends httpx's default (`*/*`).
    """

    query: str
    variables: dict[str, Any] | None = None
    operation_name: str | None = None
    key: str | None = None
    method: str = "POST"
    accept: str | None = None

    def describe(self) -> str:
        """The request for a failure message; the key is shown by its prefix only."""
        key = "none" if self.key is None else self.key[:8] + "…"
        lines = [f"{self.method} /graphql  key={key}  accept={self.accept}", self.query]
        if self.variables is not None:
            lines.append(f"variables: {json.dumps(self.variables, ensure_ascii=False)}")
        if self.operation_name is not None:
            lines.append(f"operationName: {self.operation_name!r}")
        return "\n".join(lines)


@dataclass(frozen=True)
class Reply:
    """What a client sees of a response."""

    status: int
    content_type: str
    body: Any
    is_json: bool = True

    @property
    def data(self) -> Any:
        return self.body.get("data") if isinstance(self.body, dict) else None

    @property
    def errors(self) -> list[dict[str, Any]]:
        errors = self.body.get("errors", []) if isinstance(self.body, dict) else []
        return errors if isinstance(errors, list) else []

    @property
    def codes(self) -> list[str | None]:
        """The `extensions.code` of each top-level error, in order (None where it is missing)."""
        return [(error.get("extensions") or {}).get("code") for error in self.errors]

    def render(self) -> str:
        """The reply as text, one JSON line per value, so that two replies diff readably."""
        body = json.dumps(self.body, indent=2, ensure_ascii=False) if self.is_json else self.body
        return f"status: {self.status}\ncontent-type: {self.content_type}\n{body}"


def data_of(reply: Reply) -> Any:
    """The data of a 200 reply without errors; fails, showing the reply, for any other."""
    assert reply.status == 200 and not reply.errors and reply.data is not None, reply.render()
    return reply.data


def reply_of(response: httpx.Response) -> Reply:
    content_type = response.headers.get("content-type", "")
    try:
        return Reply(response.status_code, content_type, response.json())
    except ValueError:
        return Reply(response.status_code, content_type, response.text, is_json=False)


def assert_same(reference: Reply, compiled: Reply, *, request: str) -> None:
    """Fail unless the two replies are identical, showing the request and a diff.

    Raises:
        AssertionError: the status, content type or body differ.
    """
    expected, actual = reference.render(), compiled.render()
    if expected == actual:
        return
    diff = "\n".join(
        difflib.unified_diff(
            expected.splitlines(), actual.splitlines(), "reference", "compiled", lineterm=""
        )
    )
    raise AssertionError(
        f"the execution modes answered differently\n--- request\n{request}\n--- diff\n{diff}"
    )


def _send(client: httpx.Client, request: Request) -> httpx.Response:
    headers = {}
    if request.key is not None:
        headers["Authorization"] = f"Bearer {request.key}"
    if request.accept is not None:
        headers["Accept"] = request.accept
    if request.method == "GET":
        params = {"query": request.query}
        if request.variables is not None:
            params["variables"] = json.dumps(request.variables)
        if request.operation_name is not None:
            params["operationName"] = request.operation_name
        return client.get("/graphql", params=params, headers=headers)
    body: dict[str, Any] = {"query": request.query}
    if request.variables is not None:
        body["variables"] = request.variables
    if request.operation_name is not None:
        body["operationName"] = request.operation_name
    return client.post("/graphql", json=body, headers=headers)


@dataclass
class Twins:
    """HTTP clients of the two servers, one per execution mode, over one database."""

    reference: httpx.Client
    compiled: httpx.Client

    def send(self, request: Request) -> Reply:
        """Send `request` to the reference server, then to the compiled one.

        Returns:
            The (identical) reply, for the caller to check what the case is about.

        Raises:
            AssertionError: the two replies differ (see `assert_same`).
        """
        reference = reply_of(_send(self.reference, request))
        compiled = reply_of(_send(self.compiled, request))
        assert_same(reference, compiled, request=request.describe())
        return reference

    def post(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        key: str | None,
        operation_name: str | None = None,
        accept: str | None = None,
    ) -> Reply:
        """POST a document to both servers; the reply both gave."""
        return self.send(Request(query, variables, operation_name, key, "POST", accept))

    def get(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        key: str | None,
        operation_name: str | None = None,
        accept: str | None = None,
    ) -> Reply:
        """GET `/graphql?query=…` from both servers; the reply both gave."""
        return self.send(Request(query, variables, operation_name, key, "GET", accept))
