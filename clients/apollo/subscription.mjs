// Apollo Client 4 with GraphQLWsLink: subscriptions go over graphql-ws (the WebSocket on the
// same /graphql path, the key in connection_init's payload), everything else over HTTP. Watch a
// session with `verificationSession(id:)`, change it with mutations, and check each change
// arrives, in order, and lands in the cache.
//
//   GATEWAY_URL=http://127.0.0.1:8000/graphql GATEWAY_KEY=sk_test_... node clients/apollo/subscription.mjs
//
// Exits non-zero when anything the gateway sends is not what was expected.
import assert from "node:assert/strict";

import { ApolloClient, ApolloLink, HttpLink, InMemoryCache, gql } from "@apollo/client";
import { GraphQLWsLink } from "@apollo/client/link/subscriptions";
import { OperationTypeNode } from "graphql";
import { createClient } from "graphql-ws";
import WebSocket from "ws";

const GATEWAY_URL = process.env.GATEWAY_URL ?? "http://127.0.0.1:8000/graphql";
const GATEWAY_KEY = process.env.GATEWAY_KEY;

const CREATE = gql`
  mutation CreateSession($input: CreateVerificationSessionInput!) {
    createVerificationSession(input: $input) {
      verificationSession {
        id
        status
      }
      userErrors {
        code
        message
      }
    }
  }
`;

const UPDATE = gql`
  mutation UpdateSession($input: UpdateVerificationSessionInput!) {
    updateVerificationSession(input: $input) {
      verificationSession {
        id
        metadata
      }
      userErrors {
        code
        message
      }
    }
  }
`;

const CANCEL = gql`
  mutation CancelSession($id: ID!) {
    cancelVerificationSession(input: { id: $id }) {
      verificationSession {
        id
        status
      }
      userErrors {
        code
        message
      }
    }
  }
`;

const WATCH = gql`
  subscription WatchSession($id: ID!) {
    verificationSession(id: $id) {
      id
      status
      metadata
    }
  }
`;

const SESSION = gql`
  fragment WatchedSession on VerificationSession {
    id
    status
    metadata
  }
`;

// The name of each operation the WebSocket carried, to check the split sent only subscriptions.
const overSocket = [];

function createApolloClient() {
  if (!GATEWAY_KEY) {
    throw new Error("set GATEWAY_KEY to a secret key (sk_test_...)");
  }
  const httpLink = new HttpLink({
    uri: GATEWAY_URL,
    headers: { Authorization: `Bearer ${GATEWAY_KEY}` },
  });
  const wsClient = createClient({
    url: GATEWAY_URL.replace(/^http/, "ws"),
    // Node 20 has no WebSocket global; a browser needs no webSocketImpl.
    webSocketImpl: WebSocket,
    connectionParams: { Authorization: `Bearer ${GATEWAY_KEY}` },
    retryAttempts: 0,
  });
  const wsLink = new GraphQLWsLink(wsClient);
  const link = ApolloLink.split(
    ({ operationType, operationName }) => {
      const subscription = operationType === OperationTypeNode.SUBSCRIPTION;
      if (subscription) overSocket.push(operationName);
      return subscription;
    },
    wsLink,
    httpLink,
  );
  return { client: new ApolloClient({ link, cache: new InMemoryCache() }), wsClient };
}

/** The results of an Observable, one at a time: `next()` resolves with the next one. */
function queue(observable) {
  const waiting = [];
  const ready = [];
  const deliver = (item) => (waiting.length ? waiting.shift()(item) : ready.push(item));
  const subscription = observable.subscribe({
    next: (value) => deliver({ value }),
    error: (error) => deliver({ error }),
    complete: () => deliver({ error: new Error("the subscription completed") }),
  });
  return {
    async next() {
      const item = ready.length ? ready.shift() : await new Promise((r) => waiting.push(r));
      if (item.error) throw item.error;
      return item.value;
    },
    close: () => subscription.unsubscribe(),
  };
}

async function mutate(client, mutation, variables, field) {
  const { data } = await client.mutate({ mutation, variables });
  assert.deepEqual(data[field].userErrors, [], `${field} refused`);
  return data[field].verificationSession;
}

async function main() {
  const { client, wsClient } = createApolloClient();
  try {
    const { id } = await mutate(
      client,
      CREATE,
      { input: { type: "DOCUMENT", clientReferenceId: "apollo-ws" } },
      "createVerificationSession",
    );

    const watch = queue(client.subscribe({ query: WATCH, variables: { id } }));
    try {
      // 1. The session as it is, at once.
      const first = await watch.next();
      assert.equal(first.error, undefined, String(first.error));
      assert.deepEqual(first.data.verificationSession, {
        __typename: "VerificationSession",
        id,
        status: "REQUIRES_INPUT",
        metadata: {},
      });

      // 2. Each change, once the previous one has arrived (the server sends a session's state
      //    after a change, so two quick changes may come as one message).
      await mutate(
        client,
        UPDATE,
        { input: { id, metadata: { order: "1001" } } },
        "updateVerificationSession",
      );
      const updated = await watch.next();
      assert.deepEqual(updated.data.verificationSession.metadata, { order: "1001" });
      assert.equal(updated.data.verificationSession.status, "REQUIRES_INPUT");

      await mutate(client, CANCEL, { id }, "cancelVerificationSession");
      const canceled = await watch.next();
      assert.equal(canceled.data.verificationSession.status, "CANCELED");
      assert.deepEqual(canceled.data.verificationSession.metadata, { order: "1001" });
    } finally {
      watch.close();
    }

    // 3. What the subscription sent is in the normalized cache, under the session's id.
    const cached = client.readFragment({
      id: client.cache.identify({ __typename: "VerificationSession", id }),
      fragment: SESSION,
    });
    assert.equal(cached.status, "CANCELED");
    assert.deepEqual(overSocket, ["WatchSession"], "the split sent something else over the socket");
    console.log(
      `apollo GraphQLWsLink: ${id} watched through REQUIRES_INPUT, metadata change, CANCELED`,
    );
  } finally {
    await wsClient.dispose();
    client.stop();
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
