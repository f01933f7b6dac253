// What the graphql-ws scripts share: the gateway's address and key, a POST for mutations, and a
// graphql-ws client on the same /graphql path (the key goes in connection_init's payload).
import assert from 'node:assert/strict';

import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

export const URL = process.env.GATEWAY_URL;
export const KEY = process.env.GATEWAY_KEY;
assert.ok(URL && KEY, 'set GATEWAY_URL (the /graphql endpoint) and GATEWAY_KEY');

/** The WebSocket address of the same /graphql endpoint. */
export const WS_URL = URL.replace(/^http/, 'ws');

export const EVENTS = `
  subscription Events($since: String) {
    events(since: $since) {
      cursor
      node { id type verificationSession { id } }
    }
  }
`;

/** POST a document; its data, failing on any top-level error. */
export async function post(query, variables = {}) {
  const response = await fetch(URL, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${KEY}` },
    body: JSON.stringify({ query, variables }),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await response.text();
  assert.equal(response.status, 200, `HTTP ${response.status}: ${text}`);
  const body = JSON.parse(text);
  assert.equal(body.errors, undefined, JSON.stringify(body.errors));
  return body.data;
}

/** A graphql-ws client that connects lazily, with no retries: a refusal fails the script. */
export function wsClient() {
  return createClient({
    url: WS_URL,
    webSocketImpl: WebSocket,
    connectionParams: { Authorization: `Bearer ${KEY}` },
    retryAttempts: 0,
  });
}

const CREATE = `
  mutation Create($input: CreateVerificationSessionInput!) {
    createVerificationSession(input: $input) {
      verificationSession { id }
      userErrors { code message }
    }
  }
`;

const CANCEL = `
  mutation Cancel($id: ID!) {
    cancelVerificationSession(input: {id: $id}) {
      verificationSession { id status }
      userErrors { code message }
    }
  }
`;

/** Create a session over HTTP; its id. */
export async function createSession(clientReferenceId) {
  const { createVerificationSession: payload } = await post(CREATE, {
    input: { type: 'DOCUMENT', clientReferenceId },
  });
  assert.deepEqual(payload.userErrors, []);
  return payload.verificationSession.id;
}

/** Cancel a session over HTTP. */
export async function cancelSession(id) {
  const { cancelVerificationSession: payload } = await post(CANCEL, { id });
  assert.deepEqual(payload.userErrors, []);
  assert.equal(payload.verificationSession.status, 'CANCELED');
}

/** The cursor of the account's newest event, as the `events` query gives it. */
export async function newestEventCursor() {
  const data = await post('query Newest { events(first: 1) { edges { cursor node { type } } } }');
  const [edge] = data.events.edges;
  assert.ok(edge, 'the account has no event yet');
  return edge.cursor;
}

/** The account's events after `cursor` as the `events` query lists them, oldest first. */
export async function eventsAfter(cursor) {
  // The query lists newest first, so events after `cursor` (older) are `before` it.
  const data = await post(
    `query After($before: String) {
      events(last: 100, before: $before) { edges { cursor node { id type } } }
    }`,
    { before: cursor },
  );
  return data.events.edges.reverse();
}

/**
 * Subscribe and read messages one at a time: `next()` resolves with the next result (failing on
 * an `errors` entry), `close()` completes the operation.
 */
export function subscription(client, query, variables) {
  const results = client.iterate({ query, variables });
  return {
    async next() {
      const { value, done } = await results.next();
      assert.ok(!done, 'the subscription completed');
      assert.equal(value.errors, undefined, JSON.stringify(value.errors));
      return value.data;
    },
    close: () => results.return(),
  };
}
