// The GraphQL-over-HTTP audits of graphql-http (serverAudits) against a live gateway.
//
//   GATEWAY_URL=http://127.0.0.1:8000/graphql GATEWAY_KEY=sk_test_… node clients/schema/audit.mjs
//
// Every request carries `Authorization: Bearer $GATEWAY_KEY`: most of the schema needs a key.
// Prints one line per audit (ok, notice, warn or error, with its id and name) and the counts, and
// exits 1 when any audit is an error (a MUST of the spec broken); warnings (SHOULDs) are listed.
import { serverAudits } from 'graphql-http';

const url = process.env.GATEWAY_URL;
const key = process.env.GATEWAY_KEY;
if (!url || !key) {
  console.error('audit: set GATEWAY_URL (the /graphql endpoint) and GATEWAY_KEY (a secret key)');
  process.exit(2);
}

function fetchWithKey(input, init = {}) {
  const headers = new Headers(init.headers);
  headers.set('Authorization', `Bearer ${key}`);
  return fetch(input, { ...init, headers });
}

const results = [];
for (const audit of serverAudits({ url, fetchFn: fetchWithKey })) {
  // An audit throws only when it cannot run at all (the server is unreachable, say).
  results.push(await audit.fn());
}

const counts = { ok: 0, notice: 0, warn: 0, error: 0 };
for (const result of results) {
  counts[result.status] += 1;
  const line = `${result.status.toUpperCase().padEnd(6)} ${result.id} ${result.name}`;
  if (result.status === 'ok') {
    console.log(line);
    continue;
  }
  let body = '';
  try {
    body = await result.response.text();
  } catch {
    // The audit already read the body.
  }
  console.log(`${line}\n       reason: ${result.reason}`);
  console.log(
    `       response: ${result.response.status} ${result.response.headers.get('content-type')}` +
      (body ? ` ${body.slice(0, 300)}` : ''),
  );
}

console.log(
  `\n${results.length} audits: ${counts.ok} ok, ${counts.notice} notice, ` +
    `${counts.warn} warn, ${counts.error} error`,
);
process.exit(counts.error > 0 ? 1 : 0);
