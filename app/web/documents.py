"""Which document a GraphQL request runs: its own text, a trusted document, or an APQ hash.

    {query}                                  the text; with PERSISTED_DOCUMENTS=only, refused
                                             unless it is a trusted document's text exactly (or,
                                             in development, introspection alone)
    {documentId}                             a trusted document (GraphQL-over-HTTP, Appendix A)
    {extensions.persistedQuery}              Apollo's automatic persisted queries: the document
                                             stored under the hash (trusted documents first)
    {query, extensions.persistedQuery}       the text, stored under the hash once it is checked

What goes wrong, each as one error (the status is for application/json; clients that accept
application/graphql-response+json get 400 where this says "request error"):

    PERSISTED_QUERY_NOT_FOUND      200, message `PersistedQueryNotFound`: Apollo's link resends
                                   the same request with `query`
    PERSISTED_QUERY_NOT_SUPPORTED  200, message `PersistedQueryNotSupported` (APQ_STORE_SIZE=0):
                                   the link stops sending hashes
    PERSISTED_DOCUMENT_NOT_FOUND   request error: no trusted document has that `documentId`
    PERSISTED_DOCUMENT_REQUIRED    request error: PERSISTED_DOCUMENTS=only and no trusted document
    BAD_USER_INPUT                 400: a hash that is not 64 lowercase hex digits, or not the
                                   hash of `query` (nothing is stored)
    BAD_REQUEST                    400: `documentId` malformed or sent with `query`,
                                   `persistedQuery` not `{"version": 1, "sha256Hash": …}`

Only mode refuses APQ registrations too, and its hash lookups see trusted documents only, so an
Apollo client built from the manifest keeps working while nothing new can be added.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from graphql import FieldNode, GraphQLError, OperationDefinitionNode

from app.domain.persisted import SHA256_HEX, document_id_problem, sha256_hex
from app.schema.limits import QueryLimiter
from app.web.persisted_queries import PersistedQueries
from app.web.trusted_documents import TrustedDocuments

_INTROSPECTION_FIELDS = frozenset({"__schema", "__type", "__typename"})
_NO_DOCUMENT = "The request must carry a GraphQL document in `query`."


class DocumentError(Exception):
    """The request names no document it may run. `status` None: 200 for application/json and
    400 for application/graphql-response+json, as for any request error."""

    def __init__(self, message: str, code: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status


@dataclass(frozen=True)
class Resolved:
    """The text to run, and the hash to store it under once it passes the limits (an APQ
    registration), if any."""

    query: str
    register: str | None = None


class Documents:
    """The request's document under one PERSISTED_DOCUMENTS mode."""

    def __init__(
        self,
        *,
        trusted: TrustedDocuments,
        persisted_queries: PersistedQueries,
        limiter: QueryLimiter,
        only: bool,
        development: bool,
    ) -> None:
        self.trusted = trusted
        self.persisted_queries = persisted_queries
        self.limiter = limiter
        self.only = only
        self.development = development

    async def resolve(
        self, *, query: object, document_id: object, extensions: dict[str, Any] | None
    ) -> Resolved:
        """The document the request runs.

        Raises:
            DocumentError: as the module docstring lists.
        """
        sha256 = _persisted_query_hash(extensions)
        if document_id is not None:
            return Resolved(self._trusted(document_id, query=query, sha256=sha256))
        if query is None and sha256 is not None:
            return Resolved(await self._stored(sha256))
        if not isinstance(query, str) or not query.strip():
            raise DocumentError(_NO_DOCUMENT, "BAD_REQUEST", status=400)
        text = query
        if sha256 is not None:
            if sha256_hex(text) != sha256:
                raise DocumentError(
                    f"`extensions.persistedQuery.sha256Hash` {sha256} is not the SHA-256 of "
                    "`query` (lowercase hex of its UTF-8); nothing was stored.",
                    "BAD_USER_INPUT",
                    status=400,
                )
            if self.trusted.by_hash(sha256) is not None:
                return Resolved(text)
            self._refuse_in_only_mode()
            return Resolved(text, register=sha256 if self.persisted_queries.enabled else None)
        if self.only and not (
            self.trusted.by_hash(sha256_hex(text)) is not None
            or (self.development and self._introspection_only(text))
        ):
            self._refuse_in_only_mode()
        return Resolved(text)

    async def register(self, sha256: str, query: str) -> None:
        await self.persisted_queries.register(sha256, query)

    async def close(self) -> None:
        await self.persisted_queries.close()

    def _trusted(self, document_id: object, *, query: object, sha256: str | None) -> str:
        if not isinstance(document_id, str):
            raise DocumentError("`documentId` must be a string.", "BAD_REQUEST", status=400)
        if query is not None or sha256 is not None:
            raise DocumentError(
                "`documentId` names the document: send it without `query` and without "
                "`extensions.persistedQuery`.",
                "BAD_REQUEST",
                status=400,
            )
        problem = document_id_problem(document_id)
        if problem is not None:
            raise DocumentError(f"`documentId` {problem}.", "BAD_REQUEST", status=400)
        document = self.trusted.by_document_id(document_id)
        if document is None:
            raise DocumentError(
                f"No trusted document has the id `{document_id}`.",
                "PERSISTED_DOCUMENT_NOT_FOUND",
            )
        return document.body

    async def _stored(self, sha256: str) -> str:
        document = self.trusted.by_hash(sha256)
        if document is not None:
            return document.body
        if not self.only:
            if not self.persisted_queries.enabled:
                raise DocumentError(
                    "PersistedQueryNotSupported", "PERSISTED_QUERY_NOT_SUPPORTED", status=200
                )
            found = await self.persisted_queries.find(sha256)
            if found is not None:
                return found
        # What Apollo's link waits for (message or code) before it resends with `query`.
        raise DocumentError("PersistedQueryNotFound", "PERSISTED_QUERY_NOT_FOUND", status=200)

    def _refuse_in_only_mode(self) -> None:
        if self.only:
            raise DocumentError(
                "This gateway runs trusted documents only (PERSISTED_DOCUMENTS=only): send the "
                "`documentId` of a document in its manifest instead of `query`.",
                "PERSISTED_DOCUMENT_REQUIRED",
            )

    def _introspection_only(self, text: str) -> bool:
        """Whether every operation of the document selects nothing but `__schema`, `__type` and
        `__typename` at its root (what GraphiQL asks to draw its docs and explorer panes)."""
        try:
            document = self.limiter.parse(text)
        except GraphQLError:
            return False
        operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
        return bool(operations) and all(
            isinstance(selection, FieldNode) and selection.name.value in _INTROSPECTION_FIELDS
            for operation in operations
            for selection in operation.selection_set.selections
        )


def _persisted_query_hash(extensions: dict[str, Any] | None) -> str | None:
    """The hash in `extensions.persistedQuery`, checked; None when there is none (a
    `persistedQuery` without `sha256Hash` names nothing, and is ignored as before APQ)."""
    if extensions is None or extensions.get("persistedQuery") is None:
        return None
    persisted = extensions["persistedQuery"]
    if isinstance(persisted, dict) and persisted.get("sha256Hash") is None:
        return None
    version = persisted.get("version") if isinstance(persisted, dict) else None
    if not isinstance(persisted, dict) or type(version) is not int or version != 1:
        raise DocumentError(
            '`extensions.persistedQuery` must be {"version": 1, "sha256Hash": "<hex>"} '
            "(Apollo's automatic persisted queries, version 1).",
            "BAD_REQUEST",
            status=400,
        )
    sha256 = persisted.get("sha256Hash")
    if not isinstance(sha256, str) or not SHA256_HEX.fullmatch(sha256):
        raise DocumentError(
            "`extensions.persistedQuery.sha256Hash` must be 64 lowercase hexadecimal digits "
            "(the SHA-256 of the document's text).",
            "BAD_USER_INPUT",
            status=400,
        )
    return sha256
