// Validating a request's body or query string with its valibot schema: 400 invalid_request,
// with one entry of details per issue, naming the field. Imported with the schemas on the
// first request that is validated (endpoint.ts), never at a function's start.
import * as v from "valibot";
import { HttpError } from "./http_error.ts";

/** zod's issue codes, which details[].code kept when the schemas moved to valibot: the
 * code of a valibot issue by its type. */
const ISSUE_CODES: Record<string, string> = {
  strict_object: "unrecognized_keys",
  picklist: "invalid_value",
  literal: "invalid_value",
  min_length: "too_small",
  min_value: "too_small",
  length: "too_small",
  max_length: "too_big",
  max_value: "too_big",
  max_bytes: "too_big",
  regex: "invalid_format",
  safe_integer: "invalid_type",
  check: "custom",
  partial_check: "custom",
};

/** One entry of details: the dotted path of the field, a code and what is wrong. */
export function issueDetail(issue: v.BaseIssue<unknown>): {
  path: string;
  code: string;
  message: string;
} {
  const path = (issue.path ?? []).map((p) => String(p.key)).join(".");
  // A strict object's issue for an unknown key is a type issue too: the type says which.
  const code = issue.type === "strict_object" && issue.expected !== "never"
    ? "invalid_type"
    : ISSUE_CODES[issue.type] ?? (issue.kind === "schema" ? "invalid_type" : "custom");
  return { path, code, message: issue.message };
}

/** Validates with a valibot schema; 400 invalid_request with the issues in details. */
export function validate<S extends v.GenericSchema>(
  schema: S,
  value: unknown,
  what = "body",
): v.InferOutput<S> {
  const result = v.safeParse(schema, value);
  if (!result.success) {
    throw new HttpError(
      "invalid_request",
      `Invalid request: the ${what} does not match the schema`,
      { details: result.issues.map(issueDetail) },
    );
  }
  return result.output;
}
