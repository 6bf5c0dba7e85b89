// The policy file's schema (.agentops/policy.json), in a module of its own so that valibot
// is imported only when there is a file to validate: a hook with no policy file (the
// default) skips the import (bench/hook_latency.ts).
import * as v from "valibot";

export const Fallback = v.picklist(["ask", "allow", "deny"]);
export type Fallback = v.InferOutput<typeof Fallback>;

const globs = v.optional(v.array(v.pipe(v.string(), v.minLength(1))), []);

const PolicySchema = v.strictObject({
  /** globs (`*` = anything; `re:<regex>` for a regular expression) matched against each
   * simple command the script runs, normalized (program name without its path, assignments
   * and wrappers stripped, words joined by single spaces): a match needs approval. The
   * built-in dangerous list (shared/command_policy.ts) applies whatever this says. */
  require_approval: globs,
  /** globs, matched the same way, for simple commands that never need approval (not even
   * dangerous ones); checked first. A script runs unasked only if every part does. */
  allow: globs,
  /** commands neither read-only nor dangerous: ask the phone, or let them run (blocklist) */
  unknown_commands: v.optional(v.picklist(["ask", "allow"]), "ask"),
  /** how long the phone has to decide (the approval's expires_in_seconds) */
  approval_ttl_seconds: v.optional(
    v.pipe(v.number(), v.safeInteger(), v.minValue(30), v.maxValue(3600)),
    300,
  ),
  fallback: v.optional(
    v.strictObject({
      /** the backend cannot be reached */
      unreachable: v.optional(Fallback, "ask"),
      /** this project is not paired, or no phone is paired with it */
      no_device: v.optional(Fallback, "ask"),
      /** nobody decided before the approval expired or the runner's deadline passed */
      timeout: v.optional(Fallback, "deny"),
    }),
    {},
  ),
});
export type Policy = v.InferOutput<typeof PolicySchema>;

/** The policy a file's parsed JSON says, its defaults filled in; an error naming each field
 * that is wrong (`file` names the file in the message). */
export function parsePolicy(value: unknown, file = "policy.json"): Policy {
  const parsed = v.safeParse(PolicySchema, value);
  if (!parsed.success) {
    const lines = parsed.issues.map((i) => `${v.getDotPath(i) ?? ""}: ${i.message}`);
    throw new Error(`Cannot read policy ${file}: ${lines.join("; ")}`);
  }
  return parsed.output;
}
