// The request bodies validated before any credential is checked (pair-start, push-decision),
// and the string helpers every schema uses. Re-exported by api_schemas.ts, the one list of the
// API's schemas; kept apart so that those two functions load only these at start (~1 ms of
// CPU, where api_schemas.ts costs ~4 ms: issue 21, bench/FINDINGS.md).
import * as v from "valibot";

/** A string of min..max characters (UTF-16 code units, as JSON Schema counts them). */
export function text(min: number, max: number) {
  return v.pipe(v.string(), v.minLength(min), v.maxLength(max));
}
/** The same, counted after trimming white space off both ends (what is stored). */
export function trimmed(min: number, max: number) {
  return v.pipe(v.string(), v.trim(), v.minLength(min), v.maxLength(max));
}

// pair-start
export const PairStartRequest = v.strictObject({
  machine_id: text(1, 200),
  workspace_fingerprint: text(1, 200),
  display_name: trimmed(1, 100),
});

// push-decision: the decision token from an approval push is the credential
export const PushDecisionRequest = v.strictObject({
  decision_token: v.pipe(
    text(16, 128),
    v.regex(/^[A-Za-z0-9_-]+$/, "must be the decision_token of an approval push"),
  ),
  decision: v.picklist(["APPROVE", "DENY"]),
  note: v.optional(v.pipe(v.string(), v.maxLength(2000))),
});
