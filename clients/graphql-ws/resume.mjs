// graphql-ws against the gateway: read some events, disconnect, let more happen, reconnect with
// the last cursor received (`since`), and check exactly the missed events arrive, in order:
// none lost, none repeated, and the next live event right after them.
//
//   GATEWAY_URL=http://127.0.0.1:8000/graphql GATEWAY_KEY=sk_test_... node clients/graphql-ws/resume.mjs
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

const BEFORE = 2;
const MISSED = 10;

async function main() {
  await createSession('resume-seed');
  const start = await newestEventCursor();

  // 1. A first connection reads BEFORE events, then goes away.
  let client = wsClient();
  let events = subscription(client, EVENTS, { since: start });
  const seen = [];
  for (let i = 0; i < BEFORE; i += 1) {
    await createSession(`resume-before-${i}`);
    seen.push((await events.next()).events);
  }
  await events.close();
  await client.dispose();
  const last = seen.at(-1).cursor;

  // 2. While no one listens, MISSED changes happen.
  for (let i = 0; i < MISSED / 2; i += 1) {
    const id = await createSession(`resume-missed-${i}`);
    await cancelSession(id);
  }
  const missed = await eventsAfter(last);
  assert.equal(missed.length, MISSED, 'the events query does not list the missed events');

  // 3. A new connection resumes after the last cursor it saw.
  client = wsClient();
  events = subscription(client, EVENTS, { since: last });
  try {
    const resumed = [];
    for (let i = 0; i < MISSED; i += 1) {
      resumed.push((await events.next()).events);
    }
    assert.deepEqual(
      resumed.map((edge) => [edge.cursor, edge.node.id, edge.node.type]),
      missed.map((edge) => [edge.cursor, edge.node.id, edge.node.type]),
      'the resumed subscription did not replay exactly the missed events',
    );
    // Nothing more was waiting: the next message is the next change.
    const sentinel = await createSession('resume-after');
    const next = (await events.next()).events;
    assert.equal(next.node.type, 'identity.verification_session.created');
    assert.equal(next.node.verificationSession.id, sentinel, 'an event came twice or unasked');
    const ids = [...seen, ...resumed, next].map((edge) => edge.node.id);
    assert.equal(new Set(ids).size, ids.length, 'an event was delivered twice');
    console.log(
      `graphql-ws: read ${BEFORE}, missed ${MISSED} while disconnected, resumed with since and ` +
        `got exactly those ${MISSED} in order, then the next live one`,
    );
  } finally {
    await events.close();
    await client.dispose();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
