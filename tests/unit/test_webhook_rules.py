"""Webhook rules without a database: signatures that Stripe's SDK accepts, which endpoints want
which events, the retry schedule and its setting."""

from __future__ import annotations

import asyncio

import httpx
import pytest
import stripe

from app.domain import webhooks as rules
from app.domain.errors import InvalidParameter
from app.services.webhooks import Answer
from app.settings import LIVE_RETRY_SECONDS, TEST_RETRY_SECONDS, Settings, SettingsError

PAYLOAD = b'{"id":"evt_1","object":"event"}'
NOW = 1_796_000_000


def test_a_signature_verifies_with_the_sdk_for_every_secret_it_was_made_with() -> None:
    # given
    old, new = rules.new_secret(), rules.new_secret()
    # when
    header = rules.signature_header(PAYLOAD, secrets=[new, old], timestamp=NOW)
    # then
    assert header.startswith(f"t={NOW},v1=") and header.count("v1=") == 2
    for secret in (new, old):
        assert stripe.WebhookSignature.verify_header(
            PAYLOAD.decode(), header, secret, tolerance=None
        )
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.WebhookSignature.verify_header(
            PAYLOAD.decode(), header, rules.new_secret(), tolerance=None
        )


def test_a_signature_is_the_one_the_sdk_would_make() -> None:
    # given
    secret = rules.new_secret()
    # when
    ours = rules.signature_header(PAYLOAD, secrets=[secret], timestamp=NOW)
    theirs = stripe.WebhookSignature._compute_signature(f"{NOW}.{PAYLOAD.decode()}", secret)
    # then
    assert ours == f"t={NOW},v1={theirs}"


def test_secrets_are_whsec_and_unique() -> None:
    made = {rules.new_secret() for _ in range(100)}
    assert len(made) == 100 and all(each.startswith("whsec_") for each in made)


@pytest.mark.parametrize(
    ("enabled", "wanted"),
    [
        (["*"], True),
        (["identity.verification_session.created"], True),
        (["identity.verification_session.canceled"], False),
    ],
)
def test_an_endpoint_wants_all_events_or_those_it_names(enabled: list[str], wanted: bool) -> None:
    assert rules.wants(enabled, "identity.verification_session.created") is wanted


def test_enabled_events_are_checked_and_deduplicated() -> None:
    created = "identity.verification_session.created"
    assert rules.check_enabled_events([created, created]) == [created]
    with pytest.raises(InvalidParameter) as unknown:
        rules.check_enabled_events([created, "identity.verification_session.*"])
    assert unknown.value.field == ["enabled_events", "1"]
    for bad in ([], ["*", created]):
        with pytest.raises(InvalidParameter):
            rules.check_enabled_events(bad)


@pytest.mark.parametrize(
    ("url", "livemode", "accepted"),
    [
        ("https://example.com/hooks", True, True),
        ("http://example.com/hooks", True, False),
        ("http://127.0.0.1:8000/hooks", False, True),
        ("https://", False, False),
        ("example.com/hooks", False, False),
        ("ftp://example.com/hooks", False, False),
        ("http://[::1", False, False),
        ("https://example.com/" + "a" * 2048, False, False),
        # Hosts no request can reach (httpx or the resolver raise on them), and some that can.
        ("http://xn--.com/hooks", False, False),
        ("http://example.com/\x00hooks", False, False),
        ("http://xn--zz.com/hooks", False, False),
        ("http://a..b/hooks", False, False),
        ("http://999.1.1.1/hooks", False, False),
        ("http://" + "a" * 64 + ".com/hooks", False, False),
        ("http://bücher.de/hooks", False, True),
        ("http://xn--bcher-kva.de/hooks", False, True),
        ("http://my_service:8000/hooks", False, True),
        ("http://[::1]:8000/hooks", False, True),
        ("http://example.com./hooks", False, True),
    ],
)
def test_urls_are_absolute_and_https_in_live_mode(url: str, livemode: bool, accepted: bool) -> None:
    if accepted:
        assert rules.check_url(url, livemode=livemode) == url
    else:
        with pytest.raises(InvalidParameter) as refused:
            rules.check_url(url, livemode=livemode)
        assert refused.value.field == ["url"]


def test_a_failed_attempt_waits_its_delay_in_the_schedule_then_gives_up() -> None:
    schedule = (1.0, 5.0, 30.0)
    assert [rules.retry_delay(attempt, schedule) for attempt in (1, 2, 3, 4)] == [
        1.0,
        5.0,
        30.0,
        None,
    ]
    assert rules.retry_delay(1, ()) is None


def test_the_default_schedules_retry_live_mode_for_about_three_days_test_mode_for_hours() -> None:
    assert 2.5 * 86400 < sum(LIVE_RETRY_SECONDS) <= 3 * 86400
    assert list(LIVE_RETRY_SECONDS[:8]) == sorted(LIVE_RETRY_SECONDS[:8])  # backing off
    assert sum(TEST_RETRY_SECONDS) < 6 * 3600


def test_webhook_retry_seconds_sets_both_modes_unless_test_mode_has_its_own() -> None:
    both = Settings.from_environ({"WEBHOOK_RETRY_SECONDS": "1, 1,1"})
    split = Settings.from_environ(
        {"WEBHOOK_RETRY_SECONDS": "5", "WEBHOOK_TEST_RETRY_SECONDS": "2,3"}
    )
    none = Settings.from_environ({"WEBHOOK_RETRY_SECONDS": ""})
    default = Settings.from_environ({})
    assert both.webhook_retry_seconds == both.webhook_test_retry_seconds == (1.0, 1.0, 1.0)
    assert (split.webhook_retry_seconds, split.webhook_test_retry_seconds) == ((5.0,), (2.0, 3.0))
    assert none.webhook_retry_seconds == none.webhook_test_retry_seconds == ()
    assert default.webhook_retry_seconds == LIVE_RETRY_SECONDS
    assert default.webhook_test_retry_seconds == TEST_RETRY_SECONDS
    assert default.webhook_timeout_seconds == 10.0


@pytest.mark.parametrize("value", ["1,x", "-1", "1e9", ",".join(["1"] * 51)])
def test_a_bad_retry_schedule_is_refused_at_start_naming_the_variable(value: str) -> None:
    with pytest.raises(SettingsError, match="WEBHOOK_RETRY_SECONDS"):
        Settings.from_environ({"WEBHOOK_RETRY_SECONDS": value})


def test_a_url_no_request_can_reach_is_a_failed_attempt_not_a_crash() -> None:
    # given: an endpoint stored before check_url refused such hosts
    from app.worker import _post

    async def post() -> Answer:
        async with httpx.AsyncClient() as client:
            return await _post(client, "http://xn--.com/hooks", b"{}", "t=1,v1=x", 5.0)

    # when
    answer = asyncio.run(post())
    # then
    assert answer.status is None
    assert answer.error is not None and "cannot be requested" in answer.error


def test_a_description_with_a_nul_character_is_refused_naming_it() -> None:
    with pytest.raises(InvalidParameter) as refused:
        rules.check_description("a\x00b")
    assert refused.value.field == ["description"]
