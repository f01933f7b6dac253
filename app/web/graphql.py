"""`/graphql` over HTTP, following the GraphQL-over-HTTP spec.

    GET  /graphql               a browser (Accept: text/html) gets the playground (GraphiQL)
    GET  /graphql?query=…       queries only; a mutation gets 405
    POST /graphql               JSON body {query, variables, operationName}; other bodies get 415

Instead of `query`, a request may name a persisted document: `documentId` (a trusted document)
or Apollo's `extensions.persistedQuery` hash, over GET as URL parameters too (see
`app.web.documents`). Every answer to a GET says `Cache-Control: private, no-store`: it depends on
the caller's key, so no shared cache may keep it, hashed URL or not.

Responses are JSON with status 200 and an `errors` list, except: 400 for a body that is not a
GraphQL request, 401 when no or a bad key was given for something that needs one, and, for clients
that accept `application/graphql-response+json`, 400 when the document fails to parse or validate.
An `errors` list holds at most MAX_ERRORS entries and, outside GATEWAY_ENV=development, no "Did you
mean" suggestion (they would map the schema for anyone guessing names).
"""

from __future__ import annotations

import json
import logging
import re
from functools import lru_cache
from typing import Any, NamedTuple

import orjson
from graphql import GraphQLError, GraphQLSyntaxError, OperationType, get_operation_ast
from graphql.validation import specified_rules
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send
from strawberry.exceptions import MissingQueryError
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType as StrawberryOperationType

from app import tracing
from app.db import Reader, database_fault
from app.domain.access import Principal
from app.logs import request_id
from app.metrics import Metrics, operation_type_of
from app.origin import ApiRequest, api_request
from app.schema import GatewaySchema
from app.schema.context import Context
from app.schema.errors import INTERNAL_MESSAGE, is_unexpected
from app.services import Database, accounts
from app.settings import Settings
from app.web.documents import DocumentError, Documents
from app.web.errors import DATABASE_MESSAGES, DatabaseFault, database_status
from app.web.idempotency import Idempotency
from app.web.persisted_queries import PersistedQueries
from app.web.playground import Playground
from app.web.ratelimit import RateLimiter
from app.web.requests import BodyTooLarge, read_body
from app.web.trusted_documents import TrustedDocuments

logger = logging.getLogger("app.graphql")

GRAPHQL_RESPONSE = "application/graphql-response+json"
_GET_OPERATIONS = {StrawberryOperationType.QUERY}
_POST_OPERATIONS = {StrawberryOperationType.QUERY, StrawberryOperationType.MUTATION}
# The rules Strawberry validates with (its ExecutionContext's default), so that both paths share
# the limiter's validation cache.
_VALIDATION_RULES = tuple(specified_rules)
# graphql-core's suggestions ("Did you mean 'a', 'b', or 'c'?") name parts of the schema; names
# cannot contain "?", so the first one ends the suggestion.
_SUGGESTION = re.compile(r"\s*Did you mean [^?]*\?")
# A GraphQL request's JSON nests a few levels (body, variables, input objects); far deeper JSON
# is refused at the door, as the json module, graphql-core and the idempotency fingerprint all
# recurse per level and would hit the interpreter's recursion limit (a 500) near 1,000 levels.
MAX_JSON_DEPTH = 64
_GET_HEADERS = {"Cache-Control": "private, no-store", "Vary": "Authorization, Accept"}


class RequestError(Exception):
    """The HTTP request is not a GraphQL request we can run."""

    def __init__(self, status: int, message: str, code: str = "BAD_REQUEST") -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code


class GraphQLEndpoint:
    """The ASGI view of the schema."""

    def __init__(
        self,
        *,
        schema: GatewaySchema,
        settings: Settings,
        engine: Any,
        reader: Reader,
        live_verifier_available: bool,
        rate_limiter: RateLimiter,
        idempotency: Idempotency,
        playground: Playground,
        trusted_documents: TrustedDocuments,
        metrics: Metrics | None = None,
    ) -> None:
        self.metrics = metrics
        self.schema = schema
        self.settings = settings
        self.database = Database(engine=engine, reader=reader)
        # Trusted documents stay parsed and validated however long they are.
        schema.limiter.trust(trusted_documents.bodies())
        self.documents = Documents(
            trusted=trusted_documents,
            persisted_queries=PersistedQueries(
                database=self.database, store_size=settings.apq_store_size
            ),
            limiter=schema.limiter,
            only=settings.persisted_documents == "only",
            development=settings.development,
        )
        self.live_verifier_available = live_verifier_available
        self.rate_limiter = rate_limiter
        self.idempotency = idempotency
        self.playground = playground

    async def asgi(self, scope: Scope, receive: Receive, send: Send) -> None:
        """`handle` as an ASGI application (see `app.main.Gateway`)."""
        response = await self.handle(Request(scope, receive))
        await response(scope, receive, send)

    async def handle(self, request: Request) -> Response:
        if request.method != "GET":
            return await self._handle(request)
        if _wants_html(request) and not _DOCUMENT_PARAMETERS.intersection(request.query_params):
            return self.playground.page()
        response = await self._handle(request)
        response.headers.update(_GET_HEADERS)
        return response

    async def _handle(self, request: Request) -> Response:
        accept = request.headers.get("accept", "")
        # Clients send the same few Accept headers; a long one is worked out every time.
        media_type = (
            _cached_media_type(accept) if len(accept) <= 256 else _response_media_type(accept)
        )
        try:
            fields = await _read_request(request, self.settings.max_body_bytes)
            variables, operation_name = fields.variables, fields.operation_name
            principal = await self._principal(request)
            limited = await self.rate_limiter.refuse(principal, media_type, request.scope)
            if limited is not None:
                return limited
            resolved = await self.documents.resolve(
                query=fields.query, document_id=fields.document_id, extensions=fields.extensions
            )
            query = resolved.query
            if resolved.register is not None and self._admits(
                query, operation_name, variables, request.method
            ):
                await self.documents.register(resolved.register, query)

            api_request.set(
                ApiRequest(
                    id=request_id.get(), idempotency_key=request.headers.get("idempotency-key")
                )
            )

            operation = self.schema.limiter.operation(query, operation_name)

            async def run() -> Response:
                execution = self._execute(request, query, variables, operation_name, principal)
                if tracing.operation_tracer is not None:
                    execution = tracing.operation(execution, operation)
                result = await execution
                for error in result.errors or ():
                    if (code := database_fault(error.original_error)) is not None:
                        # Nothing was committed: answer 503, and let a keyed retry run again.
                        raise DatabaseFault(code)
                if self.metrics is not None:
                    self.metrics.observe_graphql(operation_type_of(operation), result.errors)
                return self._response(result, media_type)

            # A keyed mutation may be answered from, or refused by, its Idempotency-Key.
            return await self.idempotency.respond(
                request,
                principal=principal,
                query=query,
                variables=variables,
                operation_name=operation_name,
                operation=operation,
                media_type=media_type,
                run=run,
            )
        except RequestError as error:
            # A refused credential counts as none: it must not buy unlimited guesses.
            if error.status == 401 and (
                limited := await self.rate_limiter.refuse(None, media_type, request.scope)
            ):
                return limited
            body = {"errors": [{"message": error.message, "extensions": {"code": error.code}}]}
            headers = {"Allow": "POST"} if error.status == 405 else None
            return _json(body, error.status, media_type, headers)
        except DocumentError as error:
            body = {"errors": [{"message": error.message, "extensions": {"code": error.code}}]}
            status = error.status or (400 if media_type == GRAPHQL_RESPONSE else 200)
            return _json(body, status, media_type)
        except Exception as error:
            code = error.code if isinstance(error, DatabaseFault) else database_fault(error)
            if code is None:
                raise
            logger.warning("GraphQL request refused: %s", code)
            # No `data`: the request did not complete and nothing of it was written.
            status, headers = database_status(code)
            body = {"errors": [{"message": DATABASE_MESSAGES[code], "extensions": {"code": code}}]}
            return _json(body, status, media_type, headers)

    def _admits(
        self,
        query: str,
        operation_name: str | None,
        variables: dict[str, Any] | None,
        method: str,
    ) -> bool:
        """Whether an APQ document may be stored: it parses, passes the limits and validates
        (all cached by text, so the execution that follows reuses them), and over GET its
        operation is a query (a mutation will be refused with 405)."""
        limiter = self.schema.limiter
        try:
            document = limiter.parse(query)
        except GraphQLError:
            return False
        if method == "GET":
            operation = get_operation_ast(document, operation_name)
            if operation is None or operation.operation != OperationType.QUERY:
                return False
        return not limiter.check(
            query=query,
            document=document,
            schema=self.schema._schema,
            rules=_VALIDATION_RULES,
            operation_name=operation_name,
            variables=variables or {},
        )

    async def _principal(self, request: Request) -> Principal | None:
        header = request.headers.get("authorization")
        if header is None:
            return None
        scheme, _, key = header.partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            raise RequestError(
                401, "The Authorization header must be `Bearer <key>`.", "UNAUTHENTICATED"
            )
        principal = await accounts.authenticate(self.database, key=key.strip())
        if principal is None:
            # The key itself is never echoed or logged.
            raise RequestError(401, "Invalid API key or client secret provided.", "UNAUTHENTICATED")
        return principal

    async def _execute(
        self,
        request: Request,
        query: str,
        variables: dict[str, Any] | None,
        operation_name: str | None,
        principal: Principal | None,
    ) -> ExecutionResult:
        def context() -> Context:
            return Context(
                database=self.database,
                settings=self.settings,
                principal=principal,
                live_verifier_available=self.live_verifier_available,
            )

        if self.settings.graphql_execution == "compiled":
            data = await self._compiled(query, variables, operation_name, context())
            if data is not None:
                return ExecutionResult(data=data, errors=None)
        try:
            return await self.schema.execute(
                query,
                variable_values=variables,
                context_value=context(),
                operation_name=operation_name,
                allowed_operation_types=_GET_OPERATIONS
                if request.method == "GET"
                else _POST_OPERATIONS,
            )
        except InvalidOperationTypeError as error:
            raise RequestError(
                405,
                "Mutations are not allowed over GET; send them with POST.",
                "METHOD_NOT_ALLOWED",
            ) from error
        except MissingQueryError as error:
            raise RequestError(400, "No GraphQL query found in the request.") from error
        except CannotGetOperationTypeError:
            # No operation of the document is the one asked for: a request error (no `data`),
            # worded as graphql-core words it.
            message = (
                f"Unknown operation named '{operation_name[:100]}'."
                if operation_name
                else "Must provide operation name if query contains multiple operations."
            )
            unknown = GraphQLError(message, extensions={"code": "OPERATION_RESOLUTION_FAILURE"})
            return ExecutionResult(data=None, errors=[unknown])

    async def _compiled(
        self,
        query: str,
        variables: dict[str, Any] | None,
        operation_name: str | None,
        context: Context,
    ) -> dict[str, Any] | None:
        """The data of a query that parses, passes the limits and validation and runs through its
        compiled plan without an error; None for everything else, which the reference path then
        answers (and, for errors, explains) exactly as it always has."""
        schema = self.schema
        try:
            document = schema.limiter.parse(query)
        except GraphQLError:
            return None
        operation = get_operation_ast(document, operation_name)
        if operation is None or operation.operation != OperationType.QUERY:
            return None
        if schema.limiter.check(
            query=query,
            document=document,
            schema=schema._schema,
            rules=_VALIDATION_RULES,
            operation_name=operation_name,
            variables=variables or {},
        ):
            return None
        prepared = schema.compiler.prepared(
            query, document, operation, operation_name, schema.execution_context_class
        )
        if prepared is None:
            return None
        executor = prepared.executor(
            context=context, variables=variables, operation_extensions=None
        )
        if executor is None:  # the variables do not fit their definitions
            return None
        plan = schema.compiler.plan(query, document, executor)
        return None if plan is None else await plan.run(executor)

    def _response(self, result: ExecutionResult, media_type: str) -> Response:
        errors = result.errors or []
        body: dict[str, Any] = {}
        if errors:
            body["errors"] = self._format_errors(errors)
        # Execution started (so `data` is present, perhaps null) unless every error is about the
        # request itself: a parse, validation or variable error, none of which has a path.
        executed = result.data is not None or not errors or any(e.path for e in errors)
        if executed:
            body["data"] = result.data
        status = 200
        if any(
            error["extensions"]["code"] == "UNAUTHENTICATED" for error in body.get("errors", [])
        ):
            status = 401
        elif media_type == GRAPHQL_RESPONSE and not executed:
            status = 400
        return _json(body, status, media_type)

    def _format_errors(self, errors: list[GraphQLError]) -> list[dict[str, Any]]:
        """At most MAX_ERRORS errors, the last one saying so when some were left out; outside
        development without "Did you mean" suggestions of any kind."""
        limit = self.settings.max_errors
        shown = errors if len(errors) <= limit else errors[: limit - 1]
        formatted = [_format_error(error) for error in shown]
        if len(errors) > limit:
            formatted.append(
                {
                    "message": f"Error count {len(errors)} exceeds the limit of {limit} "
                    f"(MAX_ERRORS): only the first {limit - 1} are listed.",
                    "extensions": {"code": "TOO_MANY_ERRORS"},
                }
            )
        if not self.settings.development:
            for error in formatted:
                error["message"] = _SUGGESTION.sub("", error["message"])
        return formatted


def _json(
    body: dict[str, Any], status: int, media_type: str, headers: dict[str, str] | None = None
) -> Response:
    """The response body serialized once, by orjson (compact UTF-8, as Starlette's JSONResponse
    writes it, several times faster)."""
    return Response(orjson.dumps(body), status_code=status, media_type=media_type, headers=headers)


def _format_error(error: GraphQLError) -> dict[str, Any]:
    if is_unexpected(error):
        return {
            "message": INTERNAL_MESSAGE,
            "locations": [loc._asdict() for loc in error.locations or ()],
            "path": error.path,
            "extensions": {"code": "INTERNAL_SERVER_ERROR"},
        }
    formatted: dict[str, Any] = dict(error.formatted)
    extensions = dict(formatted.get("extensions") or {})
    extensions.setdefault("code", _request_error_code(error))
    formatted["extensions"] = extensions
    return formatted


def _request_error_code(error: GraphQLError) -> str:
    if isinstance(error, GraphQLSyntaxError):
        return "GRAPHQL_PARSE_FAILED"
    if error.path is None and error.message.startswith("Variable '$"):
        return "BAD_USER_INPUT"
    return "GRAPHQL_VALIDATION_FAILED"


class _Fields(NamedTuple):
    """A request's parameters, their JSON types checked; the document is not chosen yet."""

    query: object
    document_id: object
    variables: dict[str, Any] | None
    operation_name: str | None
    extensions: dict[str, Any] | None


# URL parameters that name a document: a GET with none of them, from a browser, is the playground.
_DOCUMENT_PARAMETERS = frozenset({"query", "documentId", "extensions"})


async def _read_request(request: Request, max_body_bytes: int) -> _Fields:
    if request.method == "GET":
        params = request.query_params
        variables = (
            _json_object(params.get("variables"), "variables") if "variables" in params else None
        )
        extensions = (
            _json_object(params.get("extensions"), "extensions") if "extensions" in params else None
        )
        return _Fields(
            params.get("query"),
            params.get("documentId"),
            variables,
            params.get("operationName"),
            extensions,
        )
    if request.method != "POST":
        raise RequestError(405, "GraphQL accepts GET and POST only.", "METHOD_NOT_ALLOWED")
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise RequestError(
            415,
            "Send GraphQL requests as `Content-Type: application/json`.",
            "UNSUPPORTED_MEDIA_TYPE",
        )
    body = await _body(request, max_body_bytes)
    try:
        data = _loads(body)
    except (ValueError, UnicodeDecodeError):
        raise RequestError(400, "The request body is not valid JSON.") from None
    except RecursionError:
        raise _too_deep("The request body") from None
    # JSON cannot nest deeper than it has brackets: most bodies need no walk.
    if body.count(b"[") + body.count(b"{") > MAX_JSON_DEPTH and nests_deeper_than(
        data, MAX_JSON_DEPTH
    ):
        raise _too_deep("The request body")
    if isinstance(data, list):
        raise RequestError(
            400,
            "Batched requests (a JSON array) are not supported; send one operation per request.",
        )
    if not isinstance(data, dict):
        raise RequestError(400, "The request body must be a JSON object with a `query`.")
    variables = data.get("variables")
    if variables is not None and not isinstance(variables, dict):
        raise RequestError(400, "`variables` must be a JSON object.")
    operation_name = data.get("operationName")
    if operation_name is not None and not isinstance(operation_name, str):
        raise RequestError(400, "`operationName` must be a string.")
    extensions = data.get("extensions")
    if extensions is not None and not isinstance(extensions, dict):
        raise RequestError(400, "`extensions` must be a JSON object.")
    return _Fields(data.get("query"), data.get("documentId"), variables, operation_name, extensions)


async def _body(request: Request, limit: int) -> bytes:
    try:
        return await read_body(request, limit)
    except BodyTooLarge:
        raise RequestError(
            413,
            f"The request body is larger than {limit} bytes (MAX_BODY_BYTES).",
            "PAYLOAD_TOO_LARGE",
        ) from None


def _loads(body: bytes) -> Any:
    """`json.loads(body)`: by orjson, several times faster, for the JSON it reads alike; by
    `json` for anything orjson refuses (NaN, UTF-16, a byte-order mark, lone surrogates: what
    `json` alone accepts, and its errors, stay as they were) and for any run of 19 digits, as
    orjson reads an integer outside 64 bits as a float where `json` keeps it exact."""
    if _LONG_NUMBER.search(body) is None:
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError:
            pass
    data = json.loads(body)
    if _has_lone_surrogate(data):
        raise _lone_surrogate("The request body")
    return data


_LONG_NUMBER = re.compile(rb"\d{19}")


def _json_object(raw: str | None, name: str) -> dict[str, Any] | None:
    try:
        value = json.loads(raw) if raw else None
    except ValueError:
        raise RequestError(400, f"`{name}` must be a JSON object.") from None
    except RecursionError:
        raise _too_deep(f"`{name}`") from None
    if raw is not None and "\\u" in raw and _has_lone_surrogate(value):
        raise _lone_surrogate(f"`{name}`")
    if value is not None and not isinstance(value, dict):
        raise RequestError(400, f"`{name}` must be a JSON object.")
    if nests_deeper_than(value, MAX_JSON_DEPTH):
        raise _too_deep(f"`{name}`")
    return value


def nests_deeper_than(value: object, limit: int) -> bool:
    """True when arrays and objects in `value` nest more than `limit` levels (iteratively, so
    any depth can be measured)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > limit:
                return True
            stack.extend(
                (child, depth + 1) for child in (item.values() if isinstance(item, dict) else item)
            )
    return False


def _has_lone_surrogate(value: object) -> bool:
    """True when a string in `value` (a key included) holds half a UTF-16 surrogate pair, which
    `json` reads from an escape such as \\ud800 (orjson and GraphQL's own parser refuse it): no
    UTF-8 text can hold it, so no database could store it and no response could carry it."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if not item.isascii() and _SURROGATE.search(item):
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


_SURROGATE = re.compile("[\ud800-\udfff]")


def _lone_surrogate(what: str) -> RequestError:
    return RequestError(
        400,
        f"{what} holds a lone UTF-16 surrogate (an escape from \\ud800 to \\udfff without its "
        "pair), which is not Unicode text.",
    )


def _too_deep(what: str) -> RequestError:
    return RequestError(400, f"{what} nests JSON more than {MAX_JSON_DEPTH} levels deep.")


def _wants_html(request: Request) -> bool:
    return "text/html" in request.headers.get("accept", "")


def _response_media_type(accept: str) -> str:
    """The media type the Accept header rates higher of the two we serve (q-values as RFC 9110
    has them: a type takes the q of the most specific range matching it), preferring
    application/graphql-response+json on a tie only when it is named, so `*/*` gets
    application/json. Without an Accept header, or when it accepts neither, application/json:
    the GraphQL-over-HTTP spec lets a server disregard an Accept it cannot meet."""
    ranges = _accept_ranges(accept)
    graphql_named, graphql_q = _accept_quality(ranges, GRAPHQL_RESPONSE)
    _, json_q = _accept_quality(ranges, "application/json")
    if graphql_q > json_q or (graphql_named and graphql_q == json_q > 0):
        return GRAPHQL_RESPONSE
    return "application/json"


_cached_media_type = lru_cache(maxsize=256)(_response_media_type)


def _accept_ranges(accept: str) -> list[tuple[str, float]]:
    """The media ranges of an Accept header with their q-values; a malformed q counts as 0."""
    ranges = []
    for part in accept.split(","):
        media_range, *parameters = (piece.strip() for piece in part.split(";"))
        if not media_range:
            continue
        q = 1.0
        for parameter in parameters:
            name, _, value = parameter.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
                if not 0 <= q <= 1:  # also NaN
                    q = 0.0
        ranges.append((media_range.lower(), q))
    return ranges


def _accept_quality(ranges: list[tuple[str, float]], media_type: str) -> tuple[bool, float]:
    """Whether `media_type` is named outright, and its q: that of the most specific matching
    range (`type/subtype`, then `type/*`, then `*/*`); 0 when none matches."""
    wildcards = {f"{media_type.split('/')[0]}/*": 1, "*/*": 0}
    best_rank, best_q = -1, 0.0
    for media_range, q in ranges:
        rank = 2 if media_range == media_type else wildcards.get(media_range, -1)
        if rank > best_rank:
            best_rank, best_q = rank, q
    return best_rank == 2, best_q
