// Request contents never reach the Postgres server log. Postgres logs the text of every
// statement that fails (log_min_error_statement, default `error`) and a refused request
// fails inside its SQL function, so arguments must be bound parameters, never SQL text.
// This reads the real server log of the test cluster (scripts/local_postgres.mjs keeps it
// in TEST_PG_LOG_FILE) after refused requests that carried secret-looking values.
import { assert, assertEquals } from "./_helpers/assert.ts";
import { randomDevice, randomWorkspace } from "./_helpers/fixtures.ts";
import { postEvent } from "./_helpers/events.ts";
import { eventually } from "./_helpers/approvals.ts";
import {
  clearOfRateWindowEdge,
  fetchJson,
  type Json,
  mintUserToken,
  startStack,
} from "./_helpers/stack.ts";
import { completeBody, pairStart, phoneOf } from "./_helpers/pairing.ts";
import { invoke } from "./_helpers/phone.ts";

function logFile(): string {
  const file = Deno.env.get("TEST_PG_LOG_FILE");
  if (!file) throw new Error("TEST_PG_LOG_FILE is not set; run the tests with `npm test`");
  return file;
}

async function logText(): Promise<string> {
  return await Deno.readTextFile(logFile());
}

Deno.test("refused requests leave no request contents in the Postgres server log", async () => {
  const stack = await startStack({
    env: { RATE_LIMIT_PAIR_START_PER_MINUTE: "1", RATE_LIMIT_PAIR_COMPLETE_PER_MINUTE: "1" },
  });
  try {
    await clearOfRateWindowEdge();
    // the server logs with its defaults: failing statements, nothing else
    const [settings] = await stack.sql`
      select current_setting('log_min_error_statement') as min_error_statement,
             current_setting('log_statement') as statement,
             current_setting('log_parameter_max_length_on_error') as parameters_on_error`;
    assertEquals(settings, {
      min_error_statement: "error",
      statement: "none",
      parameters_on_error: "0",
    });

    const mark = crypto.randomUUID().replaceAll("-", "");
    const secret = (what: string) => `SECRET-${what}-${mark}`;
    const refused: { what: string; status: number; code: string }[] = [];
    const record = (what: string, res: { status: number; body: Json }) =>
      refused.push({ what, status: res.status, code: res.body?.error?.code });

    const ws = await randomWorkspace(stack.sql);
    const { userId } = await randomDevice(stack.sql, { workspaceId: ws.workspaceId });
    const token = await mintUserToken(userId);
    const auth = { authorization: `Bearer ${token}`, "content-type": "application/json" };

    // a push token for a device that is not the user's
    record(
      "mobile-device",
      await fetchJson(`${stack.functionsUrl}/mobile-device`, {
        method: "POST",
        headers: auth,
        body: JSON.stringify({
          device_id: crypto.randomUUID(),
          push_token: secret("push-token"),
          device_name: secret("device-name"),
        }),
      }),
    );
    // an instruction for a run the user cannot see
    record(
      "mobile-run-instruction",
      await fetchJson(`${stack.functionsUrl}/mobile-run-instruction/${crypto.randomUUID()}`, {
        method: "POST",
        headers: auth,
        body: JSON.stringify({ text: secret("instruction") }),
      }),
    );
    // a decision note for an approval that does not exist
    record(
      "mobile-approval-decision",
      await fetchJson(`${stack.functionsUrl}/mobile-approval-decision/${crypto.randomUUID()}`, {
        method: "POST",
        headers: auth,
        body: JSON.stringify({ decision: "DENY", note: secret("note") }),
      }),
    );
    // a replayed event: refused inside SQL, after the first copy was stored
    const event = {
      workspace_id: ws.workspaceId,
      run_id: crypto.randomUUID(),
      provider: "claude-code",
      event_type: "TOOL_USED",
      event_ts: new Date().toISOString(),
      payload: { message: secret("payload") },
    };
    const nonce = `nonce-${mark}`;
    assertEquals((await postEvent(stack, ws, event, { nonce })).status, 202);
    record("bridge-event (replayed)", await postEvent(stack, ws, event, { nonce }));
    // pair-start and pair-complete past their rate limits
    assertEquals((await pairStart(stack)).status, 201);
    record(
      "pair-start (rate-limited)",
      await pairStart(stack, {
        machine_id: secret("machine"),
        workspace_fingerprint: secret("fingerprint"),
        display_name: "project",
      }),
    );
    const phone = await phoneOf(stack);
    await invoke(phone.client, "pair-complete", completeBody("ZZZZZZZZ"));
    record(
      "pair-complete (rate-limited)",
      await invoke(
        phone.client,
        "pair-complete",
        completeBody("ZZZZZZZZ", { push_token: secret("pair-push-token") }),
      ),
    );

    assertEquals(refused.map((r) => [r.what, r.status, r.code]), [
      ["mobile-device", 404, "not_found"],
      ["mobile-run-instruction", 404, "not_found"],
      ["mobile-approval-decision", 404, "not_found"],
      ["bridge-event (replayed)", 401, "replayed_nonce"],
      ["pair-start (rate-limited)", 429, "rate_limited"],
      ["pair-complete (rate-limited)", 429, "rate_limited"],
    ]);

    // A failing statement written after all of them: once its text is in the log, every
    // line the refused requests caused is there too (one server, one stderr pipe, each
    // line written before the client got its error).
    const control = `control-${mark}`;
    await stack.sql.unsafe(`select '${control}'::uuid`).catch(() => {});
    await eventually(async () => (await logText()).includes(control), "the control statement");

    const log = await logText();
    assert(log.includes("AOERR") || log.includes("ERROR:"), "the refusals were logged");
    const leaked = log.split("\n").filter((line) => line.includes(mark) && !line.includes(control));
    assertEquals(leaked, [], "request contents in the server log");
  } finally {
    await stack.close();
  }
});
