// Knowing a machine's identifiers is never enough to take its workspace over: clients
// cannot read them (they live in private.workspace_keys), and pair-start re-pairs a workspace (a new secret for the same
// machine and project) only when signed with its current secret; anything else gets a
// new workspace. `agentops pair` signs when it is already paired.
import type postgres from "postgres";
import { assert, assertEquals, assertNotEquals } from "./_helpers/assert.ts";
import { startStack } from "./_helpers/stack.ts";
import {
  count,
  credentialsOf as creds,
  machine,
  pairPhone,
  pairStatus,
  phoneOf,
  signedPairStart,
  startPairing as started,
} from "./_helpers/pairing.ts";
import { runCli, testProject } from "./_helpers/agentops.ts";

async function codeAs(sql: postgres.Sql, userId: string, statement: string) {
  const conn = await sql.reserve();
  try {
    const claims = JSON.stringify({ sub: userId, role: "authenticated" });
    await conn`select set_config('request.jwt.claims', ${claims}, false)`;
    await conn.unsafe("set role authenticated");
    try {
      const rows = await conn.unsafe(statement);
      return { code: null, rows: [...rows] };
    } catch (error) {
      return { code: (error as { code?: string }).code ?? "unknown", rows: [] };
    }
  } finally {
    await conn.unsafe("reset role; reset request.jwt.claims");
    conn.release();
  }
}

Deno.test("a paired user reads their workspace with select * but never what identifies its machine", async () => {
  const stack = await startStack();
  try {
    const ada = await phoneOf(stack);
    const paired = await pairPhone(stack, ada, { start: { ...machine(), display_name: "proj" } });
    await started(stack, machine()); // someone else's workspace
    const all = await codeAs(stack.sql, ada.userId, "select * from public.workspaces");
    assertEquals(all.code, null);
    assertEquals(all.rows.map((r) => [r.id, r.display_name]), [[paired.workspaceId, "proj"]]);
    for (const column of ["machine_id", "project_fingerprint", "secret_version"]) {
      assert(!(column in all.rows[0]), `${column} is not a column of public.workspaces`);
      const missing = await codeAs(
        stack.sql,
        ada.userId,
        `select ${column} from public.workspaces`,
      );
      assertEquals(missing.code, "42703", column);
      // they live in private.workspace_keys, which no client may read
      const refused = await codeAs(
        stack.sql,
        ada.userId,
        `select ${column} from private.workspace_keys`,
      );
      assertEquals(refused.code, "42501", column);
    }
    const star = await codeAs(stack.sql, ada.userId, "select * from private.workspace_keys");
    assertEquals(star.code, "42501");
  } finally {
    await stack.close();
  }
});

Deno.test("pair-start with a known machine and project but no signature makes a new workspace and leaves the old one alone", async () => {
  const stack = await startStack();
  try {
    const ids = machine();
    const first = await started(stack, ids);
    const phone = await phoneOf(stack);
    // the real hook runner re-pairs (signed) and its phone pairs
    const real = await pairPhone(stack, phone, { start: ids, signedWith: creds(first) });
    assertEquals(real.workspaceId, first.workspace_id);
    assertEquals(await count(stack, "public.workspaces"), 1);
    const [{ secret_version: before }] = await stack.sql`
      select secret_version from private.workspace_keys where workspace_id = ${first.workspace_id}`;

    const intruder = await started(stack, ids);
    assertNotEquals(intruder.workspace_id, first.workspace_id);
    assertEquals(await count(stack, "public.workspaces"), 2);
    const [{ secret_version: after }] = await stack.sql`
      select secret_version from private.workspace_keys where workspace_id = ${first.workspace_id}`;
    assertEquals(after, before, "the existing workspace's secret is untouched");
    // the real hook runner's secret still works; the new workspace has none of its devices
    const kept = await pairStatus(stack, creds(real.started));
    assertEquals([kept.status, kept.body.paired], [200, true]);
    const fresh = await pairStatus(stack, creds(intruder));
    assertEquals(fresh.status, 200);
    assertEquals(fresh.body.paired, false);
  } finally {
    await stack.close();
  }
});

Deno.test("a signed re-pair keeps the workspace; a stale secret or a replay is refused and writes nothing", async () => {
  const stack = await startStack();
  try {
    const ids = machine();
    const first = await started(stack, ids);
    const nonce = `repair-${crypto.randomUUID()}`;
    const second = await signedPairStart(stack, ids, creds(first), { nonce });
    assertEquals(second.status, 201, JSON.stringify(second.body));
    assertEquals(second.body.workspace_id, first.workspace_id);
    assertNotEquals(second.body.bridge_secret, first.bridge_secret);
    assertEquals((await pairStatus(stack, creds(second.body))).status, 200);
    assertEquals((await pairStatus(stack, creds(first))).status, 401, "the old secret is dead");

    const rows = async () => ({
      workspaces: await count(stack, "public.workspaces"),
      tokens: await count(stack, "private.pair_tokens"),
      nonces: await count(stack, "private.bridge_nonces"),
      version:
        (await stack.sql`select secret_version from private.workspace_keys`)[0].secret_version,
    });
    const before = await rows();
    assertEquals(before.workspaces, 1);
    // the same signed request again (its secret is no longer current)
    const replay = await signedPairStart(stack, ids, creds(first), { nonce });
    assertEquals([replay.status, replay.body.error.code], [401, "unauthorized"]);
    // a current secret with a nonce it already used: refused in the request's transaction
    const current = creds(second.body);
    const used = await signedPairStart(stack, ids, current, { nonce: "x".repeat(8) });
    assertEquals(used.status, 201);
    const afterOne = await rows();
    const again = await signedPairStart(stack, ids, creds(used.body), { nonce: "x".repeat(8) });
    assertEquals([again.status, again.body.error.code], [401, "replayed_nonce"]);
    assertEquals(await rows(), afterOne, "refused re-pairs wrote nothing");
    // a signature over another machine's identifiers makes a new workspace
    const other = await signedPairStart(stack, machine(), creds(used.body));
    assertEquals(other.status, 201);
    assertNotEquals(other.body.workspace_id, first.workspace_id);
  } finally {
    await stack.close();
  }
});

Deno.test("agentops pair again keeps the workspace; with a lost secret it pairs a new one", async () => {
  const stack = await startStack();
  const project = await testProject(stack, null);
  try {
    const credsFile = `${project.dir}/.agentops/credentials.json`;
    const pair = () => runCli(project, ["pair", "--no-qr", "--wait", "0"]);
    const stored = async () => JSON.parse(await Deno.readTextFile(credsFile));
    await pair(); // no phone pairs within --wait 0: exits 1 with the credentials stored
    const first = await stored();
    await pair();
    const second = await stored();
    assertEquals(second.workspace_id, first.workspace_id, "re-pairing keeps the workspace");
    assertNotEquals(second.bridge_secret, first.bridge_secret);

    await Deno.writeTextFile(credsFile, JSON.stringify({ ...second, bridge_secret: "lost" }));
    const lost = await pair();
    const third = await stored();
    assertNotEquals(third.workspace_id, first.workspace_id, "a new workspace");
    assert(lost.stderr.includes("pairing as a new workspace"), lost.stderr);
    assertEquals(await count(stack, "public.workspaces"), 2);
  } finally {
    await project.close();
    await stack.close();
  }
});
