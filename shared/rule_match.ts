// What a rule matches, defined once for the server (validating what the phone asks to
// remember) and the hook runner (deciding a command without the phone). Rules match the
// parsed words of each simple command (shared/shell_commands.ts), never the raw string.
import { literalSimpleCommands, simpleCommands } from "./shell_commands.ts";
// Types only: the hook runner's bundle never loads valibot or the schemas for this.
import type * as v from "valibot";
import type { RuleResponse } from "./api_schemas.ts";

type RuleEffect = v.InferOutput<typeof RuleResponse>["effect"];
type RuleMatch = v.InferOutput<typeof RuleResponse>["match"];

/** A rule as the backend hands it out (GET /bridge-rules, GET /mobile-rules): what matching
 * reads of RuleResponse (the rest is optional, e.g. in the runner's cache). */
export type Rule =
  & Pick<
    v.InferOutput<typeof RuleResponse>,
    "rule_id" | "workspace_id" | "effect" | "match" | "value" | "words" | "expires_at"
  >
  & Partial<
    Pick<v.InferOutput<typeof RuleResponse>, "revoked_at" | "created_at" | "created_by_device_id">
  >;

export interface RuleDecision {
  effect: RuleEffect;
  /** the rules that decided (for a deny: every deny rule that matched) */
  rules: Rule[];
}

interface DecideOptions {
  /** the workspace the command runs in: a rule of any other never matches */
  workspaceId: string;
  /** ms since epoch; a rule at or past its expires_at never matches */
  now: number;
  /** a part the read-only list allows without asking (the policy's classifier) */
  isReadOnly?: (words: string[]) => boolean;
}

function sameWords(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((w, i) => w === b[i]);
}

function startsWith(words: string[], prefix: string[]): boolean {
  return prefix.length > 0 && prefix.length <= words.length &&
    prefix.every((w, i) => w === words[i]);
}

/** Whether a rule is in force for this workspace at `now`. */
function isActive(rule: Rule, workspaceId: string, now: number): boolean {
  return rule.workspace_id === workspaceId && !rule.revoked_at &&
    Date.parse(rule.expires_at) > now && Array.isArray(rule.words) && rule.words.length > 0;
}

/** Whether a rule matches one simple command: a prefix rule (one simple command) when its
 * words lead the command's, word for word; an exact rule of one simple command when the
 * words are the same. (`npm run test` matches `npm run test --watch`, not `npm run
 * test:unit`.) */
function matchesPart(rule: Rule, words: string[]): boolean {
  if (rule.words.length !== 1) return false;
  return rule.match === "prefix"
    ? startsWith(words, rule.words[0])
    : sameWords(words, rule.words[0]);
}

/** Whether an exact rule of several simple commands is this whole command. */
function matchesWhole(rule: Rule, commands: string[][]): boolean {
  return rule.match === "exact" && rule.words.length > 1 &&
    rule.words.length === commands.length &&
    rule.words.every((w, i) => sameWords(w, commands[i]));
}

/** What the rules say about a command given as its simple commands, or null when they do
 * not decide it (unparseable, no rule applies, or a part is allowed by nothing).
 * - A deny rule matching any part (or the whole) denies: deny beats any allow.
 * - Allowed when every part is allowed by an allow rule or is read-only, and at least one
 *   rule took part (a command of read-only parts alone is the policy's business).
 * - Expired, revoked and other workspaces' rules never match. */
export function decideCommands(
  commands: string[][] | null,
  rules: Rule[],
  options: DecideOptions,
): RuleDecision | null {
  if (commands === null || commands.length === 0) return null;
  const active = rules.filter((r) => isActive(r, options.workspaceId, options.now));
  const denies = active.filter((r) =>
    r.effect === "deny" &&
    (matchesWhole(r, commands) || commands.some((part) => matchesPart(r, part)))
  );
  if (denies.length > 0) return { effect: "deny", rules: denies };
  const allows = active.filter((r) => r.effect === "allow");
  const whole = allows.find((r) => matchesWhole(r, commands));
  if (whole) return { effect: "allow", rules: [whole] };
  const used: Rule[] = [];
  for (const part of commands) {
    const rule = allows.find((r) => matchesPart(r, part));
    if (rule) {
      if (!used.includes(rule)) used.push(rule);
    } else if (!options.isReadOnly?.(part)) {
      return null;
    }
  }
  return used.length > 0 ? { effect: "allow", rules: used } : null;
}

/** decideCommands over a command string, parsed with the shared parser. */
export async function decideCommand(
  command: string,
  rules: Rule[],
  options: DecideOptions,
): Promise<RuleDecision | null> {
  return decideCommands(await simpleCommands(command), rules, options);
}

/** A word as the shell would read it back: bare when it is plain, else single-quoted. */
function quoteWord(word: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(word)) return word;
  return `'${word.replaceAll("'", `'"'"'`)}'`;
}

/** The canonical text of a rule's words: words joined by a space, commands by `; `. */
export function canonicalValue(words: string[][]): string {
  return words.map((c) => c.map(quoteWord).join(" ")).join("; ");
}

export class RuleValueError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RuleValueError";
  }
}

/** The words of a rule written as text (POST /mobile-rules): an exact rule is one or more
 * simple commands, a prefix rule exactly one. Throws RuleValueError when it cannot be one. */
export async function ruleWords(
  match: RuleMatch,
  value: string,
): Promise<{ words: string[][]; value: string }> {
  const words = await literalSimpleCommands(value);
  if (words === null) {
    throw new RuleValueError(
      "Cannot make a rule: the value must parse as plain commands of literal words",
    );
  }
  if (words.length === 0) {
    throw new RuleValueError("Cannot make a rule: the value names no command");
  }
  if (match === "prefix" && words.length !== 1) {
    throw new RuleValueError(
      `Cannot make a prefix rule: the value is ${words.length} commands, a prefix is one`,
    );
  }
  return { words, value: canonicalValue(words) };
}

/** The rule that `remember` on a decision makes from the approval's command: `exact` is
 * the command itself (normalized); `prefix` is a leading run of the words of one of its
 * simple commands. Throws RuleValueError when it is not. */
export async function rememberedWords(
  command: string,
  remember: { match: RuleMatch; prefix?: string },
): Promise<{ words: string[][]; value: string }> {
  const commands = await literalSimpleCommands(command);
  if (commands === null || commands.length === 0) {
    throw new RuleValueError(
      "Cannot remember this approval: its command is not plain commands of literal words",
    );
  }
  if (remember.match === "exact") return { words: commands, value: canonicalValue(commands) };
  const prefix = await ruleWords("prefix", remember.prefix ?? "");
  if (!commands.some((part) => startsWith(part, prefix.words[0]))) {
    throw new RuleValueError(
      `Cannot remember the prefix "${prefix.value}": it does not lead any command of this approval`,
    );
  }
  return prefix;
}
