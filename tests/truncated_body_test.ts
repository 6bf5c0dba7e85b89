// Bodies that never arrive whole, over a raw socket: cut short of Content-Length or
// mid-chunk (client half-closes or goes away), dribbled, or stalled. Each is the client's
// fault: 400 invalid_request, nothing logged at error level, nothing written; a slow body
// that does arrive is served normally. (The bad-input corpus runs the same on every
// endpoint; this file adds the logs and the happy slow path.)
import { assert, assertEquals } from "./_helpers/assert.ts";
import { eventually } from "./_helpers/approvals.ts";
import { rawHttp } from "./_helpers/raw_http.ts";
import { startStack } from "./_helpers/stack.ts";
import { createLogger } from "../supabase/functions/_shared/logger.ts";

const PAIR_START = "/functions/v1/pair-start";
const body = JSON.stringify({
  machine_id: "m-truncated",
  workspace_fingerprint: "fp-truncated",
  display_name: "Truncated",
});
const json = { "content-type": "application/json" };

async function withLoggedStack(
  fn: (
    stack: Awaited<ReturnType<typeof startStack>>,
    lines: Record<string, unknown>[],
  ) => Promise<void>,
) {
  const lines: Record<string, unknown>[] = [];
  const log = createLogger("debug", {}, (line) => lines.push(JSON.parse(line)));
  const stack = await startStack({ env: { BODY_READ_TIMEOUT_MS: "1000" }, overrides: { log } });
  try {
    await fn(stack, lines);
  } finally {
    await stack.close();
  }
}

function errors(lines: Record<string, unknown>[]) {
  return lines.filter((l) => l.level === "error");
}

Deno.test("a body cut short (half-close, mid-chunk, stalled) is 400 invalid_request, logged below error, nothing written", async () => {
  await withLoggedStack(async (stack, lines) => {
    const half = body.slice(0, 20);
    const answers = [
      await rawHttp({
        baseUrl: stack.baseUrl,
        method: "POST",
        path: PAIR_START,
        headers: json,
        body: half,
        declaredLength: body.length,
        then: "half-close",
      }),
      await rawHttp({
        baseUrl: stack.baseUrl,
        method: "POST",
        path: PAIR_START,
        headers: json,
        body: half,
        framing: "chunked",
        declaredLength: body.length,
        then: "half-close",
      }),
      await rawHttp({
        baseUrl: stack.baseUrl,
        method: "POST",
        path: PAIR_START,
        headers: json,
        body: half,
        declaredLength: body.length,
        then: "wait",
      }),
    ];
    for (const res of answers) {
      assertEquals(res.status, 400);
      const answer = await res.json();
      assertEquals(answer.error.code, "invalid_request");
      assert(!("stack" in answer.error));
    }
    const [{ n }] = await stack.sql`select count(*)::int as n from public.workspaces`;
    assertEquals(n, 0, "a refused request wrote a workspace");
    assertEquals(errors(lines), []);
  });
});

Deno.test("a client that goes away mid-body leaves no error-level log and the server keeps serving", async () => {
  await withLoggedStack(async (stack, lines) => {
    const conn = await Deno.connect({
      hostname: "127.0.0.1",
      port: Number(new URL(stack.baseUrl).port),
    });
    const head = `POST ${PAIR_START} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n` +
      `content-length: ${body.length}\r\n\r\n${body.slice(0, 20)}`;
    await conn.write(new TextEncoder().encode(head));
    conn.close();
    // The pipeline logs every answered request at debug level: wait for this one's.
    await eventually(
      () => lines.some((l) => l.msg === "request" && l.fn === "pair-start" && l.status === 400),
      "the cut-short request to be answered",
    );
    assertEquals(errors(lines), []);
    const ok = await fetch(`${stack.functionsUrl}/pair-start`, {
      method: "POST",
      headers: json,
      body,
    });
    assertEquals(ok.status, 201);
    await ok.body?.cancel();
  });
});

Deno.test("a body dribbled a few bytes at a time (plain and chunked) is read whole and served", async () => {
  await withLoggedStack(async (stack, lines) => {
    // 1 s read timeout, ~80 pieces 1 ms apart: served unless the machine stalls for long;
    // then it is the 400 of a slow body, never a 5xx.
    for (const framing of ["length", "chunked"] as const) {
      const res = await rawHttp({
        baseUrl: stack.baseUrl,
        method: "POST",
        path: PAIR_START,
        headers: json,
        body,
        framing,
        complete: true,
        pieceBytes: 1,
        pauseMs: 1,
        then: "wait",
      });
      const answer = await res.json();
      assert(
        res.status === 201 || (res.status === 400 && answer.error.code === "invalid_request"),
        `${framing}: ${res.status} ${JSON.stringify(answer)}`,
      );
    }
    assertEquals(errors(lines), []);
  });
});
