// What a shell command would do, in three outcomes: read_only (runs without asking),
// dangerous (always asks) and other (follows the policy's `unknown_commands`). One definition
// for the hook runner's gate and the server (which approvals are dangerous, rule matching).
import {
  normalizeCommand,
  parseShell,
  SHELLS,
  type SimpleCommand,
  type WriteTarget,
} from "./shell_commands.ts";

export type Risk = "read_only" | "dangerous" | "other";

/** One reason a script is not simply read-only, or one read-only command. */
interface Finding {
  /** `command`: a simple command's words; `write`: a redirection; `script`: the whole script */
  kind: "command" | "write" | "script";
  /** the simple command's normalized words (empty for `script`) */
  words: string[];
  risk: Risk;
  reason: string;
  /** a command whose words are known (a literal program name, a readable script): rules and
   * policy patterns may decide it; otherwise it is unknown code and always asks */
  readable: boolean;
}

interface CommandAnalysis {
  /** dangerous if any part is, read_only only if every part is, else other */
  risk: Risk;
  /** the deciding part and why, for the terminal and the phone */
  reason: string;
  /** every simple command, normalized (program name, literal words) */
  commands: string[][];
  findings: Finding[];
}

const RANK: Record<Risk, number> = { read_only: 0, other: 1, dangerous: 2 };

/** Analyses a whole script; `cwd` (the project) tells which written paths are inside it. */
export async function analyzeCommand(
  script: string,
  options: { cwd?: string; fullParser?: boolean } = {},
): Promise<CommandAnalysis> {
  const parsed = await parseShell(script, { fullParser: options.fullParser });
  if (!parsed.ok) {
    const reason = `cannot parse the command (${parsed.error}): it needs approval`;
    return {
      risk: "dangerous",
      reason,
      commands: [],
      findings: [{ kind: "script", words: [], risk: "dangerous", reason, readable: false }],
    };
  }
  const findings: Finding[] = [];
  if (parsed.hiddenCode) {
    findings.push({
      kind: "script",
      words: [],
      risk: "dangerous",
      reason: "arithmetic may run a command substitution hidden in a string",
      readable: false,
    });
  }
  const hijack = parsed.assigns.filter(isHijackingVariable);
  for (const cmd of parsed.commands) {
    let { risk, reason } = classifySimpleCommand(cmd);
    if (risk === "read_only" && hijack.length > 0) {
      risk = "other";
      reason = `the script sets ${hijack.join(", ")}, which changes what runs`;
    }
    const readable = !cmd.unreadable && cmd.literal[0];
    findings.push({ kind: "command", words: cmd.words, risk, reason, readable });
  }
  const leaves = leavesProject(parsed.commands);
  const writes = [...parsed.writes, ...parsed.commands.flatMap(fileWrites)];
  for (const write of writes) {
    const { risk, reason } = classifyWrite(write, { cwd: options.cwd, leavesProject: leaves });
    if (risk !== "read_only") {
      findings.push({ kind: "write", words: [], risk, reason, readable: false });
    }
  }
  return summarize(findings, parsed.commands.map((c) => c.words));
}

/** The script's outcome from its parts: the worst one decides, and gives the reason. */
export function summarize(findings: Finding[], commands: string[][]): CommandAnalysis {
  let decisive: Finding | null = null;
  for (const f of findings) {
    if (!decisive || RANK[f.risk] > RANK[decisive.risk]) decisive = f;
  }
  if (!decisive || decisive.risk === "read_only") {
    const names = [...new Set(commands.map((w) => w[0]))].join(", ");
    return {
      risk: "read_only",
      reason: names ? `read-only: ${names}` : "runs nothing",
      commands,
      findings,
    };
  }
  return { risk: decisive.risk, reason: decisive.reason, commands, findings };
}

// ---------------------------------------------------------------------------------------
// The lists. Conservative on purpose: a program is read-only only when none of its options
// can write a file or run another program (or the options that can are checked below).

/** Read-only whatever their arguments, including ones only known at run time. */
const READ_ONLY_PROGRAMS: readonly string[] = [
  ":",
  "[",
  "arch",
  "basename",
  "cat",
  "cd",
  "cksum",
  "cmp",
  "column",
  "comm",
  "cut",
  "df",
  "diff",
  "dirname",
  "du",
  "echo",
  "egrep",
  "env",
  "exec",
  "exit",
  "expand",
  "false",
  "fgrep",
  "fold",
  "free",
  "grep",
  "groups",
  "head",
  "id",
  "jq",
  "locale",
  "ls",
  "md5sum",
  "nl",
  "nproc",
  "od",
  "paste",
  "popd",
  "printenv",
  "printf",
  "ps",
  "pushd",
  "pwd",
  "read",
  "readlink",
  "realpath",
  "return",
  "rev",
  "seq",
  "set",
  "sha1sum",
  "sha256sum",
  "sha512sum",
  "shasum",
  "sleep",
  "stat",
  "strings",
  "tac",
  "tail",
  "test",
  "tr",
  "true",
  "type",
  "uname",
  "uptime",
  "wait",
  "wc",
  "whereis",
  "which",
  "whoami",
];

/** Read-only when their literal arguments pass a check (an options that writes or runs). */
const READ_ONLY_CHECKED: Record<string, (args: string[]) => string | null> = {
  git: gitReadOnly,
  find: (args) => {
    const bad = args.find((a) => /^-(delete|fprint0?|fprintf|fls)$/.test(a));
    return bad ? `find ${bad} writes` : null;
  },
  sort: (args) =>
    args.some((a) => /^--(output|compress-program)/.test(a) || /^-[^-]*o/.test(a))
      ? "sort -o writes a file"
      : null,
  uniq: (args) =>
    args.filter((a) => !a.startsWith("-")).length > 1
      ? "uniq with two files writes the second"
      : null,
  tree: (args) => args.some((a) => /^-[^-]*o/.test(a)) ? "tree -o writes a file" : null,
  date: (args) =>
    args.some((a) => /^--set/.test(a) || /^-[^-]*s/.test(a) || /^[^-+]/.test(a))
      ? "date can set the clock"
      : null,
  rg: (args) => args.some((a) => a.startsWith("--pre")) ? "rg --pre runs a program" : null,
  fd: (args) =>
    args.some((a) => /^(-x|-X|--exec|--exec-batch)/.test(a)) ? "fd --exec runs a program" : null,
  file: (args) => args.some((a) => /^(-C|--compile)/.test(a)) ? "file -C writes a file" : null,
  hostname: (args) => args.some((a) => !a.startsWith("-")) ? "hostname NAME sets it" : null,
  command: (args) => args.some((a) => /^-[^-]*[vV]/.test(a)) ? null : "command runs a program",
  // Only seen without a command (it then runs echo) or with options it does not know.
  xargs: (args) => args.some((a) => !a.startsWith("-")) ? "xargs runs a program" : null,
  awk: awkReadOnly,
  gawk: awkReadOnly,
  mawk: awkReadOnly,
  nawk: awkReadOnly,
  sed: sedReadOnly,
};

/** Always ask, whatever their arguments. */
const DANGEROUS_PROGRAMS: readonly string[] = [
  "dd",
  "docker",
  "doas",
  "fdisk",
  "halt",
  "helm",
  "kubectl",
  "mkfs",
  "parted",
  "podman",
  "poweroff",
  "reboot",
  "rm",
  "rmdir",
  "shred",
  "shutdown",
  "srm",
  "su",
  "sudo",
  "terraform",
  "unlink",
  "wipefs",
];

/** Interpreters, and the options that make them run code given on the command line. */
const INLINE_CODE: Record<string, RegExp> = {
  python: /^-[A-Za-z]*c/,
  node: /^(-[A-Za-z]*[ep]|--eval|--print)/,
  nodejs: /^(-[A-Za-z]*[ep]|--eval|--print)/,
  bun: /^(-e|-p|--eval|--print)/,
  ruby: /^-[A-Za-z]*e/,
  perl: /^-[A-Za-z]*[eE]/,
  php: /^(-r|--run)/,
  lua: /^-e/,
  rscript: /^-e/,
  osascript: /^-e/,
  pwsh: /^-(c|command|e|ec|encodedcommand)$/i,
  powershell: /^-(c|command|e|ec|encodedcommand)$/i,
  "ts-node": /^(-e|-p|--eval|--print)/,
  tsx: /^(-e|-p|--eval|--print)/,
};

const PUBLISH = new Set(["npm", "pnpm", "yarn", "bun", "deno", "cargo", "poetry", "gem"]);

/** Variables whose value changes which program runs, or what a read-only one does. */
function isHijackingVariable(name: string): boolean {
  return /^(PATH|LD_\w+|DYLD_\w+|BASH_ENV|ENV|PROMPT_COMMAND|SHELLOPTS|BASHOPTS|PAGER|GIT_\w+|EDITOR|VISUAL|NODE_OPTIONS|PYTHON\w+|PERL5?\w*|RUBYOPT|LESSOPEN|MANPAGER)$/
    .test(name);
}

function interpreterName(name: string): string {
  const lower = name.toLowerCase();
  if (/^python[\d.]*$/.test(lower) || lower === "pypy" || lower === "pypy3") return "python";
  if (/^(perl|ruby|php|lua)[\d.]*$/.test(lower)) return lower.replace(/[\d.]+$/, "");
  return lower;
}

// ---------------------------------------------------------------------------------------

/** The outcome of one simple command, and why. */
function classifySimpleCommand(cmd: SimpleCommand): { risk: Risk; reason: string } {
  const text = normalizeCommand(cmd.words);
  const dangerous = (why: string) => ({ risk: "dangerous" as const, reason: `${text}: ${why}` });
  const other = (why: string) => ({ risk: "other" as const, reason: `${text}: ${why}` });
  if (cmd.unreadable) return dangerous(cmd.unreadable);
  if (!cmd.literal[0]) return dangerous("the program's name is only known at run time");
  const name = cmd.words[0];
  const args = cmd.words.slice(1);
  const opaque = cmd.extraArgs || cmd.literal.slice(1).some((l) => !l);

  if (DANGEROUS_PROGRAMS.includes(name) || /^mkfs(\.|$)/.test(name)) {
    return dangerous(`${name} is on the dangerous list`);
  }
  if (/^(chmod|chown|chgrp)$/.test(name) && args.some((a) => /^(-[^-]*R|--recursive)/.test(a))) {
    return dangerous(`recursive ${name}`);
  }
  if (name === "git") {
    const why = gitDangerous(args);
    if (why) return dangerous(why);
  }
  if (PUBLISH.has(name)) {
    const sub = args.filter((a) => !a.startsWith("-"));
    // Any word: options may take values (`npm --registry x publish`), and a script named
    // publish (`npm run publish`) most likely publishes.
    if (sub.includes("publish") || sub.includes("unpublish")) {
      return dangerous("publishes a package");
    }
    if (name === "deno" && (sub[0] === "eval" || (sub[0] === "repl" && args.includes("--eval")))) {
      return dangerous("runs code given on the command line");
    }
    if (
      name === "deno" && sub[0] === "run" && args.some((a) => a === "-" || a.startsWith("data:"))
    ) {
      return dangerous("runs code given on the command line");
    }
  }
  if (name === "twine" && args.includes("upload")) return dangerous("publishes a package");
  const interpreter = interpreterName(name);
  const inline = INLINE_CODE[interpreter];
  if (inline || SHELLS.has(name) || name === "source" || name === ".") {
    // `bash <(curl …)`, `source <(…)`, `python "$F"`: the code is only known at run time.
    const first = cmd.words.findIndex((w, i) => i > 0 && !(cmd.literal[i] && /^[-+]/.test(w)));
    if (first > 0 && !cmd.literal[first]) return dangerous("runs code only known at run time");
  }
  if (inline) {
    const operands = args.filter((a) => !a.startsWith("-"));
    if (args.some((a) => inline.test(a))) return dangerous("runs code given on the command line");
    const info = args.length > 0 && args.every((a) => /^(-V|-v|--version|-h|--help)$/.test(a));
    const module = interpreter === "python" && args.some((a) => /^-[A-Za-z]*m/.test(a));
    if (operands.length === 0 && !info && !module && !opaque) {
      return dangerous("runs code from standard input");
    }
    if (args.includes("-")) return dangerous("runs code from standard input");
  }
  if (SHELLS.has(name)) {
    const operands = args.filter((a) => !/^[-+]/.test(a));
    const info = args.length > 0 && args.every((a) => /^(--version|--help)$/.test(a));
    if (!info && (operands.length === 0 || args.some((a) => /^-[a-z]*s/.test(a)))) {
      return dangerous("runs a script from standard input");
    }
    return other(`runs the script ${operands[0]}`);
  }
  if (name === "eval") return dangerous("evaluates code only known at run time");
  if (name === "alias" && args.some((a) => a.includes("="))) {
    return dangerous("defines an alias, which changes what later commands run");
  }
  if (/^[gmn]?awk$/.test(name) && args.some((a) => /system|\|/.test(a))) {
    return dangerous("the awk program runs programs");
  }
  if (name === "find" && args.some((a) => a === "-delete")) return dangerous("find -delete");

  const checked = READ_ONLY_CHECKED[name];
  if (READ_ONLY_PROGRAMS.includes(name)) {
    if (name === "exec" && args.length > 0) return other("exec with options");
    return { risk: "read_only", reason: `${text}: read-only` };
  }
  if (checked) {
    if (opaque) return other("arguments only known at run time");
    const why = checked(args);
    return why ? other(why) : { risk: "read_only", reason: `${text}: read-only` };
  }
  return other("not on the read-only list");
}

// ---------------------------------------------------------------------------------------
// git

const GIT_VALUE_OPTIONS = new Set(["-C", "--git-dir", "--work-tree", "--namespace"]);

/** git's subcommand and its arguments, after the global options; null when git -c & co. */
function gitSubcommand(args: string[]): { sub: string; rest: string[]; risky: boolean } {
  let i = 0;
  let risky = false;
  while (i < args.length && args[i].startsWith("-")) {
    const a = args[i];
    if (a === "-c" || a.startsWith("--exec-path") || a.startsWith("--config-env")) risky = true;
    i += GIT_VALUE_OPTIONS.has(a) || a === "-c" || a === "--config-env" ? 2 : 1;
  }
  return { sub: args[i] ?? "", rest: args.slice(i + 1), risky };
}

function gitDangerous(args: string[]): string | null {
  const { sub, rest } = gitSubcommand(args);
  switch (sub) {
    case "push":
      return "pushes to a remote";
    case "reset":
      return rest.includes("--hard") ? "git reset --hard discards changes" : null;
    case "clean":
      return "git clean deletes files";
    case "checkout":
      return rest.some((a) => a === "--" || a === "." || a === "-f" || a === "--force")
        ? "git checkout discards changes"
        : null;
    case "restore":
      return rest.every((a) => a !== "--staged" && a !== "-S") || rest.includes("--worktree")
        ? "git restore discards changes"
        : null;
    case "branch":
      return rest.some((a) => a === "-D" || /^-[^-]*D/.test(a)) ||
          (rest.some((a) => a === "-d" || a === "--delete") &&
            rest.some((a) => /^(-f|--force)$/.test(a)))
        ? "git branch -D deletes unmerged commits"
        : null;
    case "filter-branch":
    case "filter-repo":
      return "rewrites history";
    default:
      return null;
  }
}

const GIT_READ_ONLY = new Set([
  "status",
  "diff",
  "log",
  "show",
  "blame",
  "annotate",
  "rev-parse",
  "rev-list",
  "ls-files",
  "ls-tree",
  "ls-remote",
  "cat-file",
  "describe",
  "shortlog",
  "name-rev",
  "merge-base",
  "for-each-ref",
  "show-ref",
  "show-branch",
  "count-objects",
  "version",
  "whatchanged",
  "grep",
  "check-ignore",
  "diff-tree",
  "diff-files",
  "diff-index",
]);

function gitReadOnly(args: string[]): string | null {
  const { sub, rest, risky } = gitSubcommand(args);
  if (risky) return "git -c can run programs";
  if (rest.some((a) => a.startsWith("--output") || a === "-O" || a.startsWith("--open-files"))) {
    return `git ${sub} writes a file or runs a program`;
  }
  if (GIT_READ_ONLY.has(sub)) return null;
  const operands = rest.filter((a) => !a.startsWith("-"));
  const listing = rest.some((a) => /^(-l|--list)$/.test(a));
  switch (sub) {
    case "branch": {
      const valueOptions = /^--(contains|no-contains|merged|no-merged|points-at)$/;
      const writes = rest.some((a) =>
        /^-[^-]*[dDmMcCfu]/.test(a) ||
        /^--(delete|move|copy|force|set-upstream|unset-upstream|edit-description|track)/.test(a)
      );
      const operandsAllowed = listing || rest.some((a) => valueOptions.test(a));
      return writes || (operands.length > 0 && !operandsAllowed)
        ? "git branch changes branches"
        : null;
    }
    case "tag": {
      const writes = rest.some((a) =>
        /^-[^-]*[adsfmFue]/.test(a) || /^--(delete|annotate|sign|force|message|file)/.test(a)
      );
      return writes || (operands.length > 0 && !listing) ? "git tag creates tags" : null;
    }
    case "remote":
      return operands.length === 0 || ["get-url", "show"].includes(operands[0])
        ? null
        : "git remote changes remotes";
    case "stash":
      return ["list", "show"].includes(operands[0]) ? null : "git stash changes the worktree";
    case "reflog":
      return operands.length === 0 || operands[0] === "show" ? null : "git reflog changes refs";
    case "worktree":
      return operands[0] === "list" ? null : "git worktree changes worktrees";
    case "config": {
      if (["get", "list"].includes(operands[0])) return null;
      const writes = rest.some((a) => /^(--(add|unset|replace|rename|remove|edit)|-e$)/.test(a));
      const reads = rest.some((a) => /^(--get|--list|-l$)/.test(a));
      return !writes && (reads || operands.length <= 1) ? null : "git config writes settings";
    }
    default:
      return `git ${sub || "(no subcommand)"} is not on the read-only list`;
  }
}

// ---------------------------------------------------------------------------------------
// awk and sed: read-only when their program visibly cannot write or run anything.

function awkReadOnly(args: string[]): string | null {
  let program: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (/^(-f|--file|-i|--include|-l|--load|-E|--exec)/.test(a)) return "awk runs a program file";
    if (a === "-v" || a === "-F") {
      i++;
      continue;
    }
    if (a.startsWith("-")) continue;
    program = a;
    break;
  }
  if (program === undefined) return "awk without a program";
  return /system|getline|[|>]|@|print\s*>/.test(program)
    ? "the awk program can write files or run programs"
    : null;
}

function sedReadOnly(args: string[]): string | null {
  const scripts: string[] = [];
  let operandScript = true;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "-e" || a === "--expression") {
      scripts.push(args[++i] ?? "");
      operandScript = false;
    } else if (/^(-i|--in-place|-f|--file|-s)/.test(a) || /^-[^-]*i/.test(a)) {
      return "sed -i edits files";
    } else if (a.startsWith("-")) continue;
    else if (operandScript) {
      scripts.push(a);
      operandScript = false;
    }
  }
  if (scripts.length === 0) return "sed without a script";
  const address = String.raw`(\d+|\$|/[^/]*/)(,(\d+|\$|/[^/]*/))?`;
  const simple = new RegExp(`^(${address})?\\s*(p|d|=|q|s/[^/]*/[^/]*/[gpiI0-9]*)$`);
  const ok = scripts.every((s) => s.split(/[;\n]/).every((part) => simple.test(part.trim())));
  return ok ? null : "the sed script can write files or run programs";
}

// ---------------------------------------------------------------------------------------
// Writes

/** Files a command's own options or operands write (`tee f`, `sort -o f`, `find -fprint f`). */
function fileWrites(cmd: SimpleCommand): WriteTarget[] {
  const [name, ...args] = cmd.words;
  const by = normalizeCommand(cmd.words);
  const target = (i: number) => ({ target: cmd.literal[i + 1] ? args[i] : null, by });
  const found: WriteTarget[] = [];
  args.forEach((a, i) => {
    if (name === "tee" && !a.startsWith("-")) found.push(target(i));
    if (name === "sort" && (a === "-o" || a === "--output") && i + 1 < args.length) {
      found.push(target(i + 1));
    }
    if (name === "sort" && /^(-o|--output=)./.test(a)) {
      found.push({ target: cmd.literal[i + 1] ? a.replace(/^(-o|--output=)/, "") : null, by });
    }
    if (name === "find" && /^-(fprint0?|fprintf|fls)$/.test(a) && i + 1 < args.length) {
      found.push(target(i + 1));
    }
  });
  return found;
}

/** A `cd` away from a plain relative path makes relative write targets unknowable. */
function leavesProject(commands: SimpleCommand[]): boolean {
  return commands.some((c) => {
    if (!["cd", "pushd", "popd"].includes(c.words[0])) return false;
    const target = c.words.slice(1).filter((a) => !a.startsWith("-"))[0];
    if (c.words[0] === "popd" || target === undefined) return true;
    return !c.literal[c.words.indexOf(target)] || target.startsWith("/") ||
      target.startsWith("~") || target.split("/").includes("..");
  });
}

const HARMLESS_TARGETS = /^\/dev\/(null|stdout|stderr|tty|fd\/\d+)$/;

/** A redirection's outcome: outside the project is dangerous, inside it other. */
function classifyWrite(
  write: WriteTarget,
  ctx: { cwd?: string; leavesProject?: boolean },
): { risk: Risk; reason: string } {
  const by = write.by.length > 80 ? `${write.by.slice(0, 77)}...` : write.by;
  if (write.target === null) {
    return { risk: "dangerous", reason: `${by}: writes a file only known at run time` };
  }
  const target = write.target;
  if (HARMLESS_TARGETS.test(target)) return { risk: "read_only", reason: "" };
  const outside = { risk: "dangerous" as const, reason: `${by}: writes outside the project` };
  if (target.startsWith("~")) return outside;
  if (target.startsWith("/")) {
    const path = normalizePath(target);
    if (
      ctx.cwd && (path === normalizePath(ctx.cwd) || path.startsWith(`${normalizePath(ctx.cwd)}/`))
    ) {
      return { risk: "other", reason: `${by}: writes ${target}` };
    }
    if (/^\/(tmp|var\/tmp)\//.test(path)) {
      return { risk: "other", reason: `${by}: writes a temporary file` };
    }
    return outside;
  }
  if (ctx.leavesProject) {
    return { risk: "dangerous", reason: `${by}: writes after leaving the project` };
  }
  if (normalizePath(`/p/${target}`) === "/p" || !normalizePath(`/p/${target}`).startsWith("/p/")) {
    return outside;
  }
  return { risk: "other", reason: `${by}: writes ${target}` };
}

function normalizePath(path: string): string {
  const parts: string[] = [];
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") parts.pop();
    else parts.push(part);
  }
  return `/${parts.join("/")}`;
}
