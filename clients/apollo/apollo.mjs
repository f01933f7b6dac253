// Apollo Client 4 against the gateway, outside any UI framework: create sessions, page through
// them with fetchMore into one cached Relay connection, and refetch one through `node`.
//
//   GATEWAY_URL=http://127.0.0.1:8000/graphql GATEWAY_KEY=sk_test_... node clients/apollo/apollo.mjs
//
// Exits non-zero when anything the gateway returns is not what was expected.
import assert from "node:assert/strict";

import { ApolloClient, HttpLink, InMemoryCache, gql } from "@apollo/client";
import { relayStylePagination } from "@apollo/client/utilities";
import { filter, firstValueFrom } from "rxjs";

const GATEWAY_URL = process.env.GATEWAY_URL ?? "http://127.0.0.1:8000/graphql";
const GATEWAY_KEY = process.env.GATEWAY_KEY;
const SESSIONS = 7;
const PAGE_SIZE = 3;

const CREATE = gql`
  mutation CreateSession($input: CreateVerificationSessionInput!) {
    createVerificationSession(input: $input) {
      verificationSession {
        id
        status
        created
        clientReferenceId
      }
      userErrors {
        field
        message
        code
      }
    }
  }
`;

// `edges`, `cursor` and `pageInfo` are what relayStylePagination merges pages with.
const LIST = gql`
  query ListSessions($first: Int!, $after: String, $filter: VerificationSessionFilter) {
    verificationSessions(first: $first, after: $after, filter: $filter) {
      edges {
        cursor
        node {
          id
          status
          created
          clientReferenceId
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`;

const NODE = gql`
  query SessionNode($id: ID!) {
    node(id: $id) {
      __typename
      ... on VerificationSession {
        id
        status
      }
    }
  }
`;

function createClient() {
  if (!GATEWAY_KEY) {
    throw new Error("set GATEWAY_KEY to a secret key (sk_test_...)");
  }
  return new ApolloClient({
    link: new HttpLink({
      uri: GATEWAY_URL,
      headers: { Authorization: `Bearer ${GATEWAY_KEY}` },
    }),
    cache: new InMemoryCache({
      typePolicies: {
        Query: {
          fields: {
            // Every page of one filter lands in one cached connection: `first` and `after`
            // select a page, `filter` selects the list.
            verificationSessions: relayStylePagination(["filter"]),
          },
        },
      },
    }),
  });
}

async function main() {
  const client = createClient();

  // One customer id marks this run's sessions, so the filter below finds only them even on an
  // account that already has others; each session also gets its own client reference.
  const run = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
  const customer = `cus_apollo${run}`;

  // 1. Create the sessions one after another, so each is newer than the one before.
  const created = [];
  for (let i = 1; i <= SESSIONS; i++) {
    const { data } = await client.mutate({
      mutation: CREATE,
      variables: {
        input: { type: "DOCUMENT", relatedCustomer: customer, clientReferenceId: `${run}-${i}` },
      },
    });
    const payload = data.createVerificationSession;
    assert.deepEqual(payload.userErrors, [], "create refused");
    assert.equal(payload.verificationSession.status, "REQUIRES_INPUT");
    created.push(payload.verificationSession);
  }
  const newestFirst = created.map((session) => session.id).reverse();

  // 2. Page through them, PAGE_SIZE at a time. fetchMore sends `after`; the type policy appends
  //    each page's edges to the one cached connection for this filter.
  const variables = { first: PAGE_SIZE, filter: { relatedCustomer: customer } };
  const sessions = client.watchQuery({ query: LIST, variables });
  // A watched query fetches, and follows the cache, while something is subscribed to it.
  const watching = sessions.subscribe(() => {});
  try {
    const firstPage = await firstValueFrom(
      sessions.pipe(filter((result) => result.dataState === "complete" || result.error)),
    );
    if (firstPage.error) {
      throw firstPage.error;
    }
    let pageInfo = firstPage.data.verificationSessions.pageInfo;
    let pages = 1;
    while (pageInfo.hasNextPage) {
      assert.ok(pages < SESSIONS, `still more pages after ${pages}: the cursor does not advance`);
      const { data: page } = await sessions.fetchMore({ variables: { after: pageInfo.endCursor } });
      assert.ok(page.verificationSessions.edges.length <= PAGE_SIZE, "a page is too long");
      pageInfo = page.verificationSessions.pageInfo;
      pages += 1;
    }

    // 3. The cache now answers the first page's query with the merged connection: every
    //    session once, newest first, without another request.
    const { verificationSessions: merged } = client.readQuery({ query: LIST, variables });
    const mergedIds = merged.edges.map((edge) => edge.node.id);
    assert.equal(new Set(mergedIds).size, mergedIds.length, "an id is cached twice");
    assert.deepEqual(mergedIds, newestFirst, "the merged connection differs from what was created");
    assert.deepEqual(
      merged.edges.map((edge) => edge.node.clientReferenceId),
      created.map((session) => session.clientReferenceId).reverse(),
    );
    assert.equal(pages, Math.ceil(SESSIONS / PAGE_SIZE));
    assert.equal(merged.pageInfo.hasNextPage, false);
    console.log(`paged ${mergedIds.length} sessions in ${pages} pages of up to ${PAGE_SIZE}`);
  } finally {
    watching.unsubscribe();
  }

  // 4. Refetch the newest session through the Node interface.
  const newest = created[created.length - 1];
  const { data } = await client.query({
    query: NODE,
    variables: { id: newest.id },
    fetchPolicy: "network-only",
  });
  assert.equal(data.node.__typename, "VerificationSession");
  assert.equal(data.node.id, newest.id);
  assert.equal(data.node.status, "REQUIRES_INPUT");
  console.log(`node(id: "${newest.id}") is a ${data.node.__typename} in ${data.node.status}`);
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
