// Stripe's Node SDK against a live gateway's REST surface: create, retrieve, update, list with
// auto-pagination, cancel, an error as the SDK's own class, reports and events, and a webhook
// endpoint whose every delivery (to a receiver this script runs) passes the SDK's
// `webhooks.constructEvent`. It asserts what it sees and exits non-zero on any mismatch. GATEWAY_URL (the /graphql endpoint) and
// GATEWAY_KEY (a test-mode secret key) come from the environment.
import assert from "node:assert/strict";
import { createServer } from "node:http";
import Stripe from "stripe";

const base = new URL(process.env.GATEWAY_URL);
const stripe = new Stripe(process.env.GATEWAY_KEY, {
  host: base.hostname,
  port: Number(base.port),
  protocol: base.protocol.replace(":", ""),
  maxNetworkRetries: 0,
});
const sessions = stripe.identity.verificationSessions;

// A webhook receiver on loopback: each delivery's raw body and signature.
const deliveries = [];
const receiver = createServer((request, response) => {
  const chunks = [];
  request.on("data", (chunk) => chunks.push(chunk));
  request.on("end", () => {
    deliveries.push({ body: Buffer.concat(chunks), signature: request.headers["stripe-signature"] });
    response.end("ok");
  });
});
await new Promise((resolve) => receiver.listen(0, "127.0.0.1", resolve));

try {
  const hook = await stripe.webhookEndpoints.create({
    url: `http://127.0.0.1:${receiver.address().port}/hooks`,
    enabled_events: ["*"],
  });
  assert.match(hook.secret, /^whsec_/);
  const made = [];
  for (let n = 0; n < 5; n++) {
    made.push(
      await sessions.create({
        type: "document",
        client_reference_id: `node_${n}`,
        metadata: { n: String(n) },
        options: { document: { allowed_types: ["passport"], require_matching_selfie: true } },
      }),
    );
  }
  const first = made[0];
  assert.equal(first.object, "identity.verification_session");
  assert.equal(first.status, "requires_input");
  assert.deepEqual(first.options.document.allowed_types, ["passport"]);
  assert.equal((await sessions.retrieve(first.id)).id, first.id);

  const updated = await sessions.update(first.id, { metadata: { n: "", extra: "yes" } });
  assert.deepEqual(updated.metadata, { extra: "yes" });

  const seen = [];
  for await (const session of sessions.list({ limit: 2 })) seen.push(session.id);
  assert.deepEqual(seen, made.map((session) => session.id).reverse());

  const canceled = await sessions.cancel(first.id);
  assert.equal(canceled.status, "canceled");
  assert.equal(canceled.client_secret, null);

  await assert.rejects(sessions.retrieve("vs_000000000000000000000000"), (error) => {
    assert.ok(error instanceof Stripe.errors.StripeInvalidRequestError);
    assert.equal(error.statusCode, 404);
    assert.equal(error.code, "resource_missing");
    return true;
  });

  const reports = await stripe.identity.verificationReports.list({ limit: 10 });
  assert.equal(reports.object, "list");
  const events = await stripe.events.list({ type: "identity.verification_session.*", limit: 100 });
  const types = events.data.map((event) => event.type);
  assert.equal(types.filter((type) => type.endsWith(".created")).length, 5);
  assert.equal(types[0], "identity.verification_session.canceled");

  const deadline = Date.now() + 20_000;
  while (deliveries.length < events.data.length && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const delivered = deliveries.map(({ body, signature }) =>
    stripe.webhooks.constructEvent(body, signature, hook.secret),
  );
  assert.deepEqual(
    delivered.map((event) => event.id).sort(),
    events.data.map((event) => event.id).sort(),
  );
  assert.equal((await stripe.webhookEndpoints.del(hook.id)).deleted, true);

  console.log(
    `node sdk: ${seen.length} sessions listed, ${events.data.length} events, ` +
      `${delivered.length} webhooks verified`,
  );
} catch (error) {
  console.error(error.stack ?? String(error));
  process.exit(1);
} finally {
  receiver.close();
}
