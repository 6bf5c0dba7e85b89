// The policy file (.agentops/policy.json): which commands need the phone's approval, and
// what the runner answers when it cannot get one. Everything else is left to the agent.
import { z } from "zod";

export const Fallback = z.enum(["ask", "allow", "deny"]);
export type Fallback = z.infer<typeof Fallback>;

export const PolicySchema = z.strictObject({
  /** globs (`*` = anything) matched against the whole command and each part of a compound
   * command (split on &&, ||, ;, | and newlines); `re:<regex>` for a regular expression */
  require_approval: z.array(z.string().min(1)).default([
    "rm *",
    "sudo *",
    "git push*",
    "git reset --hard*",
    "git clean *",
    "npm publish*",
    "deno publish*",
    "docker *",
    "kubectl *",
    "terraform *",
    "curl * | *sh*",
    "chmod -R *",
    "dd *",
  ]),
  /** globs never sent for approval, checked first */
  allow: z.array(z.string().min(1)).default([]),
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

export const DEFAULT_POLICY: Policy = PolicySchema.parse({});

/** Reads a policy file; a missing file is the default policy, a malformed one an error. */
export async function loadPolicy(path: string): Promise<Policy> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return DEFAULT_POLICY;
    throw error;
  }
  const parsed = PolicySchema.safeParse(JSON.parse(text));
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
    throw new Error(`Cannot read policy ${path}: ${lines.join("; ")}`);
  }
  return parsed.data;
}

function globToRegExp(glob: string): RegExp {
  const escaped = glob.trim().replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*");
  return new RegExp(`^${escaped}$`, "s");
}

function toMatcher(pattern: string): RegExp {
  return pattern.startsWith("re:") ? new RegExp(pattern.slice(3)) : globToRegExp(pattern);
}

/** The command and the simple commands inside it, trimmed. */
export function commandParts(command: string): string[] {
  const whole = command.trim();
  const parts = whole.split(/&&|\|\||;|\||\n/).map((p) => p.trim()).filter(Boolean);
  return [whole, ...parts.filter((p) => p !== whole)];
}

/** The first pattern that makes this command need approval, or null. */
export function approvalRule(policy: Policy, command: string): string | null {
  const parts = commandParts(command);
  if (policy.allow.some((p) => toMatcher(p).test(parts[0]))) return null;
  for (const pattern of policy.require_approval) {
    const re = toMatcher(pattern);
    if (parts.some((part) => re.test(part))) return pattern;
  }
  return null;
}

/** Seconds the host (Claude Code, Cursor, Codex) gives the hook before killing it: above
 * the approval's TTL, so the runner answers first. */
export function hostTimeoutSeconds(policy: Policy): number {
  return policy.approval_ttl_seconds + 30;
}
