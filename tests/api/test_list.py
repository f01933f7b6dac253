"""`verificationSessions`: a keyset-paginated Relay connection, newest first, over HTTP."""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from tests.conftest import Api
from tests.helpers import ids_of

CreateSession = Callable[..., dict[str, Any]]

LIST = """
query List(
  $first: Int, $after: String, $last: Int, $before: String, $filter: VerificationSessionFilter
) {
  verificationSessions(
    first: $first, after: $after, last: $last, before: $before, filter: $filter
  ) {
    edges { cursor node { id created } }
    nodes { id created }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}
"""

COUNT = """
query Count($first: Int, $after: String, $filter: VerificationSessionFilter) {
  verificationSessions(first: $first, after: $after, filter: $filter) {
    nodes { id }
    totalCount
  }
}
"""

FULL_PAGE = """
query FullPage {
  verificationSessions(first: 1) {
    nodes {
      id object created status type clientReferenceId relatedCustomer livemode metadata
    }
  }
}
"""

CREATE_MINIMAL = """
mutation Create($input: CreateVerificationSessionInput!) {
  createVerificationSession(input: $input) {
    verificationSession { id created }
    userErrors { field message code }
  }
}
"""


# --- helpers ---------------------------------------------------------------------------------


def list_page(api: Api, *, key: str | None = "default", **arguments: Any) -> dict[str, Any]:
    """One page of the connection; checks that `nodes` and the edges tell the same story."""
    connection: dict[str, Any] = api.gql(LIST, arguments, key=key)["verificationSessions"]
    assert connection["nodes"] == [edge["node"] for edge in connection["edges"]]
    return connection


def newest_first(sessions: list[dict[str, Any]]) -> list[str]:
    """The API's order: `created` descending, then id descending (both compare as strings:
    `created` has a fixed width, ids are ASCII)."""
    ordered = sorted(sessions, key=lambda session: (session["created"], session["id"]))
    return [session["id"] for session in reversed(ordered)]


def cursors_by_id(api: Api) -> dict[str, str]:
    """Each session's cursor, as the first page of up to 100 reports it."""
    connection = list_page(api, first=100)
    assert connection["pageInfo"]["hasNextPage"] is False
    return {edge["node"]["id"]: edge["cursor"] for edge in connection["edges"]}


def page_info(
    cursors: dict[str, str], page_ids: list[str], *, has_next: bool, has_previous: bool
) -> dict[str, Any]:
    return {
        "hasNextPage": has_next,
        "hasPreviousPage": has_previous,
        "startCursor": cursors[page_ids[0]] if page_ids else None,
        "endCursor": cursors[page_ids[-1]] if page_ids else None,
    }


def walk_forward(api: Api, *, size: int, **arguments: Any) -> list[dict[str, Any]]:
    pages: list[dict[str, Any]] = []
    after = None
    for _ in range(100):
        pages.append(list_page(api, first=size, after=after, **arguments))
        if not pages[-1]["pageInfo"]["hasNextPage"]:
            return pages
        after = pages[-1]["pageInfo"]["endCursor"]
    raise AssertionError("paging forward did not end after 100 pages")


def walk_backward(api: Api, *, size: int, **arguments: Any) -> list[dict[str, Any]]:
    pages: list[dict[str, Any]] = []
    before = None
    for _ in range(100):
        pages.append(list_page(api, last=size, before=before, **arguments))
        if not pages[-1]["pageInfo"]["hasPreviousPage"]:
            return pages
        before = pages[-1]["pageInfo"]["startCursor"]
    raise AssertionError("paging backward did not end after 100 pages")


def chunks(items: list[str], size: int) -> list[list[str]]:
    return [items[start : start + size] for start in range(0, len(items), size)]


def set_created_alike(api: Api, *, like: str) -> None:
    """Give every session of the account the `created` of session `like`, to the microsecond.

    Copying the stored value keeps each backend's own storage format.
    """
    api.server.database.execute(
        "UPDATE verification_sessions SET created = "
        "(SELECT created FROM verification_sessions WHERE id = :like) "
        "WHERE account_id = :account_id",
        {"like": like, "account_id": api.account_id},
    )


def set_status(api: Api, session_id: str, status: str) -> None:
    api.server.database.execute(
        "UPDATE verification_sessions SET status = :status WHERE id = :id",
        {"status": status, "id": session_id},
    )


def top_level_error(api: Api, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    """The single top-level error of a request that must fail as a whole."""
    response = api.post(query, variables)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["data"] is None
    assert len(body["errors"]) == 1, body["errors"]
    error: dict[str, Any] = body["errors"][0]
    return error


# --- order and page size ---------------------------------------------------------------------


def test_an_account_without_sessions_gets_an_empty_page(api: Api) -> None:
    # when
    data = api.gql(COUNT)
    connection = list_page(api)
    # then
    assert data == {"verificationSessions": {"nodes": [], "totalCount": 0}}
    assert connection == {
        "edges": [],
        "nodes": [],
        "pageInfo": {
            "hasNextPage": False,
            "hasPreviousPage": False,
            "startCursor": None,
            "endCursor": None,
        },
    }


def test_without_first_or_last_the_newest_ten_are_returned(
    api: Api, create_session: CreateSession
) -> None:
    # given
    sessions = [create_session() for _ in range(12)]
    order = newest_first(sessions)
    cursors = cursors_by_id(api)
    # when
    connection = list_page(api)
    # then
    assert ids_of(connection) == order[:10]
    assert connection["pageInfo"] == page_info(
        cursors, order[:10], has_next=True, has_previous=False
    )


def test_sessions_are_newest_first(api: Api, create_session: CreateSession) -> None:
    # given
    sessions = [create_session() for _ in range(4)]
    # when
    connection = list_page(api)
    # then
    assert [node["created"] for node in connection["nodes"]] == sorted(
        (session["created"] for session in sessions), reverse=True
    )
    assert ids_of(connection) == [session["id"] for session in reversed(sessions)]


def test_sessions_created_in_the_same_microsecond_are_ordered_by_id_descending(
    api: Api, create_session: CreateSession
) -> None:
    # given
    oldest = create_session()
    tied = [create_session() for _ in range(5)]
    newest = create_session()
    api.server.database.execute(
        "UPDATE verification_sessions SET created = "
        "(SELECT created FROM verification_sessions WHERE id = :like) WHERE id IN "
        "(:a, :b, :c, :d, :e)",
        {"like": tied[0]["id"], **dict(zip("abcde", (s["id"] for s in tied), strict=True))},
    )
    # when
    connection = list_page(api)
    # then
    tied_ids = sorted((session["id"] for session in tied), reverse=True)
    assert ids_of(connection) == [newest["id"], *tied_ids, oldest["id"]]
    assert {node["created"] for node in connection["nodes"][1:6]} == {tied[0]["created"]}


def test_a_listed_session_has_the_same_fields_as_when_it_was_created(
    api: Api, create_session: CreateSession
) -> None:
    # given
    session = create_session(
        clientReferenceId="ref-7", relatedCustomer="cus_7", metadata={"order": "7"}
    )
    # when
    data = api.gql(FULL_PAGE)
    # then
    assert data["verificationSessions"]["nodes"] == [
        {
            "id": session["id"],
            "object": "identity.verification_session",
            "created": session["created"],
            "status": "REQUIRES_INPUT",
            "type": "DOCUMENT",
            "clientReferenceId": "ref-7",
            "relatedCustomer": "cus_7",
            "livemode": False,
            "metadata": {"order": "7"},
        }
    ]


# --- paging ----------------------------------------------------------------------------------


def test_first_and_after_page_forward_with_exact_page_info(
    api: Api, create_session: CreateSession
) -> None:
    # given
    order = newest_first([create_session() for _ in range(7)])
    cursors = cursors_by_id(api)
    # when
    pages = walk_forward(api, size=3)
    # then
    assert [ids_of(page) for page in pages] == [order[0:3], order[3:6], order[6:7]]
    assert [page["pageInfo"] for page in pages] == [
        page_info(cursors, order[0:3], has_next=True, has_previous=False),
        page_info(cursors, order[3:6], has_next=True, has_previous=True),
        page_info(cursors, order[6:7], has_next=False, has_previous=True),
    ]
    assert [edge["cursor"] for page in pages for edge in page["edges"]] == [
        cursors[session_id] for session_id in order
    ]


def test_last_and_before_page_backward_with_exact_page_info(
    api: Api, create_session: CreateSession
) -> None:
    # given
    order = newest_first([create_session() for _ in range(7)])
    cursors = cursors_by_id(api)
    # when
    pages = walk_backward(api, size=3)
    # then
    assert [ids_of(page) for page in pages] == [order[4:7], order[1:4], order[0:1]]
    assert [page["pageInfo"] for page in pages] == [
        page_info(cursors, order[4:7], has_next=False, has_previous=True),
        page_info(cursors, order[1:4], has_next=True, has_previous=True),
        page_info(cursors, order[0:1], has_next=True, has_previous=False),
    ]


def test_pages_of_one_session_report_neighbours_on_both_sides(
    api: Api, create_session: CreateSession
) -> None:
    # given
    order = newest_first([create_session() for _ in range(3)])
    cursors = cursors_by_id(api)
    # when
    forward = walk_forward(api, size=1)
    backward = walk_backward(api, size=1)
    # then
    assert [page["pageInfo"] for page in forward] == [
        page_info(cursors, [order[0]], has_next=True, has_previous=False),
        page_info(cursors, [order[1]], has_next=True, has_previous=True),
        page_info(cursors, [order[2]], has_next=False, has_previous=True),
    ]
    assert [page["pageInfo"] for page in backward] == [
        page_info(cursors, [order[2]], has_next=False, has_previous=True),
        page_info(cursors, [order[1]], has_next=True, has_previous=True),
        page_info(cursors, [order[0]], has_next=True, has_previous=False),
    ]


def test_a_page_that_ends_exactly_at_the_last_session_has_no_next_page(
    api: Api, create_session: CreateSession
) -> None:
    # given
    order = newest_first([create_session() for _ in range(4)])
    cursors = cursors_by_id(api)
    # when
    first = list_page(api, first=2)
    second = list_page(api, first=2, after=first["pageInfo"]["endCursor"])
    # then
    assert ids_of(second) == order[2:4]
    assert second["pageInfo"] == page_info(cursors, order[2:4], has_next=False, has_previous=True)


def test_after_the_last_session_the_page_is_empty(api: Api, create_session: CreateSession) -> None:
    # given
    order = newest_first([create_session() for _ in range(2)])
    cursors = cursors_by_id(api)
    # when
    connection = list_page(api, first=5, after=cursors[order[-1]])
    # then
    assert connection["edges"] == []
    assert connection["pageInfo"] == {
        "hasNextPage": False,
        "hasPreviousPage": True,
        "startCursor": None,
        "endCursor": None,
    }


def test_any_edge_cursor_continues_right_after_its_session(
    api: Api, create_session: CreateSession
) -> None:
    # given
    order = newest_first([create_session() for _ in range(6)])
    cursors = cursors_by_id(api)
    # when
    after_third = list_page(api, first=2, after=cursors[order[2]])
    before_fourth = list_page(api, last=2, before=cursors[order[3]])
    # then
    assert ids_of(after_third) == order[3:5]
    assert ids_of(before_fourth) == order[1:3]


def test_after_and_before_together_bound_the_page_on_both_sides(
    api: Api, create_session: CreateSession
) -> None:
    # given
    order = newest_first([create_session() for _ in range(6)])
    cursors = cursors_by_id(api)
    # when
    forward = list_page(api, first=10, after=cursors[order[0]], before=cursors[order[4]])
    backward = list_page(api, last=2, after=cursors[order[0]], before=cursors[order[4]])
    # then
    assert ids_of(forward) == order[1:4]
    assert ids_of(backward) == order[2:4]


def test_first_zero_returns_no_sessions_and_says_more_exist(
    api: Api, create_session: CreateSession
) -> None:
    # given
    create_session()
    # when
    connection = list_page(api, first=0)
    # then
    assert connection == {
        "edges": [],
        "nodes": [],
        "pageInfo": {
            "hasNextPage": True,
            "hasPreviousPage": False,
            "startCursor": None,
            "endCursor": None,
        },
    }


def test_last_zero_returns_no_sessions_and_says_more_exist(
    api: Api, create_session: CreateSession
) -> None:
    # given
    create_session()
    # when
    connection = list_page(api, last=0)
    # then
    assert connection["edges"] == []
    assert connection["pageInfo"] == {
        "hasNextPage": False,
        "hasPreviousPage": True,
        "startCursor": None,
        "endCursor": None,
    }


def test_one_hundred_is_the_largest_page(api: Api, create_session: CreateSession) -> None:
    # given
    order = newest_first([create_session() for _ in range(3)])
    # when
    forward = list_page(api, first=100)
    backward = list_page(api, last=100)
    # then
    assert ids_of(forward) == order
    assert ids_of(backward) == order


@pytest.mark.parametrize("size", [10, 7])
def test_many_sessions_with_one_created_are_each_listed_once_forward_and_backward(
    api: Api, create_session: CreateSession, size: int
) -> None:
    # given 57 sessions created in the same microsecond
    sessions = [create_session() for _ in range(57)]
    set_created_alike(api, like=sessions[0]["id"])
    order = sorted((session["id"] for session in sessions), reverse=True)
    cursors = cursors_by_id(api)
    # when
    forward = walk_forward(api, size=size)
    backward = walk_backward(api, size=size)
    # then every session appears exactly once, in the same order both ways
    forward_ids = [session_id for page in forward for session_id in ids_of(page)]
    backward_ids = [session_id for page in reversed(backward) for session_id in ids_of(page)]
    assert forward_ids == order
    assert backward_ids == order
    assert {node["created"] for page in forward for node in page["nodes"]} == {
        sessions[0]["created"]
    }
    # and each page says exactly where it is
    expected_forward = chunks(order, size)
    assert [ids_of(page) for page in forward] == expected_forward
    assert [page["pageInfo"] for page in forward] == [
        page_info(
            cursors, page_ids, has_next=index < len(expected_forward) - 1, has_previous=index > 0
        )
        for index, page_ids in enumerate(expected_forward)
    ]
    expected_backward = [list(reversed(chunk)) for chunk in chunks(order[::-1], size)]
    assert [ids_of(page) for page in backward] == expected_backward
    assert [page["pageInfo"] for page in backward] == [
        page_info(
            cursors, page_ids, has_next=index > 0, has_previous=index < len(expected_backward) - 1
        )
        for index, page_ids in enumerate(expected_backward)
    ]


def test_paging_forward_then_back_from_the_middle_returns_the_same_pages(
    api: Api, create_session: CreateSession
) -> None:
    # given
    sessions = [create_session() for _ in range(9)]
    set_created_alike(api, like=sessions[4]["id"])
    order = sorted((session["id"] for session in sessions), reverse=True)
    first = list_page(api, first=4)
    second = list_page(api, first=4, after=first["pageInfo"]["endCursor"])
    # when
    back = list_page(api, last=4, before=second["pageInfo"]["startCursor"])
    # then
    assert ids_of(back) == ids_of(first) == order[0:4]
    assert back["pageInfo"] == {**first["pageInfo"], "hasNextPage": True}


# --- filters ---------------------------------------------------------------------------------


def test_status_filter_returns_only_sessions_in_that_status(
    api: Api, create_session: CreateSession
) -> None:
    # given
    waiting, processing, verified, canceled, other_verified = (create_session() for _ in range(5))
    set_status(api, processing["id"], "processing")
    set_status(api, verified["id"], "verified")
    set_status(api, canceled["id"], "canceled")
    set_status(api, other_verified["id"], "verified")
    # when
    by_status = {
        status: api.gql(COUNT, {"filter": {"status": status}})["verificationSessions"]
        for status in ("REQUIRES_INPUT", "PROCESSING", "VERIFIED", "CANCELED")
    }
    # then
    assert by_status == {
        "REQUIRES_INPUT": {"nodes": [{"id": waiting["id"]}], "totalCount": 1},
        "PROCESSING": {"nodes": [{"id": processing["id"]}], "totalCount": 1},
        "VERIFIED": {
            "nodes": [{"id": other_verified["id"]}, {"id": verified["id"]}],
            "totalCount": 2,
        },
        "CANCELED": {"nodes": [{"id": canceled["id"]}], "totalCount": 1},
    }


def test_status_filter_takes_one_status_only(api: Api) -> None:
    # when
    response = api.post(COUNT, {"filter": {"status": ["VERIFIED", "CANCELED"]}})
    # then
    assert response.status_code == 200
    assert [(error["message"], error["extensions"]) for error in response.json()["errors"]] == [
        (
            "Variable '$filter' has invalid value at .status: Enum 'VerificationSessionStatus' "
            "cannot represent non-string value: ['VERIFIED', 'CANCELED'].",
            {"code": "BAD_USER_INPUT"},
        )
    ]
    assert "data" not in response.json()


def test_client_reference_id_filter_matches_exactly(
    api: Api, create_session: CreateSession
) -> None:
    # given
    match_old = create_session(clientReferenceId="order-42")
    create_session(clientReferenceId="order-420")
    create_session(clientReferenceId="ORDER-42")
    create_session()
    match_new = create_session(clientReferenceId="order-42")
    # when
    data = api.gql(COUNT, {"filter": {"clientReferenceId": "order-42"}})
    # then
    assert data["verificationSessions"] == {
        "nodes": [{"id": match_new["id"]}, {"id": match_old["id"]}],
        "totalCount": 2,
    }


def test_related_customer_filter_matches_exactly(api: Api, create_session: CreateSession) -> None:
    # given
    match = create_session(relatedCustomer="cus_A1")
    create_session(relatedCustomer="cus_A10")
    create_session()
    # when
    data = api.gql(COUNT, {"filter": {"relatedCustomer": "cus_A1"}})
    # then
    assert data["verificationSessions"] == {"nodes": [{"id": match["id"]}], "totalCount": 1}


def test_filters_combine_with_and(api: Api, create_session: CreateSession) -> None:
    # given
    both = create_session(clientReferenceId="ref", relatedCustomer="cus_1")
    create_session(clientReferenceId="ref", relatedCustomer="cus_2")
    verified = create_session(clientReferenceId="ref", relatedCustomer="cus_1")
    set_status(api, verified["id"], "verified")
    # when
    data = api.gql(
        COUNT,
        {
            "filter": {
                "clientReferenceId": "ref",
                "relatedCustomer": "cus_1",
                "status": "REQUIRES_INPUT",
            }
        },
    )
    # then
    assert data["verificationSessions"] == {"nodes": [{"id": both["id"]}], "totalCount": 1}


def test_created_bounds_compare_with_the_values_the_api_shows(
    api: Api, create_session: CreateSession
) -> None:
    # given
    older, middle, newer = (create_session() for _ in range(3))
    moment = middle["created"]

    def listed(created: dict[str, str]) -> list[str]:
        return ids_of(list_page(api, filter={"created": created}))

    # then
    assert listed({"gte": moment, "lte": moment}) == [middle["id"]]
    assert listed({"gt": moment}) == [newer["id"]]
    assert listed({"gte": moment}) == [newer["id"], middle["id"]]
    assert listed({"lt": moment}) == [older["id"]]
    assert listed({"lte": moment}) == [middle["id"], older["id"]]
    assert listed({"gt": moment, "lt": moment}) == []
    assert listed({"gt": older["created"], "lt": newer["created"]}) == [middle["id"]]


def test_created_is_shown_in_utc_with_six_fractional_digits(
    api: Api, create_session: CreateSession
) -> None:
    # given
    session = create_session()
    # when
    created = list_page(api)["nodes"][0]["created"]
    # then
    assert created == session["created"]
    parsed = datetime.strptime(created, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    assert parsed.strftime("%Y-%m-%dT%H:%M:%S.%fZ") == created


def test_created_bounds_in_another_offset_match_the_same_instant(
    api: Api, create_session: CreateSession
) -> None:
    # given
    create_session()
    session = create_session()
    create_session()
    instant = datetime.strptime(session["created"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    in_tokyo = instant.astimezone(timezone(timedelta(hours=9))).isoformat()
    # when
    connection = list_page(api, filter={"created": {"gte": in_tokyo, "lte": in_tokyo}})
    # then
    assert ids_of(connection) == [session["id"]]


def test_created_bound_one_microsecond_away_excludes_the_session(
    api: Api, create_session: CreateSession
) -> None:
    # given
    session = create_session()
    instant = datetime.strptime(session["created"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    later = (instant + timedelta(microseconds=1)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    earlier = (instant - timedelta(microseconds=1)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    # when
    from_later = list_page(api, filter={"created": {"gte": later}})
    until_earlier = list_page(api, filter={"created": {"lte": earlier}})
    # then
    assert from_later["nodes"] == []
    assert until_earlier["nodes"] == []


def test_a_filtered_list_pages_forward_and_back(api: Api, create_session: CreateSession) -> None:
    # given
    matching = [create_session(clientReferenceId="wanted") for _ in range(5)]
    for _ in range(4):
        create_session(clientReferenceId="unwanted")
    order = newest_first(matching)
    wanted = {"clientReferenceId": "wanted"}
    # when
    forward = walk_forward(api, size=2, filter=wanted)
    backward = walk_backward(api, size=2, filter=wanted)
    # then
    assert [ids_of(page) for page in forward] == [order[0:2], order[2:4], order[4:5]]
    assert [ids_of(page) for page in backward] == [order[3:5], order[1:3], order[0:1]]
    assert [page["pageInfo"]["hasNextPage"] for page in forward] == [True, True, False]
    assert [page["pageInfo"]["hasPreviousPage"] for page in backward] == [True, True, False]


# --- totalCount ------------------------------------------------------------------------------


def test_total_count_counts_matching_sessions_on_every_page(
    api: Api, create_session: CreateSession
) -> None:
    # given
    for _ in range(4):
        create_session(clientReferenceId="counted")
    create_session(clientReferenceId="not counted")
    counted = {"clientReferenceId": "counted"}
    first = api.gql(COUNT, {"first": 3, "filter": counted})["verificationSessions"]
    cursors = cursors_by_id(api)
    last_id = first["nodes"][-1]["id"]
    # when
    second = api.gql(COUNT, {"first": 3, "after": cursors[last_id], "filter": counted})
    unfiltered = api.gql(COUNT, {"first": 0})
    # then
    assert first["totalCount"] == 4
    assert len(first["nodes"]) == 3
    assert second["verificationSessions"]["totalCount"] == 4
    assert len(second["verificationSessions"]["nodes"]) == 1
    assert unfiltered["verificationSessions"] == {"nodes": [], "totalCount": 5}


# --- isolation -------------------------------------------------------------------------------


def test_other_accounts_and_live_mode_sessions_are_never_listed_or_counted(
    api: Api, other_api: Api, create_session: CreateSession
) -> None:
    # given
    mine = [create_session(clientReferenceId="shared") for _ in range(2)]
    for _ in range(3):
        payload = other_api.gql(
            CREATE_MINIMAL, {"input": {"type": "DOCUMENT", "clientReferenceId": "shared"}}
        )
        assert payload["createVerificationSession"]["userErrors"] == []
    live_key = api.new_key(livemode=True)
    live = api.gql(
        CREATE_MINIMAL,
        {"input": {"type": "DOCUMENT", "clientReferenceId": "shared"}},
        key=live_key,
    )["createVerificationSession"]["verificationSession"]
    # when
    test_mode = api.gql(COUNT, {"first": 100})
    test_mode_filtered = api.gql(COUNT, {"filter": {"clientReferenceId": "shared"}})
    live_mode = api.gql(COUNT, {"first": 100}, key=live_key)
    # then
    mine_listed = {"nodes": [{"id": s["id"]} for s in reversed(mine)], "totalCount": 2}
    assert test_mode["verificationSessions"] == mine_listed
    assert test_mode_filtered["verificationSessions"] == mine_listed
    assert live_mode["verificationSessions"] == {"nodes": [{"id": live["id"]}], "totalCount": 1}


def test_a_cursor_from_another_account_pages_only_through_your_own_sessions(
    api: Api, other_api: Api, create_session: CreateSession
) -> None:
    # given
    mine = [create_session() for _ in range(3)]
    other_api.gql(CREATE_MINIMAL, {"input": {"type": "DOCUMENT"}})
    foreign_cursor = list_page(other_api)["edges"][0]["cursor"]
    # when
    before_it = list_page(api, last=10, before=foreign_cursor)
    after_it = list_page(api, first=10, after=foreign_cursor)
    # then: the other account's session is newer than all of mine
    assert ids_of(after_it) == [session["id"] for session in reversed(mine)]
    assert before_it["nodes"] == []


# --- bad arguments ---------------------------------------------------------------------------

GARBAGE = base64.urlsafe_b64encode(b"\x00\xffgarbage\xfe").decode()
NOT_A_TIME = base64.urlsafe_b64encode(b"v1:soon:vs_1NuNAILkdIwHu7ixh7OtGMLw").decode()

BAD_ARGUMENTS = {
    "first over 100": (
        {"first": 101},
        "`first` must be between 0 and 100, got 101; request fewer rows.",
    ),
    "last over 100": (
        {"last": 101},
        "`last` must be between 0 and 100, got 101; request fewer rows.",
    ),
    "negative first": ({"first": -1}, "`first` must be between 0 and 100, got -1."),
    "negative last": ({"last": -5}, "`last` must be between 0 and 100, got -5."),
    "first and last": (
        {"first": 2, "last": 2},
        "Passing both `first` and `last` is not supported; page with one of them.",
    ),
    "random text after": (
        {"after": "page-two-please"},
        "`after` is not a cursor returned by this API: 'page-two-please'.",
    ),
    "random text before": (
        {"last": 2, "before": "zzz"},
        "`before` is not a cursor returned by this API: 'zzz'.",
    ),
    "base64 of garbage after": (
        {"after": GARBAGE},
        f"`after` is not a cursor returned by this API: {GARBAGE!r}.",
    ),
    "base64 of garbage before": (
        {"before": NOT_A_TIME},
        f"`before` is not a cursor returned by this API: {NOT_A_TIME!r}.",
    ),
}


@pytest.mark.parametrize(("arguments", "message"), BAD_ARGUMENTS.values(), ids=BAD_ARGUMENTS.keys())
def test_bad_arguments_are_a_top_level_bad_user_input_error(
    api: Api, create_session: CreateSession, arguments: dict[str, Any], message: str
) -> None:
    # given
    create_session()
    # when
    error = top_level_error(api, LIST, arguments)
    # then
    assert error["message"] == message
    assert error["extensions"] == {"code": "BAD_USER_INPUT"}
    assert error["path"] == ["verificationSessions"]


@pytest.mark.parametrize("argument", ["after", "before"])
def test_a_truncated_real_cursor_is_a_bad_user_input_error(
    api: Api, create_session: CreateSession, argument: str
) -> None:
    # given
    create_session()
    create_session()
    cursor = list_page(api)["pageInfo"]["endCursor"]
    # when
    errors = [top_level_error(api, LIST, {argument: cursor[:-cut]}) for cut in (1, 3, 8, 30)]
    # then
    assert [(error["message"], error["extensions"]) for error in errors] == [
        (
            f"`{argument}` is not a cursor returned by this API: {cursor[:-cut]!r}.",
            {"code": "BAD_USER_INPUT"},
        )
        for cut in (1, 3, 8, 30)
    ]


def test_bad_arguments_do_not_need_sessions_to_fail(api: Api) -> None:
    # when
    error = top_level_error(api, LIST, {"first": 1000})
    # then
    assert error["extensions"] == {"code": "BAD_USER_INPUT"}
    assert error["message"] == "`first` must be between 0 and 100, got 1000; request fewer rows."


def test_created_filter_that_is_not_a_date_is_rejected(api: Api) -> None:
    # when
    response = api.post(LIST, {"filter": {"created": {"gte": "yesterday"}}})
    # then
    assert response.status_code == 200
    assert [(error["message"], error["extensions"]) for error in response.json()["errors"]] == [
        (
            "Variable '$filter' has invalid value at .created.gte: Expected value of type "
            "'DateTime', but encountered error 'DateTime must be an RFC 3339 string such as "
            "2026-01-31T12:00:00.000000Z, got 'yesterday''; found: 'yesterday'.",
            {"code": "BAD_USER_INPUT"},
        )
    ]
