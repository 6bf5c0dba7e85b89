// The phone's rules in the hook runner (issue 15): the workspace's active rules, fetched
// from GET /bridge-rules with If-None-Match and cached in .agentops/rules.json, refreshed
// at most every AGENTOPS_RULES_REFRESH_SECONDS (5 s) and at once after a phone decision
// (which may have made a rule). A command the rules decide is answered without the phone
// and recorded as RULE_APPLIED on the run's timeline. What a rule matches is
// shared/rule_match.ts, the definition the server validated the rule with.
import { decideCommand, type Rule, type RuleDecision } from "../shared/rule_match.ts";
import type { Agent, HookAction, Verdict } from "./hooks.ts";
import type { EventQueue } from "./queue.ts";
import type { AgentOpsClient } from "./sdk.ts";
import { agentopsDir } from "./project.ts";

const DEFAULT_REFRESH_SECONDS = 5;
/** A cache this old that cannot be refreshed keeps only its deny rules: an allow the phone
 * revoked must not outlive a backend outage for long. */
export const MAX_STALE_ALLOW_SECONDS = 600;

interface RulesCache {
  workspace_id: string;
  etag: string | null;
  version: string;
  /** ms since epoch of the last answer from the backend (0: refresh at the next hook) */
  fetched_at: number;
  rules: Rule[];
}

function rulesCachePath(project: string): string {
  return `${agentopsDir(project)}/rules.json`;
}

/** AGENTOPS_RULES_REFRESH_SECONDS (0 = every hook asks, with If-None-Match), else 5 s. */
export function refreshSeconds(): number {
  const raw = Deno.env.get("AGENTOPS_RULES_REFRESH_SECONDS");
  const seconds = raw ? Number(raw) : NaN;
  return seconds >= 0 ? seconds : DEFAULT_REFRESH_SECONDS;
}

async function readCache(project: string): Promise<RulesCache | null> {
  try {
    const cache = JSON.parse(await Deno.readTextFile(rulesCachePath(project)));
    return Array.isArray(cache?.rules) ? cache : null;
  } catch {
    return null;
  }
}

async function writeCache(project: string, cache: RulesCache): Promise<void> {
  const path = rulesCachePath(project);
  await Deno.mkdir(agentopsDir(project), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${crypto.randomUUID()}.tmp`;
  await Deno.writeTextFile(tmp, JSON.stringify(cache), { mode: 0o600 });
  await Deno.rename(tmp, path);
}

/** The workspace's rules: the cache while it is fresh, else what the backend answers
 * (a 304 keeps the cache). When the backend cannot answer, the cache as it is, with its
 * allow rules dropped once it is older than MAX_STALE_ALLOW_SECONDS. */
export async function currentRules(
  project: string,
  client: AgentOpsClient,
  options: { now?: number; refreshSeconds?: number; timeoutMs?: number } = {},
): Promise<Rule[]> {
  const now = options.now ?? Date.now();
  const refresh = (options.refreshSeconds ?? refreshSeconds()) * 1000;
  let cache = await readCache(project);
  if (cache && cache.workspace_id !== client.workspaceId) cache = null;
  if (cache && cache.fetched_at > 0 && now - cache.fetched_at < refresh) return cache.rules;
  try {
    const fetched = await client.fetchRules(cache?.etag ?? null, options.timeoutMs);
    const next: RulesCache = fetched
      ? {
        workspace_id: client.workspaceId,
        etag: fetched.etag,
        version: fetched.version,
        fetched_at: now,
        rules: fetched.rules,
      }
      : { ...cache!, fetched_at: now };
    await writeCache(project, next).catch(() => {});
    return next.rules;
  } catch {
    if (!cache) return [];
    const stale = cache.fetched_at > 0 && now - cache.fetched_at > MAX_STALE_ALLOW_SECONDS * 1000;
    return stale ? cache.rules.filter((r) => r.effect === "deny") : cache.rules;
  }
}

/** Makes the next hook refresh the rules at once (after a phone decision). */
export async function markRulesStale(project: string): Promise<void> {
  const cache = await readCache(project);
  if (cache) await writeCache(project, { ...cache, fetched_at: 0 }).catch(() => {});
}

function verdictOf(decision: RuleDecision): Verdict {
  const rule = decision.rules[0];
  const by = `rule ${rule.rule_id} (${rule.match} "${rule.value}")`;
  return decision.effect === "allow"
    ? { decision: "allow", reason: `Allowed by your ${by} (AgentOps)` }
    : { decision: "deny", reason: `Denied by your ${by} (AgentOps)` };
}

/** What the rules answer for this approval hook, or null to ask the phone. A rule's answer
 * is recorded as RULE_APPLIED on the run's timeline (queued on disk when the backend is
 * unreachable, like every run event). */
export async function applyRules(
  project: string,
  ctx: {
    agent: Agent;
    action: Extract<HookAction, { kind: "approval" }>;
    client: AgentOpsClient;
    queue: EventQueue;
    /** a part the policy lets run without asking (the read-only list) */
    isReadOnly: (words: string[]) => boolean;
    /** false when the command has a part no allow rule may vouch for (a write outside the
     * project, a program named at run time): then only a deny rule decides */
    mayAllow: boolean;
  },
): Promise<Verdict | null> {
  const rules = await currentRules(project, ctx.client);
  if (rules.length === 0) return null;
  const decision = await decideCommand(ctx.action.command, rules, {
    workspaceId: ctx.client.workspaceId,
    now: Date.now(),
    isReadOnly: ctx.isReadOnly,
  });
  if (!decision || (decision.effect === "allow" && !ctx.mayAllow)) return null;
  const rule = decision.rules[0];
  ctx.queue.enqueue({
    run_id: ctx.action.runId,
    provider: ctx.agent,
    event_type: "RULE_APPLIED",
    event_ts: new Date().toISOString(),
    payload: {
      rule_id: rule.rule_id,
      effect: decision.effect,
      command: ctx.action.command.slice(0, 2000),
      match: rule.match,
      value: rule.value,
      rule_ids: decision.rules.map((r) => r.rule_id),
      rule_created_at: rule.created_at ?? null,
      rule_created_by_device_id: rule.created_by_device_id ?? null,
    },
    event_id: crypto.randomUUID(),
    provider_run_id: ctx.action.providerRunId.slice(0, 200),
  });
  await ctx.queue.flush(ctx.client, { attempts: 2, timeoutMs: 3_000, baseDelayMs: 100 })
    .catch(() => {});
  return verdictOf(decision);
}
