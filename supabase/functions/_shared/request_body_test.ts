// readRawBody's deadline: every body read in flight shares one runtime timer
// (request_body.ts, Deadlines). A stalled body is refused at its own deadline, whether an
// earlier read with a longer deadline armed the timer or an earlier read finished and left
// it armed for a time that has passed; a body that arrives is read whole.
import { assertEquals } from "../../../tests/_helpers/assert.ts";
import { HttpError } from "./http_error.ts";
import { readRawBody } from "./request_body.ts";

/** A POST whose body sends `first` and then nothing until finish() is called. */
function stalled(first = "{") {
  let finish = () => {};
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(new TextEncoder().encode(first));
      finish = () => controller.close();
    },
  });
  const req = new Request("http://fn.test/", { method: "POST", body });
  return { req, finish: () => finish() };
}

async function refusal(read: Promise<unknown>): Promise<string> {
  try {
    await read;
  } catch (error) {
    if (error instanceof HttpError) return `${error.code}: ${error.message}`;
    throw error;
  }
  return "read whole";
}

Deno.test("a stalled body is refused at its own deadline while a longer one is pending", async () => {
  const long = stalled();
  const longRead = readRawBody(long.req, { timeoutMs: 600_000 });
  const short = stalled();
  // With only the long read's timer armed, this would wait ten minutes (the test's limit).
  assertEquals(
    await refusal(readRawBody(short.req, { timeoutMs: 50 })),
    "invalid_request: Invalid request: the body did not arrive within 50 ms",
  );
  long.finish();
  assertEquals(new TextDecoder().decode(await longRead), "{");
});

Deno.test("a body that arrives in time is read whole; a later stalled one is still refused", async () => {
  const quick = stalled("{}");
  const quickRead = readRawBody(quick.req, { timeoutMs: 30 });
  quick.finish();
  assertEquals(new TextDecoder().decode(await quickRead), "{}");
  // The timer armed for the quick read fires with nothing due and must arm for this one.
  const late = stalled();
  assertEquals(
    await refusal(readRawBody(late.req, { timeoutMs: 200 })),
    "invalid_request: Invalid request: the body did not arrive within 200 ms",
  );
});
