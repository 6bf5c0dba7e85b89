import { assertEquals } from "../../../tests/_helpers/assert.ts";
import { HttpError } from "./http_error.ts";
import { validate } from "./validate.ts";
import { PairCompleteRequest, PairStatusQuery } from "../../../shared/api_schemas.ts";

/** The details of the 400 that validate() throws for `value`. */
function refusal(value: unknown): unknown {
  try {
    validate(PairCompleteRequest, value);
  } catch (error) {
    if (!(error instanceof HttpError)) throw error;
    assertEquals([error.status, error.code], [400, "invalid_request"]);
    assertEquals(error.message, "Invalid request: the body does not match the schema");
    return (error.details as { path: string; code: string }[]).map((d) => [d.path, d.code]);
  }
  throw new Error("validate() accepted it");
}

Deno.test("validate() names each wrong field with zod's issue codes", () => {
  const ok = { pair_token: "ABCDEFGH", platform: "ios", push_token: "t" };
  assertEquals(refusal({ ...ok, extra: 1 }), [["extra", "unrecognized_keys"]]);
  assertEquals(refusal({ platform: "ios", push_token: "t" }), [["pair_token", "invalid_type"]]);
  assertEquals(refusal({ ...ok, pair_token: "x".repeat(65) }), [["pair_token", "too_big"]]);
  assertEquals(refusal({ ...ok, pair_token: "" }), [["pair_token", "too_small"]]);
  assertEquals(refusal({ ...ok, platform: "tv" }), [["platform", "invalid_value"]]);
  assertEquals(refusal({ ...ok, device_id: "not-a-uuid" }), [["device_id", "invalid_format"]]);
  assertEquals(refusal({ pair_token: "ABCDEFGH", platform: "ios" }), [["push_token", "custom"]]);
  assertEquals(refusal(null), [["", "invalid_type"]]);
});

Deno.test("validate() returns the schema's output: defaults, trimmed and lower-cased values", () => {
  const id = "3F2B8C1E-9D4A-4C6B-8E2F-1A2B3C4D5E6F";
  const body = validate(PairCompleteRequest, {
    pair_token: "ABCDEFGH",
    platform: "web",
    device_id: id,
    device_name: "  Pixel  ",
  });
  assertEquals([body.device_id, body.device_name], [id.toLowerCase(), "Pixel"]);
  assertEquals(validate(PairStatusQuery, {}, "query string"), { wait: 0 });
  assertEquals(validate(PairStatusQuery, { wait: "12" }, "query string"), { wait: 12 });
});
