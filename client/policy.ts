// The policy file (.agentops/policy.json): which commands need the phone's approval, and
// what the runner answers when it cannot get one. Commands are judged by what they run
// (shared/command_policy.ts, on a real shell parser), never by their spelling.
import { analyzeCommand, type Risk } from "../shared/command_policy.ts";
import { normalizeCommand } from "../shared/shell_commands.ts";
import type { Fallback, Policy } from "./policy_schema.ts";

export type { Fallback, Policy };

/** parsePolicy({}) written out, so that the default needs no valibot (policy_schema.ts);
 * client/policy_test.ts fails when the two differ. */
export const DEFAULT_POLICY: Policy = {
  require_approval: [],
  allow: [],
  unknown_commands: "ask",
  approval_ttl_seconds: 300,
  fallback: { unreachable: "ask", no_device: "ask", timeout: "deny" },
};

/** Reads a policy file; a missing file is the default policy, a malformed one an error. */
export async function loadPolicy(path: string): Promise<Policy> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return DEFAULT_POLICY;
    throw error;
  }
  const { parsePolicy } = await import("./policy_schema.ts");
  return parsePolicy(JSON.parse(text), path);
}

function globToRegExp(glob: string): RegExp {
  const escaped = glob.trim().replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*");
  return new RegExp(`^${escaped}$`, "s");
}

function toMatcher(pattern: string): RegExp {
  return pattern.startsWith("re:") ? new RegExp(pattern.slice(3)) : globToRegExp(pattern);
}

interface CommandVerdict {
  needsApproval: boolean;
  /** dangerous if any part is, read_only only if every part is, else other */
  risk: Risk;
  /** the deciding simple command and why, for the terminal and the phone */
  reason: string;
  /** every simple command the script runs, normalized */
  commands: string[][];
  /** the parts the read-only list lets run, normalized (rules may count them as allowed) */
  readOnly: string[];
  /** whether an allow rule may decide this command: every part is a command whose words
   * are literal, and nothing else in it (a write outside the project, hidden code) is
   * dangerous. A deny rule always may. */
  ruleMayAllow: boolean;
}

/** Whether a shell command needs the phone's approval under this policy, and why. A command
 * that cannot be parsed, or whose program is only known at run time, always does. */
export async function evaluateCommand(
  policy: Policy,
  command: string,
  options: { cwd?: string } = {},
): Promise<CommandVerdict> {
  const analysis = await analyzeCommand(command, options);
  const allow = policy.allow.map(toMatcher);
  const require = policy.require_approval.map((p) => ({ p, re: toMatcher(p) }));
  let asking: { reason: string; rank: number } | null = null;
  let allowedByPolicy = false;
  for (const finding of analysis.findings) {
    let needs = finding.risk === "dangerous" ||
      (finding.risk === "other" && policy.unknown_commands === "ask");
    let reason = finding.reason;
    if (finding.kind === "command" && finding.readable) {
      const text = normalizeCommand(finding.words);
      const required = require.find(({ re }) => re.test(text));
      if (allow.some((re) => re.test(text))) {
        needs = false;
        allowedByPolicy ||= finding.risk !== "read_only";
      } else if (required) {
        needs = true;
        reason = `${text}: matches require_approval "${required.p}"`;
      }
    }
    if (!needs) {
      allowedByPolicy ||= finding.risk === "other";
      continue;
    }
    const rank = finding.risk === "dangerous" ? 2 : 1;
    if (!asking || rank > asking.rank) asking = { reason, rank };
  }
  const base = {
    risk: analysis.risk,
    commands: analysis.commands,
    readOnly: analysis.findings
      .filter((f) => f.kind === "command" && f.readable && f.risk === "read_only")
      .map((f) => normalizeCommand(f.words)),
    ruleMayAllow: analysis.commands.length > 0 &&
      analysis.findings.every((f) => f.kind === "command" ? f.readable : f.risk !== "dangerous"),
  };
  if (asking) return { ...base, needsApproval: true, reason: asking.reason };
  const reason = allowedByPolicy ? `allowed by the policy (${analysis.reason})` : analysis.reason;
  return { ...base, needsApproval: false, reason };
}

/** Seconds the host (Claude Code, Cursor, Codex) gives the hook before killing it: above
 * the approval's TTL, so the runner answers first. */
export function hostTimeoutSeconds(policy: Policy): number {
  return policy.approval_ttl_seconds + 30;
}
