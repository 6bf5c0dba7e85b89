import { assertEquals } from "../../tests/_helpers/assert.ts";
import { ApiError, errorFromResponse, errorWords, OfflineError } from "./errors.ts";

function answer(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(typeof body === "string" ? body : JSON.stringify(body), {
    status,
    headers,
  });
}

Deno.test("errorWords() says the server's message and what to do next", async () => {
  const limited = await errorFromResponse(answer(429, {
    error: { code: "rate_limited", message: "Too many requests: 10 a minute" },
  }));
  assertEquals(errorWords(limited), "Too many requests: 10 a minute. Wait a moment and try again.");
  const decided = await errorFromResponse(answer(409, {
    error: { code: "already_decided", message: "Already decided: DENIED" },
  }));
  assertEquals(errorWords(decided), "Already decided: DENIED. Your answer was not used.");
});

Deno.test("errorWords() lists the schema issues of invalid_request", async () => {
  const error = await errorFromResponse(answer(400, {
    error: {
      code: "invalid_request",
      message: "Invalid request body",
      details: [{ path: ["note"], message: "Too big" }],
    },
  }));
  assertEquals(errorWords(error), "Invalid request body. (note: Too big)");
});

Deno.test("errorWords() words a non-JSON failure, a 500 with its request id, and offline", async () => {
  const proxy = await errorFromResponse(answer(502, "<html>Bad gateway</html>"));
  assertEquals(proxy.code, "internal");
  const internal = new ApiError(500, "internal", "", undefined, "req-1");
  assertEquals(
    errorWords(internal),
    "The backend failed on its side. Try again; if it keeps failing, look in the backend's log (request req-1).",
  );
  assertEquals(
    errorWords(new OfflineError("Cannot reach 127.0.0.1:54321")),
    "Offline: Cannot reach 127.0.0.1:54321. Check the connection; the app retries on its own.",
  );
});
