"""Accounts and their API keys."""

from __future__ import annotations

import hmac

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

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


async def authenticate(db: AsyncSession, *, key: str) -> Principal | None:
    """The principal an API key or a session's client secret stands for; None for a malformed,
    unknown, spent or expired one."""
    if "_secret_" in key:
        return await _client_secret_principal(db, secret=key)
    if keys.parse_key(key) is None:
        return None
    row = await db.get(ApiKey, keys.hash_key(key))
    if row is None:
        return None
    return Principal(
        scope=Scope(account_id=row.account_id, livemode=row.livemode),
        restricted=row.restricted,
        key_hash=row.key_hash,
    )


async def _client_secret_principal(db: AsyncSession, *, secret: str) -> Principal | None:
    session_id = secret.partition("_secret_")[0]
    if ids.prefix_of(session_id) != ids.SESSION:
        return None
    session = await db.get(VerificationSession, session_id)
    if session is None or session.client_secret is None:
        return None
    if not hmac.compare_digest(session.client_secret.encode(), secret.encode()):
        return None
    if session.client_secret_expires_at is None or session.client_secret_expires_at <= utcnow():
        return None
    return Principal(
        scope=Scope(account_id=session.account_id, livemode=session.livemode),
        restricted=False,
        session_id=session.id,
    )
