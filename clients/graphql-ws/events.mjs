// graphql-ws against the gateway: subscribe to `events`, make changes over HTTP, and check the
// subscription delivers each resulting event once, in the order the changes were made, with the
// cursors the `events` query gives them.
//
//   GATEWAY_URL=http://127.0.0.1:8000/graphql GATEWAY_KEY=sk_test_... node clients/graphql-ws/events.mjs
//
// Exits non-zero on any mismatch.
import assert from 'node:assert/strict';

import {
  EVENTS,
  cancelSession,
  createSession,
  eventsAfter,
  newestEventCursor,
  subscription,
  wsClient,
} from './gateway.mjs';

const SESSIONS = 3;

async function main() {
  // A first change gives the account an event to start after: the subscription then reads
  // everything from that cursor on, whenever its socket is ready.
  await createSession('ws-seed');
  const since = await newestEventCursor();

  const client = wsClient();
  const events = subscription(client, EVENTS, { since });
  try {
    const expected = [];
    const received = [];
    for (let i = 0; i < SESSIONS; i += 1) {
      const id = await createSession(`ws-${i}`);
      await cancelSession(id);
      expected.push(
        { type: 'identity.verification_session.created', session: id },
        { type: 'identity.verification_session.canceled', session: id },
      );
      // Read this session's two events before making the next change: the later ones arrive
      // while the subscription is live, not only in its replay.
      for (let j = 0; j < 2; j += 1) {
        received.push((await events.next()).events);
      }
    }
    assert.deepEqual(
      received.map((edge) => ({ type: edge.node.type, session: edge.node.verificationSession.id })),
      expected,
      'not every change once, in order',
    );
    const listed = await eventsAfter(since);
    assert.deepEqual(
      received.map((edge) => [edge.cursor, edge.node.id]),
      listed.map((edge) => [edge.cursor, edge.node.id]),
      'the subscription and the events query disagree',
    );
    console.log(`graphql-ws: ${received.length} events in order, cursors as the events query's`);
  } finally {
    await events.close();
    await client.dispose();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
