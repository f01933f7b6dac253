"""Accounts and their API keys."""

from __future__ import annotations

import hmac

from sqlalchemy import bindparam
from sqlalchemy import select as sa_select
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.db import Query, Reader
from app.domain import ids, keys
from app.domain.access import Principal, Scope
from app.models import Account, ApiKey, VerificationSession, utcnow


async def default_account(db: AsyncSession) -> Account:
    """The account that keys made without `--account` belong to, created on first use."""
    account = (await db.exec(select(Account).where(col(Account.is_default)))).first()
    if account is None:
        account = Account(id=ids.new_id(ids.ACCOUNT), is_default=True, created=utcnow())
        db.add(account)
        await db.flush()
    return account


async def ensure_account(db: AsyncSession, *, account_id: str) -> Account:
    account = await db.get(Account, account_id)
    if account is None:
        account = Account(id=account_id, is_default=False, created=utcnow())
        db.add(account)
        await db.flush()
    return account


async def create_key(
    db: AsyncSession, *, account_id: str | None, livemode: bool, restricted: bool
) -> str:
    """Make a key and return it bare; only its hash is stored, so this is the one chance to show it."""
    account = (
        await default_account(db)
        if account_id is None
        else await ensure_account(db, account_id=account_id)
    )
    key = keys.new_key(livemode=livemode, restricted=restricted)
    db.add(
        ApiKey(
            key_hash=keys.hash_key(key),
            account_id=account.id,
            livemode=livemode,
            restricted=restricted,
            created=utcnow(),
        )
    )
    await db.flush()
    return key


async def any_key_exists(db: AsyncSession) -> bool:
    return (await db.exec(select(ApiKey.key_hash).limit(1))).first() is not None


_KEY = Query(
    sa_select(col(ApiKey.account_id), col(ApiKey.livemode), col(ApiKey.restricted)).where(
        col(ApiKey.key_hash) == bindparam("key_hash")
    )
)
_SECRET = Query(
    sa_select(
        col(VerificationSession.account_id),
        col(VerificationSession.livemode),
        col(VerificationSession.client_secret),
        col(VerificationSession.client_secret_expires_at),
    ).where(col(VerificationSession.id) == bindparam("session_id"))
)
# Principals of API keys by digest, per reader (so per database). Keys are only ever inserted,
# never changed or deleted (`create_key` is the one writer of `api_keys`), so a key found once
# stands for the same principal for good; an unknown key is never remembered, so a key made by
# another process works at once. Bounded: past the limit it starts over.
_KNOWN_KEYS = 10_000


async def authenticate(reader: Reader, *, key: str) -> Principal | None:
    """The principal an API key or a session's client secret stands for; None for a malformed,
    unknown, spent or expired one."""
    if "_secret_" in key:
        return await _client_secret_principal(reader, secret=key)
    if keys.parse_key(key) is None:
        return None
    digest = keys.hash_key(key)
    known: dict[str, Principal] = reader.memo.setdefault("api_keys", {})
    principal = known.get(digest)
    if principal is not None:
        return principal
    rows = await reader.all(_KEY, {"key_hash": digest})
    if not rows:
        return None
    account_id, livemode, restricted = rows[0]
    principal = Principal(
        scope=Scope(account_id=account_id, livemode=livemode),
        restricted=restricted,
        key_hash=digest,
    )
    if len(known) >= _KNOWN_KEYS:
        known.clear()
    known[digest] = principal
    return principal


async def _client_secret_principal(reader: Reader, *, secret: str) -> Principal | None:
    # A client secret is checked afresh every time: submitting, expiry and refreshes change it.
    session_id = secret.partition("_secret_")[0]
    if ids.prefix_of(session_id) != ids.SESSION:
        return None
    rows = await reader.all(_SECRET, {"session_id": session_id})
    if not rows:
        return None
    account_id, livemode, client_secret, expires_at = rows[0]
    if client_secret is None:
        return None
    if not hmac.compare_digest(client_secret.encode(), secret.encode()):
        return None
    if expires_at is None or expires_at <= utcnow():
        return None
    return Principal(
        scope=Scope(account_id=account_id, livemode=livemode),
        restricted=False,
        session_id=session_id,
    )
