// relay-runtime with persisted queries: artifacts compiled with relay-compiler's `persistConfig`
// carry an `id` and no text, and the network sends that id alone, as GraphQL-over-HTTP's
// `documentId` (Appendix A). The gateway finds the text in the map relay-compiler wrote, named by
// its PERSISTED_DOCUMENTS_FILE.
//
//   GATEWAY_URL=… GATEWAY_KEY=sk_test_… RELAY_ARTIFACTS=path/to/__generated__ node persisted.mjs
//
// With a fresh account's key it creates three sessions through CreateSessionMutation, lists them
// through SessionsListQuery and reads one back through SessionRowRefetchQuery, every request by
// id alone. Prints a summary; any failed check exits non-zero.

import assert from 'node:assert/strict';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

import {
  Environment,
  Network,
  RecordSource,
  Store,
  commitMutation,
  fetchQuery,
} from 'relay-runtime';

const URL = process.env.GATEWAY_URL;
const KEY = process.env.GATEWAY_KEY;
const ARTIFACTS = process.env.RELAY_ARTIFACTS;
assert.ok(URL && KEY && ARTIFACTS, 'set GATEWAY_URL, GATEWAY_KEY and RELAY_ARTIFACTS');

async function artifact(name) {
  const module = await import(pathToFileURL(path.join(ARTIFACTS, `${name}.graphql.js`)).href);
  const node = module.default;
  // What persistConfig makes of an operation: an id, and no text to send.
  assert.equal(node.params.text, null, `${name} still carries its text`);
  assert.equal(typeof node.params.id, 'string', `${name} has no id`);
  return node;
}

const CreateSessionMutation = await artifact('CreateSessionMutation');
const SessionsListQuery = await artifact('SessionsListQuery');
const SessionRowRefetchQuery = await artifact('SessionRowRefetchQuery');

// Every request body sent, and every response body, by operation name.
const sent = [];
const answers = {};

const network = Network.create(async (params, variables) => {
  const body = { documentId: params.id, operationName: params.name, variables };
  sent.push(body);
  const response = await fetch(URL, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${KEY}` },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await response.text();
  assert.equal(response.status, 200, `${params.name}: HTTP ${response.status}: ${text}`);
  const result = JSON.parse(text);
  assert.equal(result.errors, undefined, `${params.name}: ${JSON.stringify(result.errors)}`);
  (answers[params.name] ??= []).push(result.data);
  return result;
});

const environment = new Environment({ network, store: new Store(new RecordSource()) });

function create(reference) {
  return new Promise((resolve, reject) => {
    commitMutation(environment, {
      mutation: CreateSessionMutation,
      variables: { input: { type: 'DOCUMENT', clientReferenceId: reference }, connections: [] },
      onCompleted: (response, errors) => (errors ? reject(errors[0]) : resolve(response)),
      onError: reject,
    });
  });
}

const created = [];
for (const reference of ['relay-1', 'relay-2', 'relay-3']) {
  const response = await create(reference);
  assert.deepEqual(response.createVerificationSession.userErrors, []);
  created.push(response.createVerificationSession.verificationSession.id);
}

await fetchQuery(environment, SessionsListQuery, { count: 10, cursor: null }).toPromise();
const [listed] = answers[SessionsListQuery.params.name];
const ids = listed.verificationSessions.edges.map((edge) => edge.node.id);
assert.deepEqual(ids, [...created].reverse(), 'the list is not the sessions created, newest first');
assert.equal(listed.verificationSessions.totalCount, created.length);

await fetchQuery(environment, SessionRowRefetchQuery, { id: created[0] }).toPromise();
const [refetched] = answers[SessionRowRefetchQuery.params.name];
assert.equal(refetched.node.id, created[0]);
assert.equal(refetched.node.clientReferenceId, 'relay-1');

for (const body of sent) {
  assert.deepEqual(Object.keys(body).sort(), ['documentId', 'operationName', 'variables']);
}
console.log(
  `relay-runtime sent ${sent.length} requests by documentId alone: ${created.length} creates, ` +
    `the list of ${ids.length}, one refetch`,
);
