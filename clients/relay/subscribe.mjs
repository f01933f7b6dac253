// relay-runtime subscriptions without React: the Environment's network gets a `subscribe`
// function backed by graphql-ws (the WebSocket on the same /graphql path, the key in
// connection_init's payload) beside its HTTP `fetch`, and requestSubscription runs the
// WatchSessionSubscription artifact relay-compiler generated from src/WatchSession.js.
//
// Against the gateway at GATEWAY_URL (a /graphql endpoint), with GATEWAY_KEY (a test-mode secret
// key), it creates a session over HTTP, watches it, and checks that:
//   1. the session's state arrives at once and is written to the store;
//   2. a metadata change, then a cancel, made by mutations outside Relay each arrive in order and
//      update the session's record, so the SessionRow_session fragment reads the new values;
//   3. disposing the subscription completes the operation on the gateway's side.
// Prints a summary; any failed check exits non-zero.

import assert from 'node:assert/strict';

import { createClient } from 'graphql-ws';
import {
  Environment,
  Network,
  Observable,
  RecordSource,
  Store,
  createOperationDescriptor,
  createReaderSelector,
  requestSubscription,
} from 'relay-runtime';
import WebSocket from 'ws';

import SessionRow_session from './src/__generated__/SessionRow_session.graphql.js';
import WatchSessionSubscription from './src/__generated__/WatchSessionSubscription.graphql.js';

const URL = process.env.GATEWAY_URL;
const KEY = process.env.GATEWAY_KEY;
assert.ok(URL && KEY, 'set GATEWAY_URL and GATEWAY_KEY');

// --- the network: queries and mutations over HTTP, subscriptions over graphql-ws --------------

async function post(query, variables, operationName) {
  const response = await fetch(URL, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${KEY}` },
    body: JSON.stringify({ query, variables, operationName }),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await response.text();
  assert.equal(response.status, 200, `${operationName}: HTTP ${response.status}: ${text}`);
  const body = JSON.parse(text);
  assert.equal(body.errors, undefined, `${operationName}: ${JSON.stringify(body.errors)}`);
  return body;
}

const wsClient = createClient({
  url: URL.replace(/^http/, 'ws'),
  webSocketImpl: WebSocket, // Node 20 has no WebSocket global; a browser needs none
  connectionParams: { Authorization: `Bearer ${KEY}` },
  retryAttempts: 0,
});

function subscribe(operation, variables) {
  return Observable.create((sink) =>
    wsClient.subscribe({ operationName: operation.name, query: operation.text, variables }, sink),
  );
}

const network = Network.create(
  (operation, variables) => post(operation.text, variables, operation.name),
  subscribe,
);
const environment = new Environment({ network, store: new Store(new RecordSource()) });

// --- the subscription, as a queue of payloads ------------------------------------------------

function watch(id) {
  const waiting = [];
  const ready = [];
  const deliver = (item) => (waiting.length ? waiting.shift()(item) : ready.push(item));
  const disposable = requestSubscription(environment, {
    subscription: WatchSessionSubscription,
    variables: { id },
    onNext: (response) => deliver({ response }),
    onError: (error) => deliver({ error }),
    onCompleted: () => deliver({ error: new Error('the subscription completed') }),
  });
  return {
    async next() {
      const item = ready.length ? ready.shift() : await new Promise((r) => waiting.push(r));
      if (item.error) throw item.error;
      return item.response.verificationSession;
    },
    dispose: () => disposable.dispose(),
  };
}

/** The session as the SessionRow_session fragment reads it from the store. */
function readRow(id) {
  const request = createOperationDescriptor(WatchSessionSubscription, { id }).request;
  const row = environment.lookup(createReaderSelector(SessionRow_session, id, {}, request));
  assert.ok(!row.isMissingData, `SessionRow_session of ${id} has missing data`);
  return row.data;
}

// --- mutations outside Relay -----------------------------------------------------------------

async function mutate(query, variables, field) {
  const body = await post(query, variables);
  const payload = body.data[field];
  assert.deepEqual(payload.userErrors, [], `${field}: ${JSON.stringify(payload.userErrors)}`);
  return payload.verificationSession;
}

const PAYLOAD = 'verificationSession { id } userErrors { code message }';
const CREATE = `mutation Create($input: CreateVerificationSessionInput!) {
  createVerificationSession(input: $input) { ${PAYLOAD} }
}`;
const UPDATE = `mutation Update($input: UpdateVerificationSessionInput!) {
  updateVerificationSession(input: $input) { ${PAYLOAD} }
}`;
const CANCEL = `mutation Cancel($id: ID!) {
  cancelVerificationSession(input: {id: $id}) { ${PAYLOAD} }
}`;

// --- main ------------------------------------------------------------------------------------

async function main() {
  const { id } = await mutate(
    CREATE,
    { input: { type: 'DOCUMENT', clientReferenceId: 'relay-ws' } },
    'createVerificationSession',
  );
  const session = watch(id);
  const statuses = [];
  try {
    // 1. At once: the session as it is, in the store.
    const first = await session.next();
    assert.equal(first.id, id);
    assert.equal(first.status, 'REQUIRES_INPUT');
    statuses.push(first.status);
    assert.deepEqual(readRow(id).metadata, {});
    assert.equal(readRow(id).clientReferenceId, 'relay-ws');

    // 2. Each change, once the previous one has arrived (a session's messages carry its state,
    //    so two quick changes may come as one).
    const metadata = { order: '1001' };
    await mutate(UPDATE, { input: { id, metadata } }, 'updateVerificationSession');
    const updated = await session.next();
    assert.equal(updated.status, 'REQUIRES_INPUT');
    assert.deepEqual(readRow(id).metadata, { order: '1001' }, 'the store missed the metadata');

    await mutate(CANCEL, { id }, 'cancelVerificationSession');
    const canceled = await session.next();
    statuses.push(canceled.status);
    assert.equal(canceled.status, 'CANCELED');
    assert.equal(readRow(id).status, 'CANCELED', 'the store missed the cancel');
    assert.equal(environment.getStore().getSource().get(id).status, 'CANCELED');
  } finally {
    session.dispose();
  }
  console.log(
    `relay requestSubscription: ${id} went ${statuses.join(' -> ')} in the store, ` +
      'metadata change included',
  );
}

main()
  .catch((error) => {
    console.error(error);
    process.exitCode = 1;
  })
  .finally(() => wsClient.dispose());
