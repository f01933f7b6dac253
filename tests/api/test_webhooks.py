"""Webhook endpoints and signed deliveries, through Stripe's own Python SDK against a live server
on SQLite and Postgres, with a real receiver on loopback: every delivery verifies with
`stripe.Webhook.construct_event`, failures are retried on the schedule, and GraphQL and REST
events are the rows that are delivered.

The test server retries a second apart, three times, and waits 2 s for an answer (see
tests/conftest.py)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import stripe

from tests.conftest import Api, client_of
from tests.helpers import EVENT_PREFIX, simulate, wait_for
from tests.receiver import Delivery, Receiver, receiving

CREATED = EVENT_PREFIX + "created"
CANCELED = EVENT_PREFIX + "canceled"
PATH = "/v1/webhook_endpoints"


@pytest.fixture
def client(api: Api) -> stripe.StripeClient:
    return stripe_client(api, api.key)


def stripe_client(api: Api, key: str) -> stripe.StripeClient:
    return stripe.StripeClient(
        key, base_addresses={"api": api.server.base_url}, max_network_retries=0
    )


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with receiving() as started:
        yield started


def endpoint(client: stripe.StripeClient, url: str, events: list[str] | None = None) -> Any:
    return client.v1.webhook_endpoints.create(
        params={"url": url, "enabled_events": events or ["*"]}
    )


def verified(delivery: Delivery, secret: str) -> Any:
    """The event, as the SDK's own webhook check reads it (raises if the signature is bad)."""
    return stripe.Webhook.construct_event(delivery.body, delivery.signature, secret)


def new_session(client: stripe.StripeClient) -> Any:
    return client.v1.identity.verification_sessions.create(params={"type": "document"})


def pending_of(client: stripe.StripeClient, event_id: str) -> int:
    return int(client.v1.events.retrieve(event_id).pending_webhooks)


# --- endpoints ----------------------------------------------------------------------------------


def test_an_endpoint_is_created_read_updated_listed_and_deleted_as_on_stripe(
    client: stripe.StripeClient,
) -> None:
    # when
    made = client.v1.webhook_endpoints.create(
        params={
            "url": "https://example.com/hooks",
            "enabled_events": [CREATED, CANCELED],
            "description": "orders",
            "metadata": {"team": "kyc"},
        }
    )
    read = client.v1.webhook_endpoints.retrieve(made.id)
    updated = client.v1.webhook_endpoints.update(
        made.id,
        params={"disabled": True, "enabled_events": ["*"], "metadata": {"team": "", "x": "1"}},
    )
    listed = client.v1.webhook_endpoints.list()
    deleted = client.v1.webhook_endpoints.delete(made.id)
    # then
    assert made.object == "webhook_endpoint" and made.id.startswith("we_")
    assert made.secret.startswith("whsec_")
    assert made.status == "enabled" and made.livemode is False
    assert made.enabled_events == [CREATED, CANCELED]
    assert made.description == "orders" and made.metadata.to_dict() == {"team": "kyc"}
    assert isinstance(made.created, int)
    # The secret is shown once, on create.
    assert "secret" not in read and read.url == "https://example.com/hooks"
    assert updated.status == "disabled" and updated.enabled_events == ["*"]
    assert updated.metadata.to_dict() == {"x": "1"} and "secret" not in updated
    assert [each.id for each in listed.data] == [made.id] and listed.url == PATH
    assert deleted.to_dict() == {"id": made.id, "object": "webhook_endpoint", "deleted": True}
    with pytest.raises(stripe.InvalidRequestError) as missing:
        client.v1.webhook_endpoints.retrieve(made.id)
    assert missing.value.http_status == 404 and missing.value.code == "resource_missing"


def test_endpoints_list_newest_first_in_pages_both_ways(client: stripe.StripeClient) -> None:
    # given
    made = [endpoint(client, f"https://example.com/{n}").id for n in range(5)][::-1]
    # when
    first = client.v1.webhook_endpoints.list(params={"limit": 2})
    forward = [
        each.id for each in client.v1.webhook_endpoints.list(params={"limit": 2}).auto_paging_iter()
    ]
    back = client.v1.webhook_endpoints.list(params={"limit": 2, "ending_before": made[3]})
    # then
    assert [each.id for each in first.data] == made[:2] and first.has_more is True
    assert forward == made
    assert [each.id for each in back.data] == made[1:3] and back.has_more is True
    with pytest.raises(stripe.InvalidRequestError) as unknown:
        client.v1.webhook_endpoints.list(params={"starting_after": "we_nope"})
    assert unknown.value.param == "starting_after"


@pytest.mark.parametrize(
    ("params", "param", "words"),
    [
        ({"enabled_events": ["*"]}, "url", "Missing required param: url"),
        ({"url": "https://example.com/h"}, "enabled_events", "Missing required param"),
        ({"url": "ftp://example.com/h", "enabled_events": ["*"]}, "url", "absolute http"),
        ({"url": "http://[::1", "enabled_events": ["*"]}, "url", "absolute http"),
        # A host that is no valid IDNA: the worker could never send to it.
        ({"url": "http://xn--.com/h", "enabled_events": ["*"]}, "url", "no request can reach"),
        (
            {"url": "https://example.com/h", "enabled_events": ["charge.succeeded"]},
            "enabled_events[0]",
            "Invalid event type 'charge.succeeded'",
        ),
        (
            {"url": "https://example.com/h", "enabled_events": ["*", CREATED]},
            "enabled_events",
            "`*` alone",
        ),
        (
            {"url": "https://example.com/h", "enabled_events": ["*"], "colour": "red"},
            "colour",
            "unknown parameter",
        ),
    ],
)
def test_a_bad_endpoint_is_refused_naming_the_parameter_and_nothing_is_made(
    client: stripe.StripeClient, params: dict[str, Any], param: str, words: str
) -> None:
    # when
    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.webhook_endpoints.create(params=params)
    # then
    assert refused.value.http_status == 400 and refused.value.param == param
    assert words in refused.value.user_message
    assert client.v1.webhook_endpoints.list().data == []


def test_live_mode_endpoints_need_https(api: Api) -> None:
    # given
    live = stripe_client(api, api.new_key(livemode=True))
    # when
    with pytest.raises(stripe.InvalidRequestError) as refused:
        endpoint(live, "http://example.com/hooks")
    made = endpoint(live, "https://example.com/hooks")
    # then
    assert refused.value.param == "url" and "live-mode" in refused.value.user_message
    assert made.livemode is True


def test_restricted_keys_read_endpoints_but_cannot_change_them(
    api: Api, client: stripe.StripeClient
) -> None:
    # given
    made = endpoint(client, "https://example.com/hooks")
    restricted = stripe_client(api, api.new_key(restricted=True))
    # when
    read = restricted.v1.webhook_endpoints.retrieve(made.id)
    with pytest.raises(stripe.PermissionError):
        restricted.v1.webhook_endpoints.delete(made.id)
    # then
    assert read.id == made.id and "secret" not in read


def test_an_account_has_at_most_sixteen_endpoints_per_mode(client: stripe.StripeClient) -> None:
    # given
    for n in range(16):
        endpoint(client, f"https://example.com/{n}")
    # when
    with pytest.raises(stripe.InvalidRequestError) as refused:
        endpoint(client, "https://example.com/17")
    # then
    assert "maximum of 16" in refused.value.user_message


def test_endpoints_of_another_account_are_invisible(
    client: stripe.StripeClient, other_api: Api
) -> None:
    # given
    made = endpoint(client, "https://example.com/hooks")
    other = stripe_client(other_api, other_api.key)
    # when / then
    for call in (
        lambda: other.v1.webhook_endpoints.retrieve(made.id),
        lambda: other.v1.webhook_endpoints.update(made.id, params={"description": "x"}),
        lambda: other.v1.webhook_endpoints.delete(made.id),
    ):
        with pytest.raises(stripe.InvalidRequestError) as missing:
            call()
        assert missing.value.http_status == 404
    assert other.v1.webhook_endpoints.list().data == []


# --- deliveries ---------------------------------------------------------------------------------


def test_every_event_is_delivered_signed_and_is_the_event_the_api_shows(
    api: Api, client: stripe.StripeClient, receiver: Receiver
) -> None:
    # given
    secret = endpoint(client, receiver.url).secret
    session = new_session(client)
    simulate(api, session.id, "VERIFIED")
    # when
    deliveries = receiver.wait_for(3)
    # then: created, processing and verified, each verified by the SDK
    events = [verified(delivery, secret) for delivery in deliveries]
    assert sorted(event.type for event in events) == sorted(
        EVENT_PREFIX + kind for kind in ("created", "processing", "verified")
    )
    for delivery, event in zip(deliveries, events, strict=True):
        assert delivery.path == "/hooks"
        assert delivery.headers["content-type"].startswith("application/json")
        assert event.data.object.id == session.id
        shown = client.v1.events.retrieve(event.id).to_dict()
        # Pending while it was being delivered; delivered since.
        assert delivery.event == {**shown, "pending_webhooks": 1}
    wait_for(
        lambda: [pending_of(client, event.id) for event in events],
        lambda counts: counts == [0, 0, 0],
        what="every event delivered",
    )
    assert receiver.quiet_for(1.5) == deliveries  # and nothing twice


def test_an_endpoint_gets_only_the_events_it_enabled_of_its_own_account_and_mode(
    api: Api, client: stripe.StripeClient, other_api: Api
) -> None:
    # given
    with receiving() as canceled_only, receiving() as everything, receiving() as other:
        endpoint(client, canceled_only.url, [CANCELED])
        endpoint(client, everything.url)
        endpoint(stripe_client(other_api, other_api.key), other.url)
        live = stripe_client(api, api.new_key(livemode=True))
        # when
        session = new_session(client)
        client.v1.identity.verification_sessions.cancel(session.id)
        new_session(live)
        # then
        # (in any order: deliveries are sent concurrently, and Stripe promises no order either)
        assert sorted(each.event["type"] for each in everything.wait_for(2)) == [CANCELED, CREATED]
        assert [each.event["type"] for each in canceled_only.wait_for(1)] == [CANCELED]
        assert other.quiet_for(1.5) == []
        assert len(everything.quiet_for(0.5)) == 2


def test_a_disabled_endpoint_gets_nothing_until_enabled_again(
    client: stripe.StripeClient, receiver: Receiver
) -> None:
    # given
    made = endpoint(client, receiver.url)
    client.v1.webhook_endpoints.update(made.id, params={"disabled": True})
    # when
    session = new_session(client)
    quiet = receiver.quiet_for(1.5)
    client.v1.webhook_endpoints.update(made.id, params={"disabled": False})
    client.v1.identity.verification_sessions.cancel(session.id)
    # then: events while it was disabled are not sent to it
    assert quiet == []
    assert [each.event["type"] for each in receiver.wait_for(1)] == [CANCELED]
    assert len(receiver.quiet_for(1.5)) == 1


def test_a_failed_delivery_is_retried_until_a_2xx_and_pending_until_then(
    client: stripe.StripeClient, receiver: Receiver
) -> None:
    # given: the receiver fails twice, then takes the event
    receiver.answers = [500, 503]
    secret = endpoint(client, receiver.url).secret
    session = new_session(client)
    # when
    first = receiver.wait_for(1)[0]
    event_id = first.event["id"]
    pending = pending_of(client, event_id)
    failing = client.v1.events.list(params={"delivery_success": False}).data
    attempts = receiver.wait_for(3)
    # then: the same event, each attempt signed afresh
    assert [verified(each, secret).id for each in attempts] == [event_id] * 3
    assert pending == 1 and [each.id for each in failing] == [event_id]
    wait_for(lambda: pending_of(client, event_id), lambda count: count == 0, what="delivered")
    delivered = client.v1.events.list(params={"delivery_success": True}).data
    assert [each.id for each in delivered] == [event_id]
    assert client.v1.events.list(params={"delivery_success": False}).data == []
    assert len(receiver.quiet_for(1.5)) == 3
    assert session.id == verified(attempts[-1], secret).data.object.id


def test_a_timeout_is_a_failed_attempt_and_is_retried(
    client: stripe.StripeClient, receiver: Receiver
) -> None:
    # given: the first answer comes after the gateway's 2 s timeout
    receiver.answers = [("sleep", 3.0)]
    endpoint(client, receiver.url)
    # when
    new_session(client)
    attempts = receiver.wait_for(2)
    # then
    assert attempts[0].event["id"] == attempts[1].event["id"]
    wait_for(
        lambda: pending_of(client, attempts[0].event["id"]),
        lambda count: count == 0,
        what="delivered",
    )


def test_a_delivery_stops_when_its_schedule_is_spent_and_stays_failed(
    client: stripe.StripeClient, receiver: Receiver
) -> None:
    # given: the receiver always fails
    receiver.otherwise = 500
    endpoint(client, receiver.url)
    # when
    new_session(client)
    # then: the first attempt and three retries, then no more
    attempts = receiver.wait_for(4)
    assert len(receiver.quiet_for(2.5)) == 4
    event_id = attempts[0].event["id"]
    assert pending_of(client, event_id) == 1
    assert [each.id for each in client.v1.events.list(params={"delivery_success": False})] == [
        event_id
    ]


def test_deleting_an_endpoint_stops_its_retries(
    client: stripe.StripeClient, receiver: Receiver
) -> None:
    # given
    receiver.otherwise = 500
    made = endpoint(client, receiver.url)
    new_session(client)
    event_id = receiver.wait_for(1)[0].event["id"]
    # when
    client.v1.webhook_endpoints.delete(made.id)
    # then
    assert len(receiver.quiet_for(2.5)) <= 2  # an attempt already under way may still land
    assert pending_of(client, event_id) == 0


def test_a_rolled_secret_signs_beside_the_new_one_until_it_expires(
    api: Api, client: stripe.StripeClient, receiver: Receiver
) -> None:
    # given
    made = endpoint(client, receiver.url)
    # when: rolled with the default grace, then rolled again ending the old one at once
    rolled = client.v1.webhook_endpoints.update(made.id, params={"roll_secret": True})
    new_session(client)
    during = receiver.wait_for(1)[0]
    again = client.v1.webhook_endpoints.update(
        made.id, params={"roll_secret": True, "expire_previous_secret_in": 0}
    )
    new_session(client)
    after = receiver.wait_for(2)[1]
    # then
    assert rolled.secret.startswith("whsec_") and rolled.secret != made.secret
    assert during.signature.count("v1=") == 2
    assert verified(during, made.secret).id == verified(during, rolled.secret).id
    assert after.signature.count("v1=") == 1
    assert verified(after, again.secret)
    with pytest.raises(stripe.SignatureVerificationError):
        verified(after, rolled.secret)
    assert "secret" not in client.v1.webhook_endpoints.retrieve(made.id)


def test_an_expired_timestamp_fails_the_sdks_check(
    client: stripe.StripeClient, receiver: Receiver
) -> None:
    # given
    secret = endpoint(client, receiver.url).secret
    new_session(client)
    delivery = receiver.wait_for(1)[0]
    # when / then: the signature covers the timestamp, so an old delivery cannot be replayed
    stripe.Webhook.construct_event(delivery.body, delivery.signature, secret, tolerance=300)
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(
            delivery.body, delivery.signature, secret, tolerance=-int(time.time())
        )
    tampered = delivery.body.replace(b'"livemode":false', b'"livemode":true')
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(tampered, delivery.signature, secret)


def test_an_event_records_the_request_that_caused_it_in_the_delivery(
    client: stripe.StripeClient, receiver: Receiver
) -> None:
    # given
    endpoint(client, receiver.url)
    # when
    new_session_with_key = client.v1.identity.verification_sessions.create(
        params={"type": "document"}, options={"idempotency_key": "order-77"}
    )
    delivered = receiver.wait_for(1)[0].event
    # then
    assert delivered["data"]["object"]["id"] == new_session_with_key.id
    assert delivered["request"]["idempotency_key"] == "order-77"
    assert delivered["request"]["id"].startswith("req_")


def test_webhook_endpoint_errors_use_stripes_envelope_over_plain_http(api: Api) -> None:
    # when
    response = httpx.post(
        api.server.base_url + PATH,
        data={"url": "https://example.com/h", "enabled_events[]": "nope"},
        headers={"Authorization": f"Bearer {api.key}"},
    )
    # then
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "enabled_events[0]"
    assert response.json()["error"]["type"] == "invalid_request_error"


def test_graphql_and_rest_see_the_same_delivered_events(
    api: Api, client: stripe.StripeClient, receiver: Receiver
) -> None:
    # given
    endpoint(client, receiver.url)
    session = new_session(client)
    # when
    delivered = receiver.wait_for(1)[0].event
    seen = api.gql(
        "query($s: ID) { events(first: 5, filter: {verificationSession: $s}) { nodes { id } } }",
        {"s": session.id},
    )["events"]["nodes"]
    # then
    assert [node["id"] for node in seen] == [delivered["id"]]


def test_a_second_account_on_the_same_server_has_its_own_endpoints(api: Api) -> None:
    # given
    with client_of(api.server) as third:
        client = stripe_client(third, third.key)
        # when
        made = endpoint(client, "https://example.com/hooks")
        # then
        assert [each.id for each in client.v1.webhook_endpoints.list().data] == [made.id]
