"""Trusted documents: the operations this gateway's own frontends ship, read once at start.

    every playground/operations/*.graphql   id `sha256:<hex>` of the file's bytes exactly as written
                                            (GraphQL-over-HTTP, Appendix A)
    each file in PERSISTED_DOCUMENTS_FILE   an Apollo persisted-query manifest or a Relay
                                            `{id: text}` map; ids kept as the file gives them

A trusted document is found by the id its manifest gives it, by `sha256:<hash of its text>`
whatever its manifest calls it, and (for Apollo's link, which sends hashes) by that bare hash.
Every document is parsed at start: a file that does not parse stops the process, naming it.
`manifest()` is the whole set in Apollo's manifest format (`python -m app export-documents`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from graphql import GraphQLSyntaxError, OperationDefinitionNode, parse

from app.domain.persisted import (
    APOLLO_MANIFEST_FORMAT,
    SHA256_PREFIX,
    ManifestError,
    TrustedDocument,
    parse_manifest,
    sha256_hex,
)
from app.settings import SettingsError
from app.web.playground import PLAYGROUND_DIR

OPERATIONS_DIR = PLAYGROUND_DIR / "operations"


@dataclass(frozen=True)
class _Operation:
    """What Apollo's manifest says of a document: its first operation's name and kind."""

    name: str
    type: str


class TrustedDocuments:
    """The trusted documents, indexed by id and by hash."""

    def __init__(self, documents: Iterable[TrustedDocument]) -> None:
        """Raises:
        ManifestError: a document does not parse, or two files give one id different texts.
        """
        self._documents: list[TrustedDocument] = []
        self._operations: dict[str, _Operation] = {}
        self._by_id: dict[str, TrustedDocument] = {}
        self._by_hash: dict[str, TrustedDocument] = {}
        for document in documents:
            known = self._by_id.get(document.id)
            if known is not None:
                if known.body != document.body:
                    raise ManifestError(
                        f"{document.source}: id {document.id!r} names another text in "
                        f"{known.source}"
                    )
                continue
            self._documents.append(document)
            self._operations.setdefault(document.sha256, _operation(document))
            self._by_id[document.id] = document
            self._by_id.setdefault(SHA256_PREFIX + document.sha256, document)
            self._by_hash.setdefault(document.sha256, document)

    @classmethod
    def load(
        cls, files: Sequence[Path], *, operations_dir: Path = OPERATIONS_DIR
    ) -> TrustedDocuments:
        """The saved operations and the manifests in `files`.

        Raises:
            SettingsError: naming PERSISTED_DOCUMENTS_FILE (or the operations folder), the file
                and what is wrong with it.
        """
        try:
            saved = [_saved_operation(path) for path in sorted(operations_dir.glob("*.graphql"))]
            trusted = cls(saved)
        except (ManifestError, OSError, UnicodeDecodeError) as error:
            raise SettingsError(f"saved operations in {operations_dir}: {error}") from None
        if not files:
            return trusted
        try:
            documents = list(saved)
            for path in files:
                documents += parse_manifest(path.read_text(encoding="utf-8"), str(path))
            return cls(documents)
        except (ManifestError, OSError, UnicodeDecodeError) as error:
            raise SettingsError(f"PERSISTED_DOCUMENTS_FILE: {error}") from None

    def __len__(self) -> int:
        return len(self._documents)

    def bodies(self) -> list[str]:
        """Every trusted document's text (the very strings requests for them run)."""
        return [document.body for document in self._documents]

    def by_document_id(self, document_id: str) -> TrustedDocument | None:
        """The document a `documentId` names: its own id, or `sha256:` and its text's hash."""
        return self._by_id.get(document_id)

    def by_hash(self, sha256: str) -> TrustedDocument | None:
        """The document an APQ hash names: its text's hash, or a manifest id of that form."""
        return self._by_hash.get(sha256) or self._by_id.get(sha256)

    def manifest(self) -> dict[str, Any]:
        """Every trusted document in Apollo's persisted-query manifest format, by name. A
        `sha256:` id is written as its bare hash, as Apollo's tools write ids (and as its link
        sends them); other ids as they are."""
        operations = []
        for document in self._documents:
            operation = self._operations[document.sha256]
            document_id = document.id.removeprefix(SHA256_PREFIX)
            operations.append(
                {
                    "id": document_id,
                    "name": document.name or operation.name,
                    "type": operation.type,
                    "body": document.body,
                }
            )
        operations.sort(key=lambda entry: (entry["name"], entry["id"]))
        return {"format": APOLLO_MANIFEST_FORMAT, "version": 1, "operations": operations}


def _saved_operation(path: Path) -> TrustedDocument:
    # The bytes as written: `read_text` would translate line endings, and change the hash.
    body = path.read_bytes().decode("utf-8")
    return TrustedDocument(
        id=SHA256_PREFIX + sha256_hex(body), body=body, name=None, source=str(path)
    )


def _operation(document: TrustedDocument) -> _Operation:
    try:
        parsed = parse(document.body, no_location=True)
    except GraphQLSyntaxError as error:
        raise ManifestError(
            f"{document.source}: the document of id {document.id!r} does not parse: {error.message}"
        ) from None
    for definition in parsed.definitions:
        if isinstance(definition, OperationDefinitionNode):
            name = definition.name.value if definition.name else ""
            return _Operation(name=name, type=definition.operation.value)
    raise ManifestError(
        f"{document.source}: the document of id {document.id!r} has no operation to run"
    )
