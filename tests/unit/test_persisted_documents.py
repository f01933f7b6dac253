"""The rules of persisted documents without a server: Appendix A's ids, the manifest formats
(Apollo's, Relay's), the trusted set built from them, and the settings that name them."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from graphql import get_operation_ast, parse

from app.domain.persisted import (
    ManifestError,
    TrustedDocument,
    document_id_problem,
    parse_manifest,
    sha256_hex,
)
from app.schema import build_schema
from app.schema.limits import CACHEABLE_LENGTH
from app.settings import Settings, SettingsError
from app.web.trusted_documents import OPERATIONS_DIR, TrustedDocuments

# Appendix A's own example: the query, with no trailing newline, and its id.
SPEC_QUERY = "query ($id: ID!) {\n  user(id: $id) {\n    name\n  }\n}"
SPEC_ID = "sha256:7dba4bd717b41f10434822356a93c32b1fb4907b983e854300ad839f84cdcd6e"
SPEC_MINIFIED_ID = "sha256:71f7dc5758652baac68e4a10c50be732b741c892ade2883a99358f52b555286b"
BODY = "query One { __typename }"


def apollo_manifest(*operations: dict[str, object]) -> str:
    return json.dumps(
        {"format": "apollo-persisted-query-manifest", "version": 1, "operations": list(operations)}
    )


def document(id: str, body: str = BODY, source: str = "a.json") -> TrustedDocument:
    return TrustedDocument(id=id, body=body, name=None, source=source)


# --- ids --------------------------------------------------------------------------------------


def test_the_sha256_id_is_appendix_a_s_example() -> None:
    assert f"sha256:{sha256_hex(SPEC_QUERY)}" == SPEC_ID
    assert f"sha256:{sha256_hex('query($id:ID!){user(id:$id){name}}')}" == SPEC_MINIFIED_ID


@pytest.mark.parametrize(
    "value",
    [SPEC_ID, "x-acme:v1.abc", "3be4abb81fa595e25eb725b2c6a87508", "Get_Session-2~.x"],
    ids=["sha256", "x-prefixed", "relay-md5", "custom"],
)
def test_valid_document_ids(value: str) -> None:
    assert document_id_problem(value) is None


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("sha256:" + "A" * 64, "must be `sha256:` followed by 64 lowercase hexadecimal digits"),
        ("sha256:abc", "must be `sha256:` followed by 64 lowercase hexadecimal digits"),
        ("md5:3be4abb81fa595e25eb725b2c6a87508", "must be `sha256:<64 lowercase hex digits>`"),
        ("x-acme:", "must be `sha256:<64 lowercase hex digits>`"),
        ("", "must be `sha256:<64 lowercase hex digits>`"),
        ("a b", "must be `sha256:<64 lowercase hex digits>`"),
        ("a" * 257, "is longer than 256 characters"),
    ],
    ids=["uppercase", "short", "reserved-prefix", "empty-payload", "empty", "space", "long"],
)
def test_malformed_document_ids_say_why(value: str, problem: str) -> None:
    found = document_id_problem(value)
    assert found is not None and found.startswith(problem)


# --- manifests --------------------------------------------------------------------------------


def test_an_apollo_manifest_keeps_its_ids_and_names() -> None:
    # when
    documents = parse_manifest(
        apollo_manifest({"id": sha256_hex(BODY), "name": "One", "type": "query", "body": BODY}),
        "apollo.json",
    )
    # then
    assert documents == [
        TrustedDocument(id=sha256_hex(BODY), body=BODY, name="One", source="apollo.json")
    ]


def test_a_relay_map_keeps_its_ids() -> None:
    # when
    documents = parse_manifest(json.dumps({"abc123": BODY}), "relay.json")
    # then
    assert documents == [TrustedDocument(id="abc123", body=BODY, name=None, source="relay.json")]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "relay.json is not valid JSON"),
        ("[1]", "relay.json must be a JSON object"),
        ('{"abc": 1}', "relay.json: the text of id 'abc' must be a string"),
        ('{"abc": "  "}', "relay.json: the document of id 'abc' is empty"),
        ('{"a b": "{ x }"}', "relay.json: id 'a b' must be"),
        (
            json.dumps({f"sha256:{'0' * 64}": BODY}),
            f"relay.json: id 'sha256:{'0' * 64}' is not the SHA-256 of its document's text",
        ),
        ('{"format": "other", "operations": []}', 'relay.json: an Apollo manifest needs "format"'),
        (apollo_manifest({"id": "x"}), "relay.json: operations[0] needs a string id and body"),
    ],
    ids=[
        "not-json",
        "array",
        "text-not-string",
        "empty",
        "bad-id",
        "wrong-sha256",
        "other-format",
        "no-body",
    ],
)
def test_a_broken_manifest_names_the_file_and_the_entry(text: str, message: str) -> None:
    with pytest.raises(ManifestError) as raised:
        parse_manifest(text, "relay.json")
    assert str(raised.value).startswith(message), str(raised.value)


# --- the trusted set --------------------------------------------------------------------------


def test_a_document_is_found_by_its_id_its_sha256_id_and_its_hash() -> None:
    # given
    trusted = TrustedDocuments([document("relay-1")])
    # then
    for found in (
        trusted.by_document_id("relay-1"),
        trusted.by_document_id(f"sha256:{sha256_hex(BODY)}"),
        trusted.by_hash(sha256_hex(BODY)),
    ):
        assert found is not None and found.body == BODY
    assert trusted.by_document_id(sha256_hex(BODY)) is None
    assert trusted.by_document_id("relay-2") is None


def test_one_id_with_two_texts_is_refused_naming_both_files() -> None:
    with pytest.raises(
        ManifestError, match=re.escape("b.json: id 'x' names another text in a.json")
    ):
        TrustedDocuments([document("x"), document("x", "query Two { __typename }", "b.json")])


def test_a_document_that_does_not_parse_is_refused() -> None:
    with pytest.raises(
        ManifestError, match=re.escape("a.json: the document of id 'x' does not parse")
    ):
        TrustedDocuments([document("x", "query {")])


def test_the_manifest_lists_every_saved_operation_in_apollo_s_format() -> None:
    # when
    manifest = TrustedDocuments.load(()).manifest()
    # then
    assert manifest["format"] == "apollo-persisted-query-manifest"
    assert manifest["version"] == 1
    files = sorted(OPERATIONS_DIR.glob("*.graphql"))
    assert [entry["name"] for entry in manifest["operations"]] == [path.stem for path in files]
    for entry, path in zip(manifest["operations"], files, strict=True):
        assert entry["body"].encode("utf-8") == path.read_bytes()
        assert entry["id"] == sha256_hex(entry["body"])
        operation = get_operation_ast(parse(entry["body"]))
        assert operation is not None
        assert entry["type"] == operation.operation.value


def test_a_broken_manifest_file_fails_naming_the_variable(tmp_path: Path) -> None:
    # given
    broken = tmp_path / "broken.json"
    broken.write_text('{"id": 1}')
    # when
    with pytest.raises(SettingsError) as raised:
        TrustedDocuments.load((broken,))
    # then
    assert str(raised.value).startswith(f"PERSISTED_DOCUMENTS_FILE: {broken}: the text of id")


def test_a_trusted_document_stays_parsed_however_long() -> None:
    # given: two texts past the length the limiter caches, one of them trusted
    limiter = build_schema().limiter
    trusted, other = ("{ __typename }" + " " * CACHEABLE_LENGTH + tail for tail in ("", "#"))
    limiter.trust([trusted])
    # then: the trusted one is parsed once, the other every time
    assert limiter.parse(trusted) is limiter.parse(trusted)
    assert limiter.parse(other) is not limiter.parse(other)


# --- settings ---------------------------------------------------------------------------------


def test_the_settings_default_to_allow_with_a_bounded_store() -> None:
    settings = Settings.from_environ({})
    assert settings.persisted_documents == "allow"
    assert settings.persisted_documents_files == ()
    assert settings.apq_store_size == 10_000


def test_persisted_documents_file_takes_comma_separated_paths(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given
    monkeypatch.chdir(tmp_path)
    for name in ("a.json", "b.json"):
        (tmp_path / name).write_text("{}")
    # when
    settings = Settings.from_environ(
        {"PERSISTED_DOCUMENTS": "only", "PERSISTED_DOCUMENTS_FILE": "a.json, b.json,"}
    )
    # then: relative to the working directory, made absolute
    assert settings.persisted_documents == "only"
    assert settings.persisted_documents_files == (tmp_path / "a.json", tmp_path / "b.json")


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"PERSISTED_DOCUMENTS": "some"}, "PERSISTED_DOCUMENTS must be one of allow, only"),
        ({"PERSISTED_DOCUMENTS_FILE": "/nowhere.json"}, "PERSISTED_DOCUMENTS_FILE must name"),
        ({"APQ_STORE_SIZE": "-1"}, "APQ_STORE_SIZE must be between 0 and 10000000"),
        ({"APQ_STORE_SIZE": "many"}, "APQ_STORE_SIZE must be a whole number"),
    ],
    ids=["mode", "missing-file", "negative-size", "not-a-number"],
)
def test_bad_settings_name_the_variable(environ: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError) as raised:
        Settings.from_environ(environ)
    assert str(raised.value).startswith(message)
