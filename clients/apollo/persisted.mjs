// Apollo Client 4 with its persisted-queries link (automatic persisted queries, SHA-256 from
// Node's crypto) against the gateway, every request recorded by the fetch the HttpLink uses.
//
//   GATEWAY_URL=http://127.0.0.1:8000/graphql GATEWAY_KEY=sk_test_... node clients/apollo/persisted.mjs
//
// It checks, for a query over POST, for a query with useGETForHashedQueries, and for a mutation
// (which the link never sends over GET):
//   1. the first request carries the hash alone and gets PersistedQueryNotFound;
//   2. the link resends it at once, over POST, with the document, and gets the data;
//   3. the next identical request carries the hash alone again and gets the data.
// Prints one line per case; exits non-zero when anything differs.
import assert from "node:assert/strict";
import { createHash, randomUUID } from "node:crypto";

import { ApolloClient, HttpLink, InMemoryCache, gql } from "@apollo/client";
import { PersistedQueryLink } from "@apollo/client/link/persisted-queries";

const GATEWAY_URL = process.env.GATEWAY_URL ?? "http://127.0.0.1:8000/graphql";
const GATEWAY_KEY = process.env.GATEWAY_KEY;
assert.ok(GATEWAY_KEY, "set GATEWAY_KEY to a secret key (sk_test_...)");

// A field alias of this run's own: the documents (and so their hashes) are new to the gateway,
// however many runs its store has seen.
const RUN = randomUUID().replaceAll("-", "").slice(0, 12);

const COUNT = gql`
  query PersistedCount {
    count_${RUN}: verificationSessions(first: 0) {
      totalCount
    }
  }
`;

const LIST = gql`
  query PersistedList($first: Int!) {
    list_${RUN}: verificationSessions(first: $first) {
      nodes {
        id
        clientReferenceId
      }
    }
  }
`;

const CREATE = gql`
  mutation PersistedCreate($input: CreateVerificationSessionInput!) {
    create_${RUN}: createVerificationSession(input: $input) {
      verificationSession {
        id
        clientReferenceId
      }
      userErrors {
        code
      }
    }
  }
`;

const sha256 = (text) => createHash("sha256").update(text).digest("hex");

// What the HttpLink sent, and what came back, one entry per HTTP request.
const requests = [];

async function recordingFetch(url, init) {
  const response = await fetch(url, init);
  const text = await response.clone().text();
  const parsed = new URL(url);
  const sent = init.method === "GET" ? Object.fromEntries(parsed.searchParams) : JSON.parse(init.body);
  for (const name of ["extensions", "variables"]) {
    if (typeof sent[name] === "string") sent[name] = JSON.parse(sent[name]);
  }
  requests.push({ method: init.method, sent, status: response.status, body: JSON.parse(text) });
  return response;
}

function createClient({ useGETForHashedQueries }) {
  const persisted = new PersistedQueryLink({ sha256, useGETForHashedQueries });
  const http = new HttpLink({
    uri: GATEWAY_URL,
    headers: { Authorization: `Bearer ${GATEWAY_KEY}` },
    fetch: recordingFetch,
  });
  return new ApolloClient({ link: persisted.concat(http), cache: new InMemoryCache() });
}

// Run `send` twice and check the three requests the protocol makes; returns what came back.
async function twice(label, send, { firstMethod, hashedMethod }) {
  const start = requests.length;
  const first = await send();
  const second = await send();
  const made = requests.slice(start);
  assert.equal(made.length, 3, `${label}: ${made.length} requests: ${JSON.stringify(made)}`);
  const [miss, registration, hit] = made;
  const hash = miss.sent.extensions?.persistedQuery?.sha256Hash;
  assert.match(hash ?? "", /^[0-9a-f]{64}$/, `${label}: no hash in the first request`);

  assert.equal(miss.method, firstMethod, `${label}: first request`);
  assert.equal(miss.sent.query, undefined, `${label}: the first request carried the document`);
  assert.equal(miss.status, 200);
  assert.deepEqual(miss.body, {
    errors: [
      { message: "PersistedQueryNotFound", extensions: { code: "PERSISTED_QUERY_NOT_FOUND" } },
    ],
  });

  assert.equal(registration.method, "POST", `${label}: the resend goes over POST`);
  assert.equal(sha256(registration.sent.query), hash, `${label}: the hash is the document's`);
  assert.equal(registration.sent.extensions.persistedQuery.sha256Hash, hash);
  assert.equal(registration.body.errors, undefined, JSON.stringify(registration.body.errors));

  assert.equal(hit.method, hashedMethod, `${label}: the hashed request`);
  assert.equal(hit.sent.query, undefined, `${label}: the hashed request carried the document`);
  assert.equal(hit.sent.extensions.persistedQuery.sha256Hash, hash);
  assert.equal(hit.body.errors, undefined, JSON.stringify(hit.body.errors));
  console.log(
    `${label}: ${made.map((request) => request.method).join(", ")}: hash alone ` +
      `(PersistedQueryNotFound), with the document, hash alone (data) ${hash}`,
  );
  return [first, second];
}

async function main() {
  const viaPost = createClient({ useGETForHashedQueries: false });
  const [counted, countedAgain] = await twice(
    "query over POST",
    () => viaPost.query({ query: COUNT, fetchPolicy: "network-only" }),
    { firstMethod: "POST", hashedMethod: "POST" },
  );
  assert.deepEqual(counted.data, countedAgain.data);
  const before = counted.data[`count_${RUN}`].totalCount;

  const [created, createdAgain] = await twice(
    "mutation",
    () =>
      createClient({ useGETForHashedQueries: true }).mutate({
        mutation: CREATE,
        variables: { input: { type: "DOCUMENT", clientReferenceId: `apq-${RUN}` } },
      }),
    { firstMethod: "POST", hashedMethod: "POST" },
  );
  for (const result of [created, createdAgain]) {
    assert.deepEqual(result.data[`create_${RUN}`].userErrors, []);
  }

  const viaGet = createClient({ useGETForHashedQueries: true });
  const [listed] = await twice(
    "query with useGETForHashedQueries",
    () => viaGet.query({ query: LIST, variables: { first: 10 }, fetchPolicy: "network-only" }),
    { firstMethod: "GET", hashedMethod: "GET" },
  );
  const references = listed.data[`list_${RUN}`].nodes.map((node) => node.clientReferenceId);
  assert.deepEqual(references, [`apq-${RUN}`, `apq-${RUN}`]);
  assert.equal(before + 2, references.length);
  console.log(`${requests.length} requests in all; the mutation ran twice, never over GET`);
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
