"""The GraphiQL page keeps no header in the browser.

A GraphiQL user pastes `{"Authorization": "Bearer sk_…"}` into the Headers pane. GraphiQL would
keep that pane in localStorage when `shouldPersistHeaders` is true (Strawberry's page sets it
so), where any script of the origin, or the next user of the browser, could read the key. The
page the gateway serves must leave it false (GraphiQL's default when absent), and its own script
must not put the headers anywhere else either (the URL it rewrites as you type, or storage).
"""

from __future__ import annotations

import re

from tests.conftest import Api

PERSIST_HEADERS = re.compile(r"shouldPersistHeaders\s*:\s*([^,}\s]+)")
INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)
# `updateURL({...})` calls of the page's script: what it writes into the address bar (and so into
# the browser's history).
URL_UPDATE = re.compile(r"updateURL\(\s*\{([^}]*)\}")


def graphiql_page(api: Api) -> str:
    response = api.http.get("/graphql", headers={"Accept": "text/html"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert "React.createElement(GraphiQL," in response.text
    return response.text


def test_graphiql_page_does_not_persist_headers(api: Api) -> None:
    # when
    page = graphiql_page(api)
    # then: every shouldPersistHeaders the page passes is false (absent means false)
    assert set(PERSIST_HEADERS.findall(page)) <= {"false"}, PERSIST_HEADERS.findall(page)


def test_graphiql_page_keeps_headers_out_of_the_url_and_storage(api: Api) -> None:
    # when
    page = graphiql_page(api)
    scripts = "\n".join(INLINE_SCRIPT.findall(page))
    # then: the page's own script shares the query and variables through the URL, never headers
    assert scripts, "the GraphiQL page has no inline script to inspect"
    written = URL_UPDATE.findall(page)
    assert written, "the page no longer rewrites its URL; re-inspect what it shares"
    assert [fields for fields in written if "headers" in fields] == []
    # and it writes nothing to the browser's storage itself
    assert "localStorage" not in scripts
    assert "sessionStorage" not in scripts
