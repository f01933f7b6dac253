"""The background worker every gateway process runs: it finishes due jobs (processing a
submission, redacting a session) through `services.jobs`, and delivers webhooks through
`services.webhooks`: claim due attempts, POST each signed event outside any transaction, record
the answer. Jobs and deliveries run as two loops, so a slow endpoint never delays a job. A third
loop purges what retention no longer keeps (`services.retention`): at start, then every
RETENTION_EVERY_SECONDS, batch after batch with a pause between them until a batch comes back
short."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TYPE_CHECKING

import httpx
import orjson

from app.domain import webhooks as webhook_rules
from app.domain.retention import Retention
from app.rest.objects import event_object
from app.services import Database, OutageLog, jobs, webhooks
from app.services import retention as purges
from app.services.webhooks import Answer, Attempt
from app.settings import LIVE_RETRY_SECONDS, TEST_RETRY_SECONDS
from app.verifiers import TestModeSimulator, Verifier

if TYPE_CHECKING:
    from app.models import VerificationSession

logger = logging.getLogger("app.worker")

# How often each process purges what retention no longer keeps (windows are hours or days long),
# and the pause between two full batches, so other writers get the lock in between.
RETENTION_EVERY_SECONDS = 60.0
RETENTION_PAUSE_SECONDS = 0.05


class Worker:
    def __init__(
        self,
        *,
        database: Database,
        live_verifier: Verifier | None,
        poll_seconds: float,
        retry_seconds: float = 30.0,
        lease_seconds: float = 300.0,
        webhook_timeout_seconds: float = 10.0,
        webhook_retry_seconds: tuple[float, ...] = LIVE_RETRY_SECONDS,
        webhook_test_retry_seconds: tuple[float, ...] = TEST_RETRY_SECONDS,
        retention: Retention | None = None,
        claim_lease: timedelta = timedelta(minutes=5),
        retention_batch: int = purges.BATCH,
        retention_every_seconds: float = RETENTION_EVERY_SECONDS,
        shutdown_grace_seconds: float = 30.0,
    ) -> None:
        self.database = database
        # How long shutdown waits for the job or deliveries in hand before canceling them.
        self.shutdown_grace = shutdown_grace_seconds
        self.retention = retention or Retention()
        self.claim_lease = claim_lease
        self.retention_batch = retention_batch
        self.retention_every = retention_every_seconds
        self.webhook_timeout = webhook_timeout_seconds
        self.webhook_schedules = {True: webhook_retry_seconds, False: webhook_test_retry_seconds}
        self.retry_after = timedelta(seconds=retry_seconds)
        self.lease = timedelta(seconds=lease_seconds)
        self.live_verifier = live_verifier
        self.poll_seconds = poll_seconds
        self.simulator = TestModeSimulator()

    async def run(self, stop: asyncio.Event) -> None:
        """Work until `stop` is set: jobs and webhook deliveries, each drained in turn, then
        waiting one poll interval."""
        timeout = httpx.Timeout(self.webhook_timeout)
        async with httpx.AsyncClient(timeout=timeout, follow_redirects=False) as client:
            loops = [
                asyncio.create_task(self._loop(stop, self.run_one, "background worker")),
                asyncio.create_task(
                    self._loop(stop, lambda: self.deliver_some(client), "webhook delivery")
                ),
                asyncio.create_task(
                    self._loop(stop, self.purge_some, "retention purge", every=self.retention_every)
                ),
            ]
            try:
                await asyncio.gather(*loops)
            except asyncio.CancelledError:
                # A canceled gather returns as soon as one loop has stopped; another may
                # still be handing its job or attempts back, which must finish first.
                await asyncio.gather(*loops, return_exceptions=True)
                raise

    async def _loop(
        self,
        stop: asyncio.Event,
        step: Callable[[], Awaitable[bool]],
        name: str,
        *,
        every: float | None = None,
    ) -> None:
        """Run `step` until it returns False, then wait `every` seconds (the poll interval by
        default) or until `stop`; again and again until `stop` is set."""
        interval = self.poll_seconds if every is None else every
        outage = OutageLog(
            logger,
            failed=f"{name} failed; retrying after the poll interval",
            paused=f"{name} paused: %s; retrying every poll interval",
            resumed=f"{name} resumed",
        )
        while not stop.is_set():
            try:
                while not stop.is_set() and await step():
                    pass
                outage.succeeded()
            except Exception as error:
                outage.failed(error)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=interval)

    async def shut_down(self, task: asyncio.Task[None]) -> None:
        """Wait for `run` (whose `stop` is set) to finish its job in hand, but not forever: a job
        still running after the grace period is canceled. Its transaction rolls back, so the job
        stays in the table and the next process runs it; webhook attempts still being sent are
        handed back the same way (see `deliver_some`)."""
        try:
            await asyncio.wait_for(task, timeout=self.shutdown_grace)
        except TimeoutError:
            logger.warning(
                "a background job or webhook delivery was still running %gs into shutdown; it "
                "was canceled and will run again",
                self.shutdown_grace,
            )

    async def run_one(self) -> bool:
        """Finish one due job; False when none is due."""
        return await jobs.run_due(
            self.database,
            verifier_for=self._verifier,
            retry_after=self.retry_after,
            lease=self.lease,
        )

    async def purge_some(self) -> bool:
        """Purge one batch of each kind retention covers; True (after a short pause) when a
        batch was full, so more may be waiting."""
        purged = await purges.purge_some(
            self.database,
            retention=self.retention,
            claim_lease=self.claim_lease,
            batch=self.retention_batch,
        )
        if purged.total:
            logger.info(
                "retention purged %d idempotency records, %d events, %d hosted links",
                purged.idempotency_keys,
                purged.events,
                purged.hosted_links,
            )
        if not purged.more_after(self.retention_batch):
            return False
        await asyncio.sleep(RETENTION_PAUSE_SECONDS)
        return True

    async def deliver_some(self, client: httpx.AsyncClient) -> bool:
        """Send the due webhook attempts this process claims (a few at once); False when none
        was due."""
        attempts = await webhooks.claim_due(
            self.database, timeout_seconds=self.webhook_timeout, limit=DELIVERY_BATCH
        )
        if not attempts:
            return False
        pending = await webhooks.pending_counts(
            self.database, event_ids=[attempt.event.id for attempt in attempts]
        )
        try:
            await asyncio.gather(
                *(
                    self._deliver(client, attempt, pending.get(attempt.event.id, 0))
                    for attempt in attempts
                )
            )
        except asyncio.CancelledError:
            # Shutting down past the grace: hand back the attempts not answered yet, due at
            # once for another process, instead of leaving them leased for their timeout.
            released = await webhooks.release(self.database, attempts=attempts)
            logger.info("shutting down: %d webhook attempts handed back, due at once", released)
            raise
        return True

    async def _deliver(self, client: httpx.AsyncClient, attempt: Attempt, pending: int) -> None:
        body = orjson.dumps(
            event_object(attempt.event, pending_webhooks=pending, api_version=attempt.api_version)
        )
        signature = webhook_rules.signature_header(
            body, secrets=attempt.secrets, timestamp=int(time.time())
        )
        answer = await _post(client, attempt.url, body, signature, self.webhook_timeout)
        recorded = await webhooks.record(
            self.database,
            attempt=attempt,
            answer=answer,
            schedule=self.webhook_schedules[attempt.livemode],
        )
        # The endpoint's id, never its URL (which may hold a token) or the signature.
        logger.info(
            "webhook %s to %s, attempt %d: %s",
            attempt.event.id,
            attempt.endpoint_id,
            attempt.attempt,
            answer.status if answer.status is not None else answer.error,
        )
        if not recorded:
            logger.warning(
                "webhook %s to %s: attempt %d outlived its lease; its answer was not recorded",
                attempt.event.id,
                attempt.endpoint_id,
                attempt.attempt,
            )

    def _verifier(self, session: VerificationSession) -> Verifier:
        if not session.livemode:
            return self.simulator
        if self.live_verifier is None:
            # Submissions are refused without one, so this is a configuration change mid-flight.
            raise RuntimeError("a live session is processing but no VERIFIER is configured")
        return self.live_verifier


# How many due deliveries one process claims and sends at once.
DELIVERY_BATCH = 10
# How much of an endpoint's answer is read (what is kept is shorter still).
_RESPONSE_READ_BYTES = 4096
_HEADERS = {"Content-Type": "application/json; charset=utf-8", "User-Agent": "identity-gateway/1"}


async def _post(
    client: httpx.AsyncClient, url: str, body: bytes, signature: str, timeout: float
) -> Answer:
    """POST one delivery; the answer's status and the start of its body, or what went wrong.
    `timeout` bounds the whole attempt, however slowly the endpoint answers."""
    try:
        async with (
            asyncio.timeout(timeout),
            client.stream(
                "POST", url, content=body, headers={**_HEADERS, "Stripe-Signature": signature}
            ) as response,
        ):
            read = b""
            async for chunk in response.aiter_bytes():
                read += chunk
                if len(read) >= _RESPONSE_READ_BYTES:
                    break
            return Answer(status=response.status_code, body=read.decode(errors="replace"))
    except (TimeoutError, httpx.TimeoutException):
        return Answer(status=None, error=f"no answer within {timeout:g} s")
    except httpx.HTTPError as error:
        return Answer(status=None, error=f"request failed ({type(error).__name__})")
    except (httpx.InvalidURL, UnicodeError) as error:
        # A host no request can reach (an endpoint stored before `check_url` refused such
        # hosts; IDNAError is a UnicodeError): a failed attempt, retried on the schedule.
        return Answer(status=None, error=f"the URL cannot be requested ({type(error).__name__})")
