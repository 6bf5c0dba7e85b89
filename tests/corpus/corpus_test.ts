// The bad-input corpus over real HTTP (docs/contract/targets.md#bad-input): every case gets a 4xx
// (the contract's code where it determines one), never a 5xx, in the error shape with a request
// id, and changes no row of any public or private table. Endpoints still stubbed (501)
// are skipped with a message until they land.
import { assert } from "../_helpers/assert.ts";
import { startStack } from "../_helpers/stack.ts";
import { type Case, casesFor, type CorpusEndpoint, ENDPOINTS, send, type Sender } from "./cases.ts";
import { changedTables, createWorld, fingerprint } from "./world.ts";

async function check(
  s: Sender,
  ep: CorpusEndpoint,
  c: Case,
  before: Record<string, string>,
) {
  const res = await c.send();
  const text = await res.text();
  const problems: string[] = [];
  const statuses = [c.expect.status].flat();
  const codes = c.expect.code === undefined ? undefined : [c.expect.code].flat();
  let code: string | undefined;
  try {
    code = JSON.parse(text)?.error?.code;
  } catch {
    problems.push(`body is not JSON: ${text.slice(0, 80)}`);
  }
  if (res.status >= 500) problems.push(`answered ${res.status} ${code ?? ""}`);
  else if (!statuses.includes(res.status)) {
    problems.push(`answered ${res.status} ${code ?? ""}, expected ${statuses.join("|")}`);
  }
  if (codes && code !== undefined && !codes.includes(code)) {
    problems.push(`error code ${code}, expected ${codes.join("|")}`);
  }
  if (!res.headers.get("x-request-id")) problems.push("no x-request-id");
  const after = await fingerprint(s.stack.sql);
  const changed = changedTables(before, after).filter((t) =>
    !(ep.countsAttempts && t === "private.rate_limits")
  );
  if (changed.length) problems.push(`wrote to ${changed.join(", ")}`);
  return { problems, after };
}

Deno.test("bad-input corpus: every endpoint answers malformed requests with the contract's 4xx, never a 5xx, and writes nothing", async (t) => {
  // A short body-read timeout, so the stalled-body cases answer quickly.
  // dev-sign-in on, so that its bad input is checked like every endpoint's.
  const stack = await startStack({
    env: { BODY_READ_TIMEOUT_MS: "1000", AGENTOPS_DEV_SIGN_IN: "1" },
  });
  try {
    const world = await createWorld(stack.sql);
    const s: Sender = { stack, world };
    let total = 0;
    for (const ep of ENDPOINTS) {
      // A stub answers 501 at its bare path (it takes no id).
      const probe = await send(s, ep, { noAuth: true, path: `/${ep.name}` });
      await probe.body?.cancel();
      const stubbed = probe.status === 501;
      const cases = stubbed ? [] : casesFor(s, ep);
      total += cases.length;
      await t.step({
        name: stubbed
          ? `${ep.name}: skipped, the endpoint is still a 501 stub on this branch`
          : `${ep.name}: ${cases.length} cases`,
        ignore: stubbed,
        fn: async () => {
          const failures: string[] = [];
          for (const c of cases) {
            if (c.setup) await c.setup();
            const before = await fingerprint(stack.sql);
            const { problems } = await check(s, ep, c, before);
            if (problems.length) failures.push(`${ep.name} / ${c.label}: ${problems.join("; ")}`);
          }
          assert(
            failures.length === 0,
            `${failures.length} case(s) failed:\n${failures.join("\n")}`,
          );
        },
      });
    }
    console.log(`bad-input corpus: ${total} cases run`);
  } finally {
    await stack.close();
  }
});
