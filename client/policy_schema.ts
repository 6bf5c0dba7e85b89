// The policy file's schema (.agentops/policy.json), in a module of its own so that zod is
// imported only when there is a file to validate: a hook with no policy file (the default)
// skips its ~20 ms import (bench/hook_latency.ts).
import { z } from "zod";

export const Fallback = z.enum(["ask", "allow", "deny"]);
export type Fallback = z.infer<typeof Fallback>;

export const PolicySchema = z.strictObject({
  /** globs (`*` = anything; `re:<regex>` for a regular expression) matched against each
   * simple command the script runs, normalized (program name without its path, assignments
   * and wrappers stripped, words joined by single spaces): a match needs approval. The
   * built-in dangerous list (shared/command_policy.ts) applies whatever this says. */
  require_approval: z.array(z.string().min(1)).default([]),
  /** globs, matched the same way, for simple commands that never need approval (not even
   * dangerous ones); checked first. A script runs unasked only if every part does. */
  allow: z.array(z.string().min(1)).default([]),
  /** commands neither read-only nor dangerous: ask the phone, or let them run (blocklist) */
  unknown_commands: z.enum(["ask", "allow"]).default("ask"),
  /** how long the phone has to decide (the approval's expires_in_seconds) */
  approval_ttl_seconds: z.number().int().min(30).max(3600).default(300),
  fallback: z.strictObject({
    /** the backend cannot be reached */
    unreachable: Fallback.default("ask"),
    /** this project is not paired, or no phone is paired with it */
    no_device: Fallback.default("ask"),
    /** nobody decided before the approval expired or the runner's deadline passed */
    timeout: Fallback.default("deny"),
  }).prefault({}),
});
export type Policy = z.infer<typeof PolicySchema>;
