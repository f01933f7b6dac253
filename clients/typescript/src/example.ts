// A typed client for the gateway: the documents generated from playground/operations carry
// their result and variable types, so nothing below needs a cast or a hand-written type.
//
//   GATEWAY_URL=http://127.0.0.1:8000/graphql GATEWAY_KEY=sk_test_... node build/src/example.js
import assert from "node:assert/strict";

import type { TypedDocumentNode } from "@graphql-typed-document-node/core";
import { print } from "graphql";

import {
  CreateVerificationSessionDocument,
  GetVerificationSessionDocument,
} from "./generated/graphql.js";

const GATEWAY_URL = process.env.GATEWAY_URL ?? "http://127.0.0.1:8000/graphql";
const GATEWAY_KEY = process.env.GATEWAY_KEY;

/** The body of a GraphQL-over-HTTP response. */
interface GraphQLResponse<TResult> {
  data?: TResult | null;
  errors?: ReadonlyArray<{ message: string }>;
}

/** Run one operation and return its typed `data`; throws on an HTTP error or GraphQL `errors`. */
async function request<TResult, TVariables>(
  document: TypedDocumentNode<TResult, TVariables>,
  variables: TVariables,
): Promise<TResult> {
  if (!GATEWAY_KEY) {
    throw new Error("set GATEWAY_KEY to a secret key (sk_test_...)");
  }
  const response = await fetch(GATEWAY_URL, {
    method: "POST",
    headers: {
      "Content-Type": "application/json",
      Accept: "application/graphql-response+json, application/json",
      Authorization: `Bearer ${GATEWAY_KEY}`,
    },
    body: JSON.stringify({ query: print(document), variables }),
  });
  if (!response.ok) {
    throw new Error(`HTTP ${response.status}: ${await response.text()}`);
  }
  const body = (await response.json()) as GraphQLResponse<TResult>;
  if (body.errors?.length) {
    throw new Error(body.errors.map((error) => error.message).join("; "));
  }
  if (body.data == null) {
    throw new Error("the response has neither data nor errors");
  }
  return body.data;
}

async function main(): Promise<void> {
  const reference = `ts-example-${Date.now()}`;

  // Create: `input` is checked against CreateVerificationSessionInput at compile time.
  const { createVerificationSession: created } = await request(
    CreateVerificationSessionDocument,
    {
      input: {
        type: "DOCUMENT",
        clientReferenceId: reference,
        metadata: { source: "typescript-example" },
        options: { document: { allowedTypes: ["PASSPORT"], requireMatchingSelfie: true } },
      },
    },
  );
  // A refused input comes back as userErrors, not as a GraphQL error.
  if (created.userErrors.length > 0) {
    throw new Error(`create refused: ${JSON.stringify(created.userErrors)}`);
  }
  const session = created.verificationSession;
  if (session === null) {
    throw new Error("create returned no session and no userErrors");
  }
  // `session.status` is the union "REQUIRES_INPUT" | "PROCESSING" | ..., `created` a string.
  assert.match(session.id, /^vs_[0-9A-Za-z]{24}$/);
  assert.equal(session.status, "REQUIRES_INPUT");
  assert.equal(session.type, "DOCUMENT");
  assert.deepEqual(session.metadata, { source: "typescript-example" });
  assert.deepEqual(session.options?.document?.allowedTypes, ["PASSPORT"]);
  assert.ok(session.clientSecret, "a new session has a client secret");
  assert.ok(!Number.isNaN(Date.parse(session.created)), "created is an RFC 3339 timestamp");

  // Fetch it back by id.
  const { verificationSession: fetched } = await request(GetVerificationSessionDocument, {
    id: session.id,
  });
  if (fetched === null) {
    throw new Error(`${session.id} was not found`);
  }
  assert.equal(fetched.id, session.id);
  assert.equal(fetched.status, session.status);
  assert.equal(fetched.created, session.created);
  assert.equal(fetched.clientReferenceId, reference);
  assert.deepEqual(fetched.metadata, session.metadata);
  assert.equal(fetched.livemode, false);

  console.log(`created and fetched ${fetched.id} (${fetched.status}, ${fetched.created})`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
