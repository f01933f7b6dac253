"""`/v1/identity/verification_reports` and `/v1/events` through Stripe's Python SDK: the reports
and events GraphQL shows, in Stripe's shapes."""

from __future__ import annotations

from typing import Any

import pytest
import stripe

from tests.conftest import Api
from tests.helpers import simulate, wait_for_redaction, wait_for_status

EVENTS = """
query Events($session: ID) {
  events(first: 50, filter: {verificationSession: $session}) { nodes { id type } }
}
"""
REPORTS = "query Reports { verificationReports(first: 50) { nodes { id } } }"


@pytest.fixture
def client(api: Api) -> stripe.StripeClient:
    return stripe.StripeClient(
        api.key, base_addresses={"api": api.server.base_url}, max_network_retries=0
    )


def verified_session(api: Api, client: stripe.StripeClient, **params: Any) -> Any:
    made = client.v1.identity.verification_sessions.create(params={"type": "document", **params})
    simulate(api, made.id, "VERIFIED")
    return client.v1.identity.verification_sessions.retrieve(made.id)


def test_a_report_reads_as_stripes_object_with_its_sensitive_parts_expandable(
    api: Api, client: stripe.StripeClient
) -> None:
    # given
    session = verified_session(api, client, client_reference_id="ref_9")
    reports = client.v1.identity.verification_reports
    # when
    report = reports.retrieve(session.last_verification_report)
    expanded = reports.retrieve(
        session.last_verification_report, params={"expand": ["document.dob", "document.number"]}
    )
    # then
    assert report.object == "identity.verification_report"
    assert report.verification_session == session.id
    assert report.client_reference_id == "ref_9"
    assert report.type == "document" and isinstance(report.created, int)
    assert report.document.status == "verified"
    assert report.document.first_name
    assert report.document.dob is None and report.document.number is None
    assert expanded.document.dob.year and expanded.document.number


# Stripe hides these until expanded since API version 2025-05-28.
SEX_AND_BIRTHPLACE = ["document.sex", "document.unparsed_place_of_birth", "document.unparsed_sex"]
PERSON = {"sex": "MALE", "unparsedPlaceOfBirth": "London", "unparsedSex": "M"}


def test_a_reports_sex_and_printed_values_show_only_when_expanded(
    api: Api, client: stripe.StripeClient
) -> None:
    # given
    made = client.v1.identity.verification_sessions.create(params={"type": "document"})
    simulate(api, made.id, "VERIFIED", verifiedOutputs=PERSON)
    session = client.v1.identity.verification_sessions.retrieve(made.id)
    reports = client.v1.identity.verification_reports
    # when
    plain = reports.retrieve(session.last_verification_report)
    expanded = reports.retrieve(
        session.last_verification_report, params={"expand": SEX_AND_BIRTHPLACE}
    )
    listed = reports.list(params={"expand": [f"data.{part}" for part in SEX_AND_BIRTHPLACE]})
    # then
    hidden = ("sex", "unparsed_place_of_birth", "unparsed_sex")
    assert [plain.document[part] for part in hidden] == [None, None, None]
    assert [expanded.document[part] for part in hidden] == ["male", "London", "M"]
    assert [listed.data[0].document[part] for part in hidden] == ["male", "London", "M"]
    # and: no images are kept, and the session came from no flow
    assert plain.document.files is None and expanded.document.files is None
    assert plain.verification_flow is None


def test_a_report_names_the_flow_its_session_came_from(
    api: Api, client: stripe.StripeClient
) -> None:
    # given
    flow_id = api.new_flow(options={"matching": {"name": "similar"}})
    made = client.v1.identity.verification_sessions.create(params={"verification_flow": flow_id})
    simulate(api, made.id, "VERIFIED")
    session = client.v1.identity.verification_sessions.retrieve(made.id)
    # when
    report = client.v1.identity.verification_reports.retrieve(session.last_verification_report)
    # then
    assert report.verification_flow == flow_id
    assert report.type == "verification_flow"


def test_a_redacted_reports_sex_and_printed_values_read_redacted_when_expanded(
    api: Api, client: stripe.StripeClient
) -> None:
    # given
    made = client.v1.identity.verification_sessions.create(params={"type": "document"})
    simulate(api, made.id, "VERIFIED", verifiedOutputs=PERSON)
    client.v1.identity.verification_sessions.redact(made.id)
    wait_for_redaction(api, made.id)
    session = client.v1.identity.verification_sessions.retrieve(made.id)
    # when
    report = client.v1.identity.verification_reports.retrieve(
        session.last_verification_report, params={"expand": SEX_AND_BIRTHPLACE}
    )
    # then
    assert report.document.sex == "[redacted]"
    assert report.document.unparsed_place_of_birth == "[redacted]"
    assert report.document.unparsed_sex == "[redacted]"
    assert report.document.files is None


def test_reports_list_with_stripes_filters(api: Api, client: stripe.StripeClient) -> None:
    # given
    first = verified_session(api, client, client_reference_id="a")
    second = verified_session(api, client, client_reference_id="b")
    reports = client.v1.identity.verification_reports
    # when
    everything = [r.id for r in reports.list(params={"limit": 1}).auto_paging_iter()]
    by_session = reports.list(params={"verification_session": first.id})
    by_reference = reports.list(params={"client_reference_id": "b"})
    by_type = reports.list(params={"type": "id_number"})
    # then
    graphql = [n["id"] for n in api.gql(REPORTS)["verificationReports"]["nodes"]]
    assert (
        everything
        == graphql
        == [
            second.last_verification_report,
            first.last_verification_report,
        ]
    )
    assert [r.id for r in by_session.data] == [first.last_verification_report]
    assert [r.id for r in by_reference.data] == [second.last_verification_report]
    assert by_type.data == []


def test_events_are_graphqls_events_with_type_wildcards_and_lists(
    api: Api, client: stripe.StripeClient
) -> None:
    # given
    session = verified_session(api, client)
    events = client.v1.events
    # when
    listed = [e.id for e in events.list(params={"limit": 2}).auto_paging_iter()]
    wildcard = events.list(params={"type": "identity.verification_session.*"})
    exact = events.list(params={"type": "identity.verification_session.verified"})
    several = events.list(
        params={
            "types": [
                "identity.verification_session.created",
                "identity.verification_session.processing",
            ]
        }
    )
    one = events.retrieve(exact.data[0].id)
    # then
    graphql = api.gql(EVENTS, {"session": session.id})["events"]["nodes"]
    assert listed == [node["id"] for node in graphql]
    assert [e.id for e in wildcard.data] == listed
    assert [e.type for e in exact.data] == ["identity.verification_session.verified"]
    assert [e.type for e in several.data] == [
        "identity.verification_session.processing",
        "identity.verification_session.created",
    ]
    assert one.object == "event" and one.data.object.id == session.id
    assert one.data.object.status == "verified"
    assert one.pending_webhooks == 0


def test_event_and_report_errors_name_the_parameter(api: Api, client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as missing:
        client.v1.events.retrieve("evt_000000000000000000000000")
    assert missing.value.http_status == 404 and missing.value.code == "resource_missing"
    with pytest.raises(stripe.InvalidRequestError) as both:
        client.v1.events.list(params={"type": "a", "types": ["b"]})
    assert both.value.param == "types"
    with pytest.raises(stripe.InvalidRequestError) as too_many:
        client.v1.events.list(params={"types": [f"t{n}" for n in range(21)]})
    assert too_many.value.param == "types"
    with pytest.raises(stripe.InvalidRequestError) as report:
        client.v1.identity.verification_reports.retrieve("vr_000000000000000000000000")
    assert report.value.http_status == 404
    with pytest.raises(stripe.InvalidRequestError) as anchor:
        client.v1.identity.verification_reports.list(
            params={"starting_after": "vr_000000000000000000000000"}
        )
    assert anchor.value.param == "starting_after"


def test_a_session_expands_its_last_report_alone_and_in_lists(
    api: Api, client: stripe.StripeClient
) -> None:
    # given
    session = verified_session(api, client)
    unverified = client.v1.identity.verification_sessions.create(params={"type": "document"})
    sessions = client.v1.identity.verification_sessions
    # when
    one = sessions.retrieve(session.id, params={"expand": ["last_verification_report"]})
    listed = sessions.list(params={"expand": ["data.last_verification_report"]})
    # then
    assert one.last_verification_report.object == "identity.verification_report"
    assert one.last_verification_report.id == session.last_verification_report
    assert one.last_verification_report.verification_session == session.id
    by_id = {item.id: item.last_verification_report for item in listed.data}
    assert by_id[session.id].id == session.last_verification_report
    assert by_id[unverified.id] is None


def test_an_event_names_the_api_request_that_caused_it(
    api: Api, client: stripe.StripeClient
) -> None:
    # given: a session made over REST with a key, submitted over GraphQL, finished by the worker
    made = client.v1.identity.verification_sessions.create(
        params={"type": "document"}, options={"idempotency_key": "evt-origin-1"}
    )
    created_request = made.last_response.request_id
    response = api.post(
        "mutation($id: ID!) { submitVerificationSession(input: {id: $id}) { userErrors { code } } }",
        {"id": made.id},
    )
    submit_request = response.headers["request-id"]
    wait_for_status(api, made.id, "VERIFIED")
    # when
    events = client.v1.events.list(params={"limit": 10}).data
    # then
    by_type = {event.type.rsplit(".", 1)[1]: event.request.to_dict() for event in events}
    assert by_type == {
        "created": {"id": created_request, "idempotency_key": "evt-origin-1"},
        "processing": {"id": submit_request, "idempotency_key": None},
        # the worker finished the attempt on its own
        "verified": {"id": None, "idempotency_key": None},
    }
