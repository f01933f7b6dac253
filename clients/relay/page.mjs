// A Relay client without React: relay-runtime's Environment and Store, driven by the artifacts
// relay-compiler generated from src/ (run `relay-compiler` in this directory first).
//
// Against the gateway at GATEWAY_URL (a /graphql endpoint), with GATEWAY_KEY (a test-mode secret
// key of an account that has no sessions yet), it checks that:
//   1. createVerificationSession with @prependNode puts each new session at the head of the
//      SessionsList_verificationSessions connection in the store;
//   2. paging with the generated SessionsListPaginationQuery until hasNextPage is false leaves a
//      connection, merged by Relay's ConnectionHandler, that holds every session of the account
//      exactly once, newest first, as many as the server's totalCount;
//   3. the generated SessionRowRefetchQuery reads a session back through node(id:) into the store.
// Prints a summary; any failed check exits non-zero.

import assert from 'node:assert/strict';

import {
  ConnectionHandler,
  Environment,
  Network,
  RecordSource,
  Store,
  commitMutation,
  createOperationDescriptor,
  createReaderSelector,
  fetchQuery,
  getSelector,
} from 'relay-runtime';

import CreateSessionMutation from './src/__generated__/CreateSessionMutation.graphql.js';
import SessionRowRefetchQuery from './src/__generated__/SessionRowRefetchQuery.graphql.js';
import SessionRow_session from './src/__generated__/SessionRow_session.graphql.js';
import SessionsListPaginationQuery from './src/__generated__/SessionsListPaginationQuery.graphql.js';
import SessionsListQuery from './src/__generated__/SessionsListQuery.graphql.js';
import SessionsList_query from './src/__generated__/SessionsList_query.graphql.js';

const URL = process.env.GATEWAY_URL;
const KEY = process.env.GATEWAY_KEY;
assert.ok(URL && KEY, 'set GATEWAY_URL and GATEWAY_KEY');

const CREATED_THROUGH_RELAY = 5;
const TOTAL = 23;
const PAGE_SIZE = 5;

// --- the network: one POST per operation -----------------------------------------------------

// Every page of verificationSessions the server sent, as it sent it (before Relay merged it).
const pagesFromServer = [];

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

const network = Network.create(async (params, variables) => {
  const body = await post(params.text, variables, params.name);
  const listQueries = [SessionsListQuery.params.name, SessionsListPaginationQuery.params.name];
  if (listQueries.includes(params.name)) {
    const { edges } = body.data.verificationSessions;
    pagesFromServer.push({ after: variables.cursor ?? null, ids: edges.map((edge) => edge.node.id) });
  }
  return body;
});

const environment = new Environment({ network, store: new Store(new RecordSource()) });
const source = () => environment.getStore().getSource();

// --- reading the store -----------------------------------------------------------------------

const rootVariables = { count: PAGE_SIZE, cursor: null };
const rootOperation = createOperationDescriptor(SessionsListQuery, rootVariables);
// Kept in the store for the whole run, as a mounted Relay screen would keep it: fetched data no
// operation retains may be garbage-collected whenever a request ends.
environment.retain(rootOperation);

const connectionID = ConnectionHandler.getConnectionID(
  'client:root',
  'SessionsList_verificationSessions',
);

/** The connection as the SessionsList_query fragment reads it from the store. */
function readList() {
  const root = environment.lookup(rootOperation.fragment);
  assert.ok(!root.isMissingData, 'the root query is missing from the store');
  const list = environment.lookup(getSelector(SessionsList_query, root.data));
  assert.ok(!list.isMissingData, 'the SessionsList_query fragment has missing data');
  const connection = list.data.verificationSessions;
  assert.equal(connection.__id, connectionID, 'not the connection record getConnectionID names');
  return connection;
}

const idsOf = (connection) => connection.edges.map((edge) => edge.node.id);

/** A session as the SessionRow_session fragment reads it from the store. */
function readRow(id) {
  const selector = createReaderSelector(SessionRow_session, id, {}, rootOperation.request);
  const row = environment.lookup(selector);
  assert.ok(!row.isMissingData, `SessionRow_session of ${id} has missing data`);
  return row.data;
}

/** The connection record's edges, walked in the RecordSource itself: [{typename, nodeID}]. */
function edgeRecords() {
  const connection = source().get(connectionID);
  assert.ok(connection, `no record ${connectionID} in the store`);
  return connection.edges.__refs.map((edgeID) => {
    const edge = source().get(edgeID);
    return { typename: edge.__typename, nodeID: edge.node.__ref };
  });
}

// --- operations ------------------------------------------------------------------------------

const fetchRoot = () => fetchQuery(environment, SessionsListQuery, rootVariables).toPromise();

function createThroughRelay(input) {
  return new Promise((resolve, reject) => {
    commitMutation(environment, {
      mutation: CreateSessionMutation,
      variables: { input, connections: [connectionID] },
      onCompleted: (response, errors) => {
        if (errors?.length) {
          reject(new Error(`createVerificationSession: ${JSON.stringify(errors)}`));
          return;
        }
        const payload = response.createVerificationSession;
        if (payload.userErrors.length) {
          reject(new Error(`createVerificationSession: ${JSON.stringify(payload.userErrors)}`));
          return;
        }
        resolve(payload.verificationSession.id);
      },
      onError: reject,
    });
  });
}

const CREATE_DIRECTLY = `
  mutation CreateDirectly($input: CreateVerificationSessionInput!) {
    createVerificationSession(input: $input) {
      verificationSession { id }
      userErrors { code message }
    }
  }
`;

async function createDirectly(input) {
  const body = await post(CREATE_DIRECTLY, { input }, 'CreateDirectly');
  const payload = body.data.createVerificationSession;
  assert.deepEqual(payload.userErrors, []);
  return payload.verificationSession.id;
}

async function serverTotalCount() {
  const query = 'query Count { verificationSessions(first: 0) { totalCount } }';
  const body = await post(query, {}, 'Count');
  return body.data.verificationSessions.totalCount;
}

// --- 1. @prependNode -------------------------------------------------------------------------

async function prependThroughMutations() {
  await fetchRoot();
  assert.deepEqual(idsOf(readList()), [], 'a fresh account should have no sessions');

  const created = [];
  for (let i = 0; i < CREATED_THROUGH_RELAY; i += 1) {
    const id = await createThroughRelay({ type: 'DOCUMENT', clientReferenceId: `relay-${i}` });
    created.push(id);
    // Newest first, like the server's list: each new session goes in front.
    assert.deepEqual(idsOf(readList()), [...created].reverse(), `after creating ${id}`);
    const [head] = edgeRecords();
    assert.deepEqual(head, { typename: 'VerificationSessionEdge', nodeID: id });
    const row = readRow(id);
    assert.equal(row.clientReferenceId, `relay-${i}`);
    assert.equal(row.status, 'REQUIRES_INPUT');
  }
  return created;
}

// --- 2. paging with the generated pagination query -------------------------------------------

async function pageThroughAll(created) {
  // Refetching the first page replaces the connection's edges with that page.
  pagesFromServer.length = 0;
  await fetchRoot();
  let connection = readList();
  assert.deepEqual(idsOf(connection), pagesFromServer[0].ids);
  assert.equal(connection.edges.length, Math.min(PAGE_SIZE, created.length));

  while (connection.pageInfo.hasNextPage) {
    const before = idsOf(connection);
    const variables = { count: PAGE_SIZE, cursor: connection.pageInfo.endCursor };
    await fetchQuery(environment, SessionsListPaginationQuery, variables).toPromise();
    connection = readList();
    const page = pagesFromServer.at(-1);
    assert.equal(page.after, variables.cursor);
    // ConnectionHandler appended this page to what was there: nothing lost, nothing merged away.
    assert.deepEqual(
      idsOf(connection),
      [...before, ...page.ids],
      `the page after ${variables.cursor} was not appended`,
    );
    assert.ok(pagesFromServer.length <= created.length, 'paging does not end');
  }

  const merged = idsOf(connection);
  const fromServer = pagesFromServer.flatMap((page) => page.ids);
  assert.equal(new Set(fromServer).size, fromServer.length, `an id sent twice: ${fromServer}`);
  assert.equal(new Set(merged).size, merged.length, 'the merged connection holds an id twice');
  assert.deepEqual(merged, [...created].reverse(), 'not every session once, newest first');
  // RFC 3339 in UTC with microseconds: the strings sort as the moments do.
  const timestamps = merged.map((id) => readRow(id).created);
  assert.deepEqual(timestamps, [...timestamps].sort().reverse(), 'not newest first');
  assert.equal(connection.totalCount, merged.length, 'totalCount in the store');
  assert.equal(await serverTotalCount(), merged.length, "the server's totalCount");
  return { merged, pages: pagesFromServer.map((page) => page.ids.length) };
}

// --- 3. the generated refetch query (node(id:)) ----------------------------------------------

async function refetchOne(id) {
  assert.match(SessionRowRefetchQuery.params.text, /\bnode\(id: \$id\)/);
  // Change the session behind Relay's back, then refetch it: the store must take the new value.
  const update = await post(
    `mutation Update($input: UpdateVerificationSessionInput!) {
       updateVerificationSession(input: $input) { userErrors { code message } }
     }`,
    { input: { id, metadata: { refetched: 'yes' } } },
    'Update',
  );
  assert.deepEqual(update.data.updateVerificationSession.userErrors, []);
  assert.deepEqual(readRow(id).metadata, {}, 'the store changed before the refetch');

  await fetchQuery(environment, SessionRowRefetchQuery, { id }).toPromise();
  const record = source().get(id);
  assert.equal(record.__typename, 'VerificationSession');
  assert.equal(record.id, id);
  assert.deepEqual(readRow(id).metadata, { refetched: 'yes' });
  const root = source().get('client:root');
  const link = root[`node(id:${JSON.stringify(id)})`];
  assert.deepEqual(link, { __ref: id }, 'node(id:) did not link the root to the session');
}

// --- main ------------------------------------------------------------------------------------

async function main() {
  const created = await prependThroughMutations();
  for (let i = created.length; i < TOTAL; i += 1) {
    const type = i % 2 ? 'ID_NUMBER' : 'DOCUMENT';
    created.push(await createDirectly({ type, clientReferenceId: `direct-${i}` }));
  }
  const { merged, pages } = await pageThroughAll(created);
  await refetchOne(merged.at(-1));
  console.log(
    `relay: ${CREATED_THROUGH_RELAY} sessions prepended by @prependNode; ${merged.length} sessions ` +
      `merged from ${pages.length} pages (${pages.join('+')}), each once, newest first, ` +
      `totalCount ${merged.length}; ${merged.at(-1)} refetched through node(id:)`,
  );
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
