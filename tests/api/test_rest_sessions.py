"""`/v1/identity/verification_sessions` through Stripe's own Python SDK, against a live server on
SQLite and Postgres: the same sessions and rules as GraphQL, in Stripe's shapes and errors."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import stripe

from app.services import sessions as app_sessions
from tests.conftest import Api
from tests.helpers import simulate

SESSION = """
query Session($id: ID!) {
  verificationSession(id: $id) { id status clientReferenceId metadata redaction { status } }
}
"""
RELATED_PERSON = """
query Session($id: ID!) { verificationSession(id: $id) { relatedPerson { account person } } }
"""
PATH = "/v1/identity/verification_sessions"


@pytest.fixture
def client(api: Api) -> stripe.StripeClient:
    return stripe_client(api, api.key)


def stripe_client(api: Api, key: str) -> stripe.StripeClient:
    # No retries: a test sees the first answer, as a caller's error handling would.
    return stripe.StripeClient(
        key, base_addresses={"api": api.server.base_url}, max_network_retries=0
    )


def sessions(client: stripe.StripeClient) -> Any:
    return client.v1.identity.verification_sessions


@pytest.fixture
def three(client: stripe.StripeClient) -> Iterator[list[str]]:
    """Three sessions of a fresh account, newest first."""
    made = [sessions(client).create(params={"type": "document"}).id for _ in range(3)]
    yield made[::-1]


def test_create_answers_stripes_object_and_graphql_sees_the_same_session(
    api: Api, client: stripe.StripeClient
) -> None:
    # when
    session = sessions(client).create(
        params={
            "type": "document",
            "client_reference_id": "user_42",
            "metadata": {"order": "o_1"},
            "options": {
                "document": {"allowed_types": ["passport", "id_card"], "require_id_number": True}
            },
            "provided_details": {"email": "jenny@example.com"},
        }
    )
    # then
    assert session.object == "identity.verification_session"
    assert session.id.startswith("vs_")
    assert session.status == "requires_input" and session.type == "document"
    assert isinstance(session.created, int)
    assert session.livemode is False
    assert session.metadata.to_dict() == {"order": "o_1"}
    assert session.options.to_dict() == {
        "document": {"allowed_types": ["passport", "id_card"], "require_id_number": True}
    }
    assert session.client_secret.startswith(f"{session.id}_secret_")
    assert session.url.startswith(f"{api.server.base_url}/verify/")
    # Stripe sends these attributes as null until there is something to say.
    for name in ("last_error", "last_verification_report", "redaction", "verified_outputs"):
        assert session[name] is None
    # and: one store, two views
    seen = api.gql(SESSION, {"id": session.id})["verificationSession"]
    assert seen == {
        "id": session.id,
        "status": "REQUIRES_INPUT",
        "clientReferenceId": "user_42",
        "metadata": {"order": "o_1"},
        "redaction": None,
    }


def test_related_person_is_a_create_parameter_that_graphql_sees_too(
    api: Api, client: stripe.StripeClient
) -> None:
    # given
    person = {"account": "acct_1032D82eZvKYlo2C", "person": "person_1MqjB62eZvKYlo2C"}
    # when
    made = sessions(client).create(params={"type": "document", "related_person": person})
    plain = sessions(client).create(params={"type": "document"})
    # then
    assert made.related_person.to_dict() == person
    assert sessions(client).retrieve(made.id).related_person.to_dict() == person
    assert plain.related_person is None
    listed = {s.id: s for s in sessions(client).list(params={"limit": 2}).data}
    assert listed[made.id].related_person.to_dict() == person
    assert api.gql(RELATED_PERSON, {"id": made.id})["verificationSession"] == {
        "relatedPerson": person
    }
    # and: the created event carries the whole session, as Stripe's does
    created = client.v1.events.list(params={"limit": 2}).data
    assert created[1].data.object.id == made.id
    assert created[1].data.object.related_person.to_dict() == person


@pytest.mark.parametrize(
    ("person", "param", "code", "message"),
    [
        (
            {"account": "acct_1", "person": "cus_1"},
            "related_person[person]",
            "parameter_invalid",
            "related_person.person must be a person id: person_ then letters and digits, such "
            "as person_123; got 'cus_1'.",
        ),
        (
            {"account": "acct_1-2", "person": "person_1"},
            "related_person[account]",
            "parameter_invalid",
            "related_person.account must be an account id: acct_ then letters and digits, such "
            "as acct_123; got 'acct_1-2'.",
        ),
        (
            {"account": "acct_1"},
            "related_person[person]",
            "parameter_missing",
            "Missing required param: related_person.person. related_person needs both account "
            "and person.",
        ),
        (
            {"account": "acct_1", "person": "person_1", "customer": "cus_1"},
            "related_person[customer]",
            "parameter_unknown",
            "Received unknown parameter: related_person[customer]",
        ),
    ],
)
def test_related_person_rules_name_the_parameter_and_write_nothing(
    client: stripe.StripeClient, person: dict[str, str], param: str, code: str, message: str
) -> None:
    # when
    with pytest.raises(stripe.InvalidRequestError) as raised:
        sessions(client).create(params={"type": "document", "related_person": person})
    # then
    assert raised.value.http_status == 400
    assert (raised.value.param, raised.value.code) == (param, code)
    assert raised.value.user_message == message
    assert sessions(client).list().data == []


def test_related_person_cannot_be_updated(client: stripe.StripeClient) -> None:
    # given
    made = sessions(client).create(
        params={"type": "document", "related_person": {"account": "acct_1", "person": "person_1"}}
    )
    # when
    with pytest.raises(stripe.InvalidRequestError) as raised:
        sessions(client).update(
            made.id, params={"related_person": {"account": "acct_2", "person": "person_2"}}
        )
    # then
    assert (raised.value.param, raised.value.code) == ("related_person", "parameter_unknown")
    assert sessions(client).retrieve(made.id).related_person.to_dict() == {
        "account": "acct_1",
        "person": "person_1",
    }


def test_matching_and_id_number_options_come_from_a_flow_and_are_not_parameters(
    api: Api, client: stripe.StripeClient
) -> None:
    # given
    flow_id = api.new_flow(
        options={"matching": {"dob": "similar", "name": "none"}, "id_number": {}}
    )
    # when
    from_flow = sessions(client).create(params={"verification_flow": flow_id})
    updated = sessions(client).update(
        from_flow.id, params={"options": {"document": {"require_matching_selfie": True}}}
    )
    # then
    assert from_flow.options.to_dict() == {
        "matching": {"dob": "similar", "name": "none"},
        "id_number": {},
    }
    assert updated.options.to_dict() == {
        "matching": {"dob": "similar", "name": "none"},
        "id_number": {},
        "document": {"require_matching_selfie": True},
    }
    # and: as on Stripe, a caller's create or update takes only options[document]
    for send in (
        lambda: sessions(client).create(
            params={"type": "document", "options": {"matching": {"dob": "similar"}}}
        ),
        lambda: sessions(client).update(from_flow.id, params={"options": {"id_number": ""}}),
    ):
        with pytest.raises(stripe.InvalidRequestError) as raised:
            send()
        assert raised.value.code == "parameter_unknown"
        assert raised.value.param in ("options[matching]", "options[id_number]")
    assert [s.id for s in sessions(client).list().data] == [from_flow.id]
    assert sessions(client).retrieve(from_flow.id).options.to_dict() == updated.options.to_dict()


def test_retrieve_and_update_follow_stripes_metadata_rules(client: stripe.StripeClient) -> None:
    # given
    made = sessions(client).create(params={"type": "document", "metadata": {"a": "1", "b": "2"}})
    # when
    updated = sessions(client).update(made.id, params={"metadata": {"a": "", "c": "3"}})
    cleared = sessions(client).update(made.id, params={"metadata": ""})
    # then
    assert updated.metadata.to_dict() == {"b": "2", "c": "3"}
    assert cleared.metadata.to_dict() == {}
    assert sessions(client).retrieve(made.id).metadata.to_dict() == {}


def test_list_pages_newest_first_both_ways_with_auto_paging(
    client: stripe.StripeClient, three: list[str]
) -> None:
    # when
    first = sessions(client).list(params={"limit": 2})
    forward = [s.id for s in sessions(client).list(params={"limit": 1}).auto_paging_iter()]
    backward = [
        s.id
        for s in sessions(client)
        .list(params={"limit": 1, "ending_before": three[-1]})
        .auto_paging_iter()
    ]
    # then
    assert first.object == "list" and first.url == PATH
    assert [s.id for s in first.data] == three[:2] and first.has_more is True
    assert forward == three
    # Going back from the oldest, the SDK yields the newer sessions nearest first.
    assert backward == three[:2][::-1]


def test_list_filters_by_status_reference_and_created(
    api: Api, client: stripe.StripeClient
) -> None:
    # given
    kept = sessions(client).create(params={"type": "document", "client_reference_id": "r1"})
    other = sessions(client).create(params={"type": "document", "client_reference_id": "r2"})
    sessions(client).cancel(other.id)
    # when
    by_status = sessions(client).list(params={"status": "canceled"})
    by_reference = sessions(client).list(params={"client_reference_id": "r1"})
    by_created = sessions(client).list(params={"created": {"gte": kept.created}})
    in_the_past = sessions(client).list(params={"created": {"lt": kept.created - 3600}})
    # then
    assert [s.id for s in by_status.data] == [other.id]
    assert [s.id for s in by_reference.data] == [kept.id]
    assert {s.id for s in by_created.data} == {kept.id, other.id}
    assert in_the_past.data == []


def test_cancel_and_redact_run_the_lifecycle(api: Api, client: stripe.StripeClient) -> None:
    # given
    made = sessions(client).create(params={"type": "document"})
    # when
    canceled = sessions(client).cancel(made.id)
    again = sessions(client).cancel(made.id)
    redacted = sessions(client).redact(made.id)
    # then
    assert canceled.status == "canceled" and canceled.client_secret is None and canceled.url is None
    assert again.status == "canceled"
    assert redacted.redaction.to_dict() == {"status": "processing"}
    assert api.gql(SESSION, {"id": made.id})["verificationSession"]["redaction"] == {
        "status": "PROCESSING"
    }


def test_a_verified_session_shows_its_outputs_only_when_expanded(
    api: Api, client: stripe.StripeClient
) -> None:
    # given
    made = sessions(client).create(params={"type": "document"})
    simulate(api, made.id, "VERIFIED")
    # when
    plain = sessions(client).retrieve(made.id)
    outputs = sessions(client).retrieve(made.id, params={"expand": ["verified_outputs"]})
    with_dob = sessions(client).retrieve(
        made.id, params={"expand": ["verified_outputs", "verified_outputs.dob"]}
    )
    listed = sessions(client).list(params={"expand": ["data.verified_outputs"], "limit": 1})
    # then
    assert plain.status == "verified" and plain.verified_outputs is None
    assert outputs.verified_outputs.first_name and outputs.verified_outputs.dob is None
    assert with_dob.verified_outputs.dob.year
    assert listed.data[0].verified_outputs.first_name


def test_errors_arrive_as_the_sdks_exception_classes(api: Api, client: stripe.StripeClient) -> None:
    # missing: 404 resource_missing
    with pytest.raises(stripe.InvalidRequestError) as missing:
        sessions(client).retrieve("vs_000000000000000000000000")
    assert missing.value.http_status == 404 and missing.value.code == "resource_missing"
    # a rule broken: 400, naming the parameter, nothing written
    before = sessions(client).list(params={"limit": 100}).data
    with pytest.raises(stripe.InvalidRequestError) as bad:
        sessions(client).create(params={"type": "document", "metadata": {"k" * 41: "v"}})
    assert bad.value.http_status == 400 and bad.value.param == f"metadata[{'k' * 41}]"
    assert "40 characters" in bad.value.user_message
    assert sessions(client).list(params={"limit": 100}).data == before
    # an unknown parameter
    with pytest.raises(stripe.InvalidRequestError) as unknown:
        sessions(client).create(params={"type": "document", "colour": "blue"})
    assert unknown.value.code == "parameter_unknown" and unknown.value.param == "colour"
    # a state that forbids the change
    made = sessions(client).create(params={"type": "document"})
    sessions(client).cancel(made.id)
    with pytest.raises(stripe.InvalidRequestError) as state:
        sessions(client).update(made.id, params={"metadata": {"a": "b"}})
    assert state.value.http_status == 400
    # both cursors at once
    with pytest.raises(stripe.InvalidRequestError) as cursors:
        sessions(client).list(params={"starting_after": made.id, "ending_before": made.id})
    assert cursors.value.param == "ending_before"
    # keys
    with pytest.raises(stripe.AuthenticationError):
        sessions(stripe_client(api, "sk_test_" + "x" * 32)).list()
    restricted = stripe_client(api, api.new_key(restricted=True))
    assert sessions(restricted).retrieve(made.id).client_secret is None
    with pytest.raises(stripe.PermissionError):
        sessions(restricted).create(params={"type": "document"})


def test_other_accounts_and_modes_do_not_see_a_session(
    api: Api, other_api: Api, client: stripe.StripeClient
) -> None:
    # given
    made = sessions(client).create(params={"type": "document"})
    # then
    for key in (other_api.key, api.new_key(livemode=True)):
        with pytest.raises(stripe.InvalidRequestError) as missing:
            sessions(stripe_client(api, key)).retrieve(made.id)
        assert missing.value.http_status == 404


def test_basic_auth_stripe_version_and_bracket_syntax_over_plain_http(api: Api) -> None:
    # given
    basic = base64.b64encode(f"{api.key}:".encode()).decode()
    body = (
        "type=document&metadata[plan]=pro&options[document][allowed_types][0]=passport"
        "&options[document][require_live_capture]=true&expand[]=provided_details"
        "&provided_details[email]=a%40example.com"
    )
    # when
    response = httpx.post(
        f"{api.server.base_url}{PATH}",
        content=body,
        headers={
            "Authorization": f"Basic {basic}",
            "Content-Type": "application/x-www-form-urlencoded",
            "Stripe-Version": "2026-01-28.clover",
        },
    )
    # then
    assert response.status_code == 200, response.text
    assert response.headers["stripe-version"] == "2026-01-28.clover"
    assert response.headers["request-id"]
    made = response.json()
    assert made["metadata"] == {"plan": "pro"}
    assert made["options"] == {
        "document": {"allowed_types": ["passport"], "require_live_capture": True}
    }
    assert made["provided_details"] == {"email": "a@example.com"}


@pytest.mark.parametrize(
    ("body", "param", "code"),
    [
        (
            "type=document&options[document][require_live_capture]=yes",
            "options[document][require_live_capture]",
            None,
        ),
        ("type=document&options[selfie][x]=1", "options[selfie]", "parameter_unknown"),
        ("type=document&metadata=x", "metadata", None),
        ("type[]=document", "type", None),
        ("type=document&expand[]=url", "expand", None),
        ("type=document&a]=1", "a]", None),
        ("type=document&provided_details[email][x]=1", "provided_details[email]", None),
        ("type=document&return_url=http://[::1", "return_url", "parameter_invalid"),
    ],
)
def test_malformed_parameters_name_the_parameter(
    api: Api, body: str, param: str, code: str | None
) -> None:
    # when
    response = httpx.post(
        f"{api.server.base_url}{PATH}",
        content=body,
        headers={
            "Authorization": f"Bearer {api.key}",
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )
    # then
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["param"] == param
    assert error.get("code") == code


def test_an_idempotency_key_replays_the_first_answer_and_refuses_another_request(
    api: Api, client: stripe.StripeClient
) -> None:
    # when
    first = sessions(client).create(
        params={"type": "document"}, options={"idempotency_key": "order-7"}
    )
    again = sessions(client).create(
        params={"type": "document"}, options={"idempotency_key": "order-7"}
    )
    # then
    assert again.id == first.id
    assert again.last_response.headers["Idempotent-Replayed"] == "true"
    assert [s.id for s in sessions(client).list(params={"limit": 100}).data] == [first.id]
    # and: another request with the same key is refused
    with pytest.raises(stripe.IdempotencyError) as reused:
        sessions(client).create(
            params={"type": "id_number"}, options={"idempotency_key": "order-7"}
        )
    assert reused.value.http_status == 400
    # and: the key is spent for GraphQL mutations too (one store for both surfaces)
    response = api.post(
        "mutation { createVerificationSession(input: {type: DOCUMENT}) { userErrors { code } } }",
        headers={"Idempotency-Key": "order-7"},
    )
    assert response.json()["errors"][0]["extensions"]["code"] == "IDEMPOTENCY_KEY_REUSED"


def test_an_unexpected_failure_is_stripes_api_error_with_nothing_leaked(
    api: Api, client: stripe.StripeClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given
    async def explode(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("password=hunter2-not-a-real-secret")

    monkeypatch.setattr(app_sessions, "get", explode)
    # when
    with pytest.raises(stripe.APIError) as failed:
        sessions(client).retrieve("vs_000000000000000000000000")
    # then
    assert failed.value.http_status == 500
    assert "hunter2" not in str(failed.value.json_body)
    assert failed.value.json_body == {
        "error": {"type": "api_error", "message": "An unexpected error occurred; retry later."}
    }


HELPERS = "/v1/test_helpers/identity/verification_sessions"


def test_the_test_helpers_move_a_session_as_the_stripe_cli_asks(
    api: Api, client: stripe.StripeClient
) -> None:
    # given
    made = sessions(client).create(params={"type": "document"})
    auth = {"Authorization": f"Bearer {api.key}"}

    def helper(name: str, session_id: str = made.id) -> httpx.Response:
        return api.http.post(f"{HELPERS}/{session_id}/{name}", headers=auth)

    # when / then: processing, back to requires_input, then verified
    assert helper("process").json()["status"] == "processing"
    back = helper("require_input").json()
    assert back["status"] == "requires_input"
    assert back["last_error"]["code"] == "abandoned"
    assert back["client_secret"] and back["last_verification_report"]
    verified = helper("verify").json()
    assert verified["status"] == "verified" and verified["last_error"] is None
    # and: GraphQL sees the same session
    assert api.gql(SESSION, {"id": made.id})["verificationSession"]["status"] == "VERIFIED"
    # and: a finished session cannot move, and unknown ids are missing
    refused = helper("process")
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "invalid_state"
    assert helper("verify", "vs_000000000000000000000000").status_code == 404


def test_the_test_helpers_refuse_live_mode_keys(api: Api) -> None:
    # given
    live_key = api.new_key(livemode=True)
    live = stripe_client(api, live_key)
    made = sessions(live).create(params={"type": "document"})
    # when
    response = api.http.post(
        f"{HELPERS}/{made.id}/verify", headers={"Authorization": f"Bearer {live_key}"}
    )
    # then
    assert response.status_code == 403
    assert sessions(live).retrieve(made.id).status == "requires_input"


def test_a_body_too_large_or_not_a_form_is_refused_before_anything_runs(api: Api) -> None:
    # given
    limit = api.server.settings.max_body_bytes
    headers = {"Authorization": f"Bearer {api.key}"}
    form = {**headers, "Content-Type": "application/x-www-form-urlencoded"}
    # when
    too_large = api.http.post(
        PATH, content=b"type=document&metadata[k]=" + b"v" * limit, headers=form
    )
    streamed = api.http.post(PATH, content=iter([b"type=document&x=", b"v" * limit]), headers=form)
    json_body = api.http.post(
        PATH, json={"type": "document"}, headers={**headers, "Content-Type": "application/json"}
    )
    # then
    for response in (too_large, streamed):
        assert response.status_code == 413
        assert response.json()["error"]["type"] == "invalid_request_error"
        assert "MAX_BODY_BYTES" in response.json()["error"]["message"]
    assert json_body.status_code == 415
    assert api.http.get(PATH, headers=headers).json()["data"] == []
