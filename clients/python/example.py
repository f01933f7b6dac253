"""Create, fetch and list verification sessions with the typed client that ariadne-codegen
generates from schema.graphql and the saved playground operations.

Generate the client into clients/python/gateway_client first (see clients/python/pyproject.toml),
then, with the gateway running:

    GATEWAY_URL=http://127.0.0.1:8000/graphql GATEWAY_KEY=sk_test_... \\
        python clients/python/example.py

The generated package needs only httpx and pydantic (and `websockets` for subscriptions).
"""

from __future__ import annotations

import asyncio
import os

from gateway_client import (
    Client,
    CreateVerificationSessionInput,
    VerificationSessionFilter,
    VerificationSessionStatus,
    VerificationSessionType,
)


async def main() -> None:
    url = os.environ["GATEWAY_URL"]
    key = os.environ["GATEWAY_KEY"]
    async with Client(url=url, headers={"Authorization": f"Bearer {key}"}) as client:
        # Each saved operation is a method; its input and result are pydantic models.
        payload = (
            await client.create_verification_session(
                CreateVerificationSessionInput(
                    type_=VerificationSessionType.DOCUMENT,
                    client_reference_id="user_42",
                    metadata={"order": "1001"},
                )
            )
        ).create_verification_session
        if payload.user_errors:
            raise SystemExit(f"not created: {[error.message for error in payload.user_errors]}")
        session = payload.verification_session
        assert session is not None  # set whenever userErrors is empty
        # Enum fields hold the generated enums, DateTime fields aware datetimes.
        if session.status is VerificationSessionStatus.REQUIRES_INPUT:
            print(f"created {session.id} at {session.created:%Y-%m-%d %H:%M:%S %Z}")
            print(f"  send the user to {session.url}")

        fetched = (await client.get_verification_session(session.id)).verification_session
        assert fetched is not None  # null when the id is unknown to this key's account
        print(f"fetched {fetched.id}: {fetched.status.value}, metadata {fetched.metadata}")

        waiting = (
            await client.list_verification_sessions(
                first=5,
                filter_=VerificationSessionFilter(status=VerificationSessionStatus.REQUIRES_INPUT),
            )
        ).verification_sessions
        print(f"{waiting.total_count} session(s) waiting for input, newest first:")
        for edge in waiting.edges:
            node = edge.node
            print(f"  {node.id}  {node.created.isoformat()}  {node.client_reference_id}")


if __name__ == "__main__":
    asyncio.run(main())
