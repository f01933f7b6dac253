"""Sweeps of awkward values into the parsers that read client input: URLs, headers (raw bytes
over a socket, which httpx would refuse to send), cursors, ids and JSON bodies. Each answer
must be a JSON error envelope or a success, never a 5xx, never a leak."""

from __future__ import annotations

import json
import socket
from urllib.parse import urlencode, urlsplit

from tests.conftest import Api
from tests.fuzz.test_fuzz_graphql import LEAK_MARKERS
from tests.fuzz.test_fuzz_rest import assert_stripe_answer, form_headers

URLS = [
    "http://[::1",
    "http://[::1]:x",
    "http://[::1]]/",
    "http://[1.2.3.4]/",
    "http://[v1.x]/",
    "http://a:99999",
    "http://a:-1/",
    "http://a:/",
    "http://user:pw@[::1/",
    "http://xn--.com",
    "http://" + "a" * 64 + ".com",
    "http://" + "a" * 3000 + ".com",
    "http://\u0000",
    "http://a\u0000b.com",
    "http://%zz",
    "http://\u202eexample.com",
    "http://e\u0301xample.com/\U0001f600",
    "http://1.2.3.256/",
    "http://0x7f.1/",
    "https:///x",
    "https:x",
    "//example.com",
    "HTTP://EXAMPLE.COM",
    "file:///etc/passwd",
]
HEADER_NAMES = [
    "Authorization",
    "Idempotency-Key",
    "Stripe-Version",
    "Content-Type",
    "Accept",
    "Content-Length",
    "Origin",
    "Cookie",
    "X-Forwarded-For",
    "X-Forwarded-Proto",
]
HEADER_VALUES = [
    b"\xff\xfe",
    b"\xc3(",
    b"Bearer \xe9",
    b"Basic !!!",
    b"Basic /w==",
    b"a" * 6000,
    b"",
    b"-1",
    b"1e309",
]


def raw_request(
    api: Api, method: str, path: str, headers: list[tuple[str, bytes]], body: bytes
) -> tuple[int, bytes]:
    parts = urlsplit(api.server.base_url)
    lines = [f"{method} {path} HTTP/1.1".encode(), f"Host: {parts.netloc}".encode()]
    lines += [name.encode() + b": " + value for name, value in headers]
    if not any(name.lower() == "content-length" for name, _ in headers):
        lines.append(f"Content-Length: {len(body)}".encode())
    lines.append(b"Connection: close")
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as sock:
        sock.sendall(b"\r\n".join(lines) + b"\r\n\r\n" + body)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    status = int(data.split(b" ", 2)[1]) if data else 0
    return status, data


def test_url_shaped_values_never_crash_return_url_or_webhook_url(api: Api) -> None:
    form = form_headers(api.key)
    for url in URLS:
        pair = urlencode([("return_url", url)])
        create = api.http.post(
            "/v1/identity/verification_sessions", content=f"type=document&{pair}", headers=form
        )
        hook = api.http.post(
            "/v1/webhook_endpoints",
            content=urlencode([("url", url), ("enabled_events[]", "*")]),
            headers=form,
        )
        for response in (create, hook):
            assert_stripe_answer(response, sent=pair)
        gql = api.post(
            "mutation($u: String) { createVerificationSession(input: {type: DOCUMENT, returnUrl: $u})"
            " { userErrors { message } } }",
            {"u": url},
        )
        assert gql.status_code < 500, gql.text
        assert "INTERNAL_SERVER_ERROR" not in gql.text, (url, gql.text)


def test_every_header_we_read_with_raw_awkward_bytes(api: Api) -> None:
    body = json.dumps({"query": "{ __typename }"}).encode()
    for name in HEADER_NAMES:
        for value in HEADER_VALUES:
            for method, path, payload, base in (
                ("POST", "/graphql", body, [("Content-Type", b"application/json")]),
                ("GET", "/v1/identity/verification_sessions", b"", []),
                (
                    "POST",
                    "/v1/identity/verification_sessions",
                    b"type=document",
                    [("Content-Type", b"application/x-www-form-urlencoded")],
                ),
            ):
                auth = (
                    []
                    if name == "Authorization"
                    else [("Authorization", f"Bearer {api.key}".encode())]
                )
                headers = [h for h in base if h[0] != name] + auth + [(name, value)]
                status, data = raw_request(api, method, path, headers, payload)
                assert 0 < status < 500, (name, value, path, data[:500])
                for marker in LEAK_MARKERS:
                    assert marker.encode() not in data, (name, value, path, data[:500])


def test_cursors_ids_and_json_bodies(api: Api) -> None:
    form = form_headers(api.key)
    awkward = [
        "!!!",
        "====",
        "dj",
        "djE6",
        "djE6eDp5",
        "djE6OTk5OTk5OTk5OTk5OTk5OTk5OTk6eA",
        "\u0000",
        "vs_" + "a" * 5000,
        "\u202e",
    ]
    for value in awkward:
        for name in ("starting_after", "ending_before"):
            pair = urlencode([(name, value)], encoding="utf-8", errors="surrogatepass")
            assert_stripe_answer(
                api.http.get(f"/v1/identity/verification_sessions?{pair}", headers=form), sent=pair
            )
            assert_stripe_answer(api.http.get(f"/v1/events?{pair}", headers=form), sent=pair)
        path = urlencode([("x", value)], encoding="utf-8", errors="surrogatepass")[2:]
        assert_stripe_answer(
            api.http.get(f"/v1/identity/verification_sessions/{path}", headers=form), sent=path
        )
        gql = api.post(
            "query($a: String) { verificationSessions(after: $a) { edges { cursor } } }",
            {"a": value},
        )
        assert gql.status_code < 500 and "INTERNAL_SERVER_ERROR" not in gql.text, (value, gql.text)
    auth = [("Authorization", f"Bearer {api.key}".encode()), ("Content-Type", b"application/json")]
    bodies = [
        b'{"query": "\\ud800"}',
        b'{"query": "{ __typename }", "variables": {"a": 1e309}}',
        b'{"query": "{ __typename }", "variables": {"a": ' + b"9" * 5000 + b"}}",
        b'{"query": "{ __typename }", "query": "{ x }"}',
        b'{"query": "\xff"}',
        b"[" * 100000,
        b'{"query": "{ __typename }", "operationName": "\\u0000"}',
        b'{"query": "{ __typename }", "extensions": {"persistedQuery": "x"}}',
        b'{"query": "{ __typename }", "extensions": []}',
        b'{"documentId": {"a": 1}}',
    ]
    for raw in bodies:
        status, data = raw_request(api, "POST", "/graphql", auth, raw)
        assert 0 < status < 500, (raw[:80], data[:500])
        for marker in LEAK_MARKERS:
            assert marker.encode() not in data, (raw[:80], data[:500])
