import { assertEquals } from "../tests/_helpers/assert.ts";
import type { Rule } from "../shared/rule_match.ts";
import type { AgentOpsClient } from "./sdk.ts";
import { UnreachableError } from "./sdk.ts";
import { currentRules, markRulesStale, MAX_STALE_ALLOW_SECONDS } from "./rules.ts";

const WS = "11111111-1111-4111-8111-111111111111";

function rule(effect: "allow" | "deny", value: string): Rule {
  return {
    rule_id: crypto.randomUUID(),
    workspace_id: WS,
    effect,
    match: "prefix",
    value,
    words: [value.split(" ")],
    expires_at: "2999-01-01T00:00:00Z",
  };
}

/** A client whose GET /bridge-rules answers from `answers` in turn and records the ETags. */
function fakeClient(answers: Array<Rule[] | "304" | "down">) {
  const seen: Array<string | null> = [];
  const client = {
    workspaceId: WS,
    fetchRules(etag: string | null) {
      seen.push(etag);
      const next = answers.shift();
      if (next === "down" || next === undefined) {
        return Promise.reject(new UnreachableError("down"));
      }
      if (next === "304") return Promise.resolve(null);
      return Promise.resolve({
        etag: `"v${seen.length}"`,
        version: `v${seen.length}`,
        rules: next,
      });
    },
  };
  return { client: client as unknown as AgentOpsClient, seen };
}

Deno.test("currentRules() caches within the refresh interval and revalidates with the ETag", async () => {
  const project = await Deno.makeTempDir();
  try {
    const allow = rule("allow", "make");
    const { client, seen } = fakeClient([[allow], "304", [allow, rule("deny", "rm")]]);
    const t0 = 1_000_000;
    assertEquals((await currentRules(project, client, { now: t0, refreshSeconds: 5 })).length, 1);
    await currentRules(project, client, { now: t0 + 4_000, refreshSeconds: 5 });
    assertEquals(seen, [null], "no request inside the interval");
    assertEquals(
      (await currentRules(project, client, { now: t0 + 5_000, refreshSeconds: 5 })).length,
      1,
    );
    assertEquals(seen, [null, `"v1"`]);
    await markRulesStale(project);
    assertEquals(
      (await currentRules(project, client, { now: t0 + 5_001, refreshSeconds: 5 })).length,
      2,
    );
  } finally {
    await Deno.remove(project, { recursive: true });
  }
});

Deno.test("currentRules() keeps the cache while the backend is down, then only its deny rules", async () => {
  const project = await Deno.makeTempDir();
  try {
    const { client } = fakeClient([[rule("allow", "make"), rule("deny", "rm")], "down", "down"]);
    const t0 = 1_000_000;
    await currentRules(project, client, { now: t0, refreshSeconds: 0 });
    assertEquals(
      (await currentRules(project, client, { now: t0 + 1, refreshSeconds: 0 })).length,
      2,
    );
    const late = await currentRules(project, client, {
      now: t0 + MAX_STALE_ALLOW_SECONDS * 1000 + 1,
      refreshSeconds: 0,
    });
    assertEquals(late.map((r) => r.effect), ["deny"]);
  } finally {
    await Deno.remove(project, { recursive: true });
  }
});

Deno.test("currentRules() answers no rules when it has neither a cache nor a backend", async () => {
  const project = await Deno.makeTempDir();
  try {
    const { client } = fakeClient(["down"]);
    assertEquals(await currentRules(project, client, { now: 1, refreshSeconds: 5 }), []);
  } finally {
    await Deno.remove(project, { recursive: true });
  }
});
