"""Persisted documents: the ids a request may name a document by, and the manifest files trusted
documents come from. Plain values, no I/O.

    sha256_hex(text)            the lowercase hex SHA-256 of the text's UTF-8: Apollo's APQ hash,
                                and the payload of Appendix A's `sha256:` document ids
    document_id_problem(id)     why a `documentId` breaks Appendix A's syntax, or None
    parse_manifest(text, name)  the documents of an Apollo persisted-query manifest or of a Relay
                                `{id: text}` map (relay-compiler's `persistConfig` output)
    ManifestError               a manifest is neither, or one of its entries is broken; the
                                message names the file and the entry

Appendix A of GraphQL-over-HTTP defines three kinds of ids: `sha256:` followed by 64 lowercase hex
digits (the hash of the document's source text exactly as written), `x-<name>:<payload>` for an
application's own schemes, and custom ids without a colon (Relay's MD5 or SHA-256 hex, Apollo's
manifest ids). Every other prefix is reserved, so no server may accept it yet.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass

APOLLO_MANIFEST_FORMAT = "apollo-persisted-query-manifest"
SHA256_PREFIX = "sha256:"
MAX_DOCUMENT_ID_LENGTH = 256

SHA256_HEX = re.compile(r"[0-9a-f]{64}")
_UNRESERVED = r"[A-Za-z0-9\-._~]+"
_DOCUMENT_ID = re.compile(rf"sha256:[0-9a-f]{{64}}|x-{_UNRESERVED}:{_UNRESERVED}|{_UNRESERVED}")


class ManifestError(ValueError):
    """A manifest file cannot be read as trusted documents; the message says where and why."""


@dataclass(frozen=True, kw_only=True)
class TrustedDocument:
    """One document of a manifest.

    Attributes:
        id: Its id as the manifest gives it (kept as it is: Relay's clients send exactly that).
        body: The document's text, exactly as written.
        name: The operation's name when the manifest gives one (Apollo's does).
        source: Where it came from, for messages: a file name.
    """

    id: str
    body: str
    name: str | None
    source: str

    @property
    def sha256(self) -> str:
        return sha256_hex(self.body)


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def document_id_problem(value: str) -> str | None:
    """What is wrong with `value` as a `documentId`, or None when Appendix A's syntax admits it."""
    if len(value) > MAX_DOCUMENT_ID_LENGTH:
        return f"is longer than {MAX_DOCUMENT_ID_LENGTH} characters"
    if _DOCUMENT_ID.fullmatch(value):
        return None
    if value.startswith(SHA256_PREFIX):
        return "must be `sha256:` followed by 64 lowercase hexadecimal digits"
    return (
        "must be `sha256:<64 lowercase hex digits>`, `x-<scheme>:<payload>`, or a custom id of "
        "letters, digits and `-._~` (GraphQL-over-HTTP, Appendix A)"
    )


def parse_manifest(text: str, source: str) -> list[TrustedDocument]:
    """The documents of a manifest file's text.

    Two shapes are read: Apollo's `{"format": "apollo-persisted-query-manifest", "version": 1,
    "operations": [{"id", "name", "type", "body"}]}` and Relay's `{"<id>": "<text>"}`. Every id
    must be a valid `documentId`, and a `sha256:` id must be the hash of its text.

    Raises:
        ManifestError: naming `source` and the broken entry.
    """
    try:
        data = json.loads(text)
    except ValueError as error:
        raise ManifestError(f"{source} is not valid JSON ({error})") from None
    if not isinstance(data, dict):
        raise ManifestError(
            f"{source} must be a JSON object: an Apollo persisted-query manifest or a Relay "
            "{id: text} map"
        )
    if "format" in data or "operations" in data:
        entries = _apollo_entries(data, source)
    else:
        entries = []
        for key, body in data.items():
            if not isinstance(body, str):
                raise ManifestError(f"{source}: the text of id {key[:100]!r} must be a string")
            entries.append((key, body, None))
    documents = []
    for document_id, body, name in entries:
        problem = document_id_problem(document_id)
        if problem is not None:
            raise ManifestError(f"{source}: id {document_id[:100]!r} {problem}")
        if not body.strip():
            raise ManifestError(f"{source}: the document of id {document_id!r} is empty")
        if document_id.startswith(SHA256_PREFIX) and document_id[7:] != sha256_hex(body):
            raise ManifestError(
                f"{source}: id {document_id!r} is not the SHA-256 of its document's text"
            )
        documents.append(TrustedDocument(id=document_id, body=body, name=name, source=source))
    return documents


def _apollo_entries(data: dict[str, object], source: str) -> list[tuple[str, str, str | None]]:
    if data.get("format") != APOLLO_MANIFEST_FORMAT or data.get("version") != 1:
        raise ManifestError(
            f'{source}: an Apollo manifest needs "format": "{APOLLO_MANIFEST_FORMAT}" and '
            '"version": 1'
        )
    operations = data.get("operations")
    if not isinstance(operations, list):
        raise ManifestError(f'{source}: "operations" must be a list')
    entries = []
    for index, operation in enumerate(operations):
        if not isinstance(operation, dict):
            raise ManifestError(f"{source}: operations[{index}] must be an object")
        document_id, body, name = (operation.get(key) for key in ("id", "body", "name"))
        if not isinstance(document_id, str) or not isinstance(body, str):
            raise ManifestError(f"{source}: operations[{index}] needs a string id and body")
        if name is not None and not isinstance(name, str):
            raise ManifestError(f"{source}: operations[{index}].name must be a string")
        entries.append((document_id, body, name))
    return entries
