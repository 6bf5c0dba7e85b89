// End to end (docs/contract/hook-runner.md#instructions): instructions queued from a supabase-js
// phone reach the agent through the CLI's stop hooks, once, over real HTTP and a real database.
import { assert, assertEquals } from "./_helpers/assert.ts";
import {
  hookPayload,
  type HookWorld,
  invoke,
  runHookCli,
  testPhone,
  withHookWorld,
} from "./_helpers/agentops.ts";
import { toRunId } from "../client/run_id.ts";

/** The run as the hook runner names it (created here; bridge-event creates it in use). */
async function ensureRun(w: HookWorld, provider: string, providerRunId: string): Promise<string> {
  const runId = await toRunId(provider, providerRunId);
  await w.stack
    .sql`select private.ensure_run(${w.ws.workspaceId}, ${runId}, ${provider}, ${providerRunId})`;
  return runId;
}

Deno.test("an instruction from the phone reaches Claude Code's Stop hook once, as a block with the text", () =>
  withHookWorld({}, async (w) => {
    const session = `session-${crypto.randomUUID()}`;
    const runId = await toRunId("claude-code", session);
    // The run starts as in use: Claude Code's SessionStart hook → RUN_STARTED.
    const started = await runHookCli(
      w.project,
      "claude-code",
      await hookPayload("claude-code-sessionstart", { session_id: session }),
    );
    assertEquals(started.code, 0, started.stderr);
    const phone = await testPhone(w.stack, w.userId);
    const queued = await invoke(phone, `mobile-run-instruction/${runId}`, {
      text: "Also update CHANGELOG.md",
    });
    assertEquals(queued.status, 201);
    assertEquals(queued.body.status, "QUEUED");

    const stop = await hookPayload("claude-code-stop", { session_id: session });
    const first = await runHookCli(w.project, "claude-code", stop);
    assertEquals(first.code, 0, first.stderr);
    assertEquals(first.json?.decision, "block");
    assert(String(first.json?.reason).includes("Also update CHANGELOG.md"));

    // The agent continues, then stops again: nothing more to hand over, it may stop.
    const second = await runHookCli(w.project, "claude-code", { ...stop, stop_hook_active: true });
    assertEquals([second.code, second.stdout], [0, ""]);
    const third = await runHookCli(w.project, "claude-code", stop);
    assertEquals([third.code, third.stdout], [0, ""]);

    const rows = await w.stack.sql`
      select delivered_at from public.run_instructions where run_id = ${runId}`;
    assertEquals(rows.length, 1);
    assert(rows[0].delivered_at !== null);
    // Handing the instruction over did not complete the run; the later stops did, and a
    // finished run's later stops get nothing that was already collected.
    const types = await w.stack.sql`
      select type from public.events where run_id = ${runId} order by seq`;
    assertEquals(types.map((t) => t.type), [
      "RUN_STARTED",
      "INSTRUCTION_QUEUED",
      "INSTRUCTION_DELIVERED",
      "RUN_COMPLETED",
      "RUN_COMPLETED",
    ]);
    const [run] = await w.stack.sql`select status from public.runs where id = ${runId}`;
    assertEquals(run.status, "COMPLETED");
    const fourth = await runHookCli(w.project, "claude-code", stop);
    assertEquals([fourth.code, fourth.stdout], [0, ""]);
  }));

Deno.test("Claude Code's Stop with stop_hook_active never blocks again, and leaves new instructions pending", () =>
  withHookWorld({}, async (w) => {
    const session = `session-${crypto.randomUUID()}`;
    const runId = await ensureRun(w, "claude-code", session);
    const phone = await testPhone(w.stack, w.userId);
    assertEquals(
      (await invoke(phone, `mobile-run-instruction/${runId}`, { text: "next step" })).status,
      201,
    );
    const active = await runHookCli(
      w.project,
      "claude-code",
      await hookPayload("claude-code-stop", { session_id: session, stop_hook_active: true }),
    );
    assertEquals([active.code, active.stdout], [0, ""]);
    const [row] = await w.stack.sql`
      select delivered_at from public.run_instructions where run_id = ${runId}`;
    assertEquals(row.delivered_at, null);
  }));

Deno.test("Cursor's stop hook hands queued instructions over as one followup_message, oldest first", () =>
  withHookWorld({}, async (w) => {
    const conversation = crypto.randomUUID();
    const runId = await ensureRun(w, "cursor", conversation);
    const phone = await testPhone(w.stack, w.userId);
    for (const text of ["Rename the flag to --dry-run", "Then add a test for it"]) {
      assertEquals((await invoke(phone, `mobile-run-instruction/${runId}`, { text })).status, 201);
    }
    const stop = await hookPayload("cursor-stop", { conversation_id: conversation });
    const first = await runHookCli(w.project, "cursor", stop);
    assertEquals(first.code, 0, first.stderr);
    const message = String(first.json?.followup_message);
    assert(message.indexOf("Rename the flag") < message.indexOf("Then add a test"), message);
    const again = await runHookCli(w.project, "cursor", stop);
    assertEquals(again.json, {});
  }));

Deno.test("concurrent stop hooks never hand the same instruction over twice", () =>
  withHookWorld({}, async (w) => {
    const conversation = crypto.randomUUID();
    const runId = await ensureRun(w, "cursor", conversation);
    const phone = await testPhone(w.stack, w.userId);
    const texts = ["alpha-1", "bravo-2", "charlie-3", "delta-4"];
    for (const text of texts) {
      assertEquals((await invoke(phone, `mobile-run-instruction/${runId}`, { text })).status, 201);
    }
    const stop = await hookPayload("cursor-stop", { conversation_id: conversation });
    const results = await Promise.all(
      Array.from({ length: 4 }, () => runHookCli(w.project, "cursor", stop)),
    );
    const seen = texts.map((t) =>
      results.filter((r) => String(r.json?.followup_message ?? "").includes(t)).length
    );
    assertEquals(seen, [1, 1, 1, 1]);
  }));

Deno.test("the phone cannot queue an instruction for another user's run (404), and the hook gets nothing", () =>
  withHookWorld({}, async (w) => {
    const session = `session-${crypto.randomUUID()}`;
    const runId = await ensureRun(w, "claude-code", session);
    const stranger = await testPhone(w.stack, crypto.randomUUID());
    const refused = await invoke(stranger, `mobile-run-instruction/${runId}`, { text: "rm -rf /" });
    assertEquals(refused.status, 404);
    assertEquals(refused.body.error.code, "not_found");
    const stop = await runHookCli(
      w.project,
      "claude-code",
      await hookPayload("claude-code-stop", { session_id: session }),
    );
    assertEquals([stop.code, stop.stdout], [0, ""]);
  }));
