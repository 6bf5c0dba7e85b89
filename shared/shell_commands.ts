// Every simple command a shell script would run, as words, read with a real shell parser
// (mvdan/sh, the Go parser behind shfmt, compiled to JS), so a command is judged by what it
// runs and never by how it is spelled. Shared by the hook runner and the server.
//
// Reached: `$()`, backticks, `<()`/`>()`, subshells, `{ …; }`, pipelines, `&&`/`||`/`;`,
// function bodies, `bash|sh|zsh|… -c <script>` and literal here-documents fed to a shell
// (parsed again), `eval` (its words joined and parsed again), `xargs <cmd>`,
// `find … -exec|-execdir|-ok|-okdir <cmd> ;`, `watch <cmd>`, and the wrappers `env`, `nice`,
// `nohup`, `time`, `timeout`, `command`, `exec`, `builtin`, `stdbuf`, `ionice`, `setsid`,
// `busybox` (dropped) and `sudo`, `doas`, `su` (kept as a command of their own, inner
// command analysed too). Paths are reduced to the program name, assignments stripped.

/** One command the script would run. */
export interface SimpleCommand {
  /** the program's name (`/bin/rm` → `rm`), then its arguments; a word that is not a plain
   * literal (an expansion, a glob) appears as its source text */
  words: string[];
  /** per word: true when its text is exactly what the program receives */
  literal: boolean[];
  /** the program also gets arguments known only at run time (`xargs`) */
  extraArgs: boolean;
  /** how it was reached, outermost first: `bash -c`, `eval`, `xargs`, `find -exec`, `sudo` … */
  via: string[];
  /** set when a script this command runs could not be read (not a literal, unparseable,
   * nested too deep): the command must then be treated as unknown code */
  unreadable?: string;
}

/** A file a redirection (or `time -o`) writes: the target, or null when it is not a literal. */
export interface WriteTarget {
  target: string | null;
  /** the source text of the statement that writes */
  by: string;
}

type ParsedScript =
  | {
    ok: true;
    commands: SimpleCommand[];
    writes: WriteTarget[];
    /** names of the variables the script assigns (prefix, `env`, `export`, plain) */
    assigns: string[];
    /** the script evaluates arithmetic (`$(( ))`, `(( ))`, `[[ ]]`, `let`, `declare`, an
     * array index) AND a quoted string holds `$(…)` or a backtick: bash runs command
     * substitutions found in a variable's value during arithmetic, out of the parser's sight */
    hiddenCode: boolean;
  }
  | { ok: false; error: string };

/** Nested scripts (`bash -c "bash -c …"`) deeper than this are not read: they need approval. */
const MAX_DEPTH = 8;

// The parts of mvdan-sh's API this module uses (the package ships no types).
// deno-lint-ignore no-explicit-any
type Node = any;
interface Syntax {
  NewParser(): { Parse(src: string, name: string): Node };
  Walk(node: Node, fn: (node: Node) => boolean): void;
  NodeType(node: Node): string;
}

let syntaxPromise: Promise<Syntax> | null = null;

/** The parser, loaded on first use (~50 ms): hooks that never look at a command skip it. */
function loadSyntax(): Promise<Syntax> {
  syntaxPromise ??= import("mvdan-sh").then((m) => (m.default ?? m).syntax as Syntax);
  return syntaxPromise;
}

/** Parses a script into every simple command it would run; `ok: false` when it cannot.
 * A one-line command of plain words skips the parser (and its load); `fullParser` forces it. */
export async function parseShell(
  script: string,
  options: { fullParser?: boolean } = {},
): Promise<ParsedScript> {
  const plain = options.fullParser ? null : plainCommand(script);
  if (plain) return plain;
  const syntax = await loadSyntax();
  const out: Collector = {
    commands: [],
    writes: [],
    assigns: new Set(),
    arithmetic: false,
    codeInStrings: false,
    syntax,
  };
  try {
    walkScript(out, script, { depth: 0, via: [] });
  } catch (error) {
    return { ok: false, error: parseErrorMessage(error) };
  }
  return {
    ok: true,
    commands: out.commands,
    writes: out.writes,
    assigns: [...out.assigns],
    hiddenCode: out.arithmetic && out.codeInStrings,
  };
}

/** Characters with no meaning to the shell: a line of them is words split on blanks. */
const PLAIN_LINE = /^[A-Za-z0-9_\-./=:@%+, \t]*$/;
/** Words after which the analysis needs the parser: reserved words, and commands whose
 * arguments are parsed as scripts (`bash -c`, `eval`, `env -S`, …). */
const NEEDS_PARSER = new Set([
  "if",
  "then",
  "else",
  "elif",
  "fi",
  "do",
  "done",
  "case",
  "esac",
  "while",
  "until",
  "for",
  "in",
  "function",
  "select",
  "coproc",
  "time",
  "eval",
  "trap",
  "watch",
  "su",
  "env",
  "busybox",
]);

/** The commands of a line of plain words, or null when it needs the real parser. */
function plainCommand(script: string): ParsedScript | null {
  if (!PLAIN_LINE.test(script)) return null;
  const texts = script.split(/[ \t]+/).filter(Boolean);
  if (texts.some((t) => NEEDS_PARSER.has(basename(t)) || SHELLS.has(basename(t)))) return null;
  const out: Collector = {
    commands: [],
    writes: [],
    assigns: new Set(),
    arithmetic: false,
    codeInStrings: false,
    syntax: null as unknown as Syntax, // never reached: nothing here parses a nested script
  };
  let start = 0;
  while (start < texts.length && /^[A-Za-z_][A-Za-z0-9_]*=/.test(texts[start])) {
    out.assigns.add(texts[start].slice(0, texts[start].indexOf("=")));
    start++;
  }
  const words = texts.slice(start).map((text) => ({ text, literal: true }));
  command(out, words, { depth: 0, via: [], by: () => script });
  return {
    ok: true,
    commands: out.commands,
    writes: [],
    assigns: [...out.assigns],
    hiddenCode: false,
  };
}

/** The normalized simple commands of a script (word arrays), or null when it cannot be parsed. */
export async function simpleCommands(script: string): Promise<string[][] | null> {
  const parsed = await parseShell(script);
  return parsed.ok ? parsed.commands.map((c) => c.words) : null;
}

/** The script's simple commands when every word of every one is a plain literal (what a
 * rule may be made of: a rule never names a run-time value), else null. */
export async function literalSimpleCommands(script: string): Promise<string[][] | null> {
  const parsed = await parseShell(script);
  if (!parsed.ok || parsed.hiddenCode) return null;
  const literal = parsed.commands.every((c) =>
    !c.unreadable && !c.extraArgs && c.literal.every(Boolean)
  );
  return literal ? parsed.commands.map((c) => c.words) : null;
}

/** The string form of a normalized command: its words joined by single spaces. */
export function normalizeCommand(words: readonly string[]): string {
  return words.join(" ");
}

function parseErrorMessage(error: unknown): string {
  // The parser throws Go errors: objects with an Error() method ("1:6: reached EOF …").
  const goError = error as { Error?: () => string } | null;
  const message = error instanceof Error
    ? error.message
    : typeof goError?.Error === "function"
    ? goError.Error()
    : String(error);
  return message.trim() || "syntax error";
}

interface Collector {
  commands: SimpleCommand[];
  writes: WriteTarget[];
  assigns: Set<string>;
  arithmetic: boolean;
  codeInStrings: boolean;
  syntax: Syntax;
}

const ARITHMETIC = new Set(["ArithmExp", "ArithmCmd", "LetClause", "TestClause", "DeclClause"]);
/** `$(` (not `$((`) or a backtick: a command substitution, if it were evaluated */
const SUBSTITUTION_TEXT = /\$\((?!\()|`/;

interface Context {
  depth: number;
  via: string[];
}

/** A word as the program would receive it, when that can be known without running anything. */
interface WordValue {
  text: string;
  literal: boolean;
}

const WRITE_OPS = new Set([
  54, // >
  55, // >>
  57, // <>
  59, // >& (a file unless the word is a descriptor or -)
  60, // >|
  64, // &>
  65, // &>>
]);
const HEREDOC_OPS = new Set([61, 62]); // <<  <<-
const HERESTRING_OP = 63; // <<<

function walkScript(out: Collector, script: string, ctx: Context): void {
  const { syntax } = out;
  const file = syntax.NewParser().Parse(script, "");
  const bytes = new TextEncoder().encode(script);
  const source = (node: Node) =>
    new TextDecoder().decode(bytes.subarray(node.Pos().Offset(), node.End().Offset()));
  syntax.Walk(file, (node: Node) => {
    if (!node) return true;
    const type = syntax.NodeType(node);
    if (type === "Assign" && node.Name) out.assigns.add(String(node.Name.Value));
    if (ARITHMETIC.has(type) || (type === "ParamExp" && (node.Index || node.Slice))) {
      out.arithmetic = true;
    }
    if ((type === "Lit" || type === "SglQuoted") && SUBSTITUTION_TEXT.test(String(node.Value))) {
      out.codeInStrings = true;
    }
    if (type !== "Stmt") return true;
    let stdin: WordValue | null | undefined; // a literal script on standard input, if any
    for (const redirect of node.Redirs as Node[]) {
      const op = Number(redirect.Op);
      if (HEREDOC_OPS.has(op)) stdin = redirect.Hdoc ? heredocValue(out, redirect.Hdoc) : null;
      if (op === HERESTRING_OP) stdin = wordValue(out, redirect.Word, source);
      if (!WRITE_OPS.has(op)) continue;
      const target = wordValue(out, redirect.Word, source);
      if (op === 59 && target.literal && /^(\d+-?|-)$/.test(target.text)) continue;
      out.writes.push({ target: target.literal ? target.text : null, by: source(node) });
    }
    const cmd = node.Cmd;
    if (cmd && syntax.NodeType(cmd) === "CallExpr") {
      const words = (cmd.Args as Node[]).map((w) => wordValue(out, w, source));
      command(out, words, { ...ctx, stdin, by: () => source(node) });
    }
    return true;
  });
}

function heredocValue(out: Collector, word: Node): WordValue {
  let text = "";
  for (const part of word.Parts as Node[]) {
    if (out.syntax.NodeType(part) !== "Lit") return { text: "", literal: false };
    text += String(part.Value);
  }
  return { text, literal: true };
}

/** Resolves plain literals (`rm`, `'rm'`, `"rm"`, `r\m`); anything else is not a literal. */
function wordValue(out: Collector, word: Node, source: (node: Node) => string): WordValue {
  let text = "";
  let literal = true;
  for (const part of word.Parts as Node[]) {
    const type = out.syntax.NodeType(part);
    if (type === "Lit") {
      const raw = String(part.Value);
      // An unquoted glob or brace expansion becomes other words at run time.
      if (/(^|[^\\])([*?]|\[[^\]]*\]|\{[^{}]*(,|\.\.)[^{}]*\})/.test(raw)) literal = false;
      text += raw.replace(/\\(.)/gs, "$1");
    } else if (type === "SglQuoted") {
      if (part.Dollar && String(part.Value).includes("\\")) literal = false;
      text += String(part.Value);
    } else if (type === "DblQuoted") {
      for (const inner of part.Parts as Node[]) {
        if (out.syntax.NodeType(inner) !== "Lit") literal = false;
        else text += String(inner.Value).replace(/\\([$`"\\])/g, "$1");
      }
    } else {
      literal = false;
    }
  }
  return literal ? { text, literal } : { text: source(word), literal: false };
}

interface CommandContext extends Context {
  stdin?: WordValue | null;
  /** the statement's source text (for messages; computed only when needed) */
  by: () => string;
  extraArgs?: boolean;
}

function basename(text: string): string {
  const name = text.replace(/\/+$/, "");
  return name.slice(name.lastIndexOf("/") + 1) || text;
}

function emit(out: Collector, words: WordValue[], ctx: CommandContext, unreadable?: string) {
  const normalized = words.map((w, i) => (i === 0 && w.literal ? basename(w.text) : w.text));
  out.commands.push({
    words: normalized,
    literal: words.map((w) => w.literal),
    extraArgs: ctx.extraArgs ?? false,
    via: ctx.via,
    ...(unreadable ? { unreadable } : {}),
  });
}

/** Parses a script a command runs (`bash -c`, `eval`, …) as part of this one. */
function nested(
  out: Collector,
  script: WordValue,
  wrapper: WordValue[],
  ctx: CommandContext,
  how: string,
): void {
  if (!script.literal) {
    return emit(out, wrapper, ctx, `runs code that is not a literal (${script.text})`);
  }
  if (ctx.depth >= MAX_DEPTH) return emit(out, wrapper, ctx, "scripts nested too deep");
  try {
    walkScript(out, script.text, { depth: ctx.depth + 1, via: [...ctx.via, how] });
  } catch (error) {
    emit(out, wrapper, ctx, `cannot parse the script it runs: ${parseErrorMessage(error)}`);
  }
}

/** How a wrapper's options are read: which take a value (short letters, long names). */
interface OptionSpec {
  short?: string;
  long?: string[];
  /** letters that are flags (anything else unknown) */
  flags?: string;
  longFlags?: string[];
  /** `nice -5`, `tail -20`: a dash and digits is a flag */
  numeric?: boolean;
}

interface Options {
  /** index of the first operand */
  rest: number;
  /** options seen: letter or long name → its value (empty for a flag) */
  seen: Map<string, WordValue>;
  /** an option not in the spec was seen: where the command starts is a guess */
  unknown: boolean;
}

function readOptions(words: WordValue[], start: number, spec: OptionSpec): Options {
  const seen = new Map<string, WordValue>();
  const flag = { text: "", literal: true };
  let unknown = false;
  let i = start;
  while (i < words.length) {
    const w = words[i];
    if (!w.literal) {
      unknown ||= w.text.startsWith("-");
      break;
    }
    const t = w.text;
    if (t === "--") return { rest: i + 1, seen, unknown };
    if (!t.startsWith("-") || t === "-") break;
    if (t.startsWith("--")) {
      const eq = t.indexOf("=");
      const name = eq < 0 ? t.slice(2) : t.slice(2, eq);
      if (spec.long?.includes(name) && eq < 0) {
        seen.set(name, words[i + 1] ?? flag);
        i += 2;
        continue;
      }
      if (!spec.long?.includes(name) && !spec.longFlags?.includes(name)) unknown = true;
      seen.set(name, eq < 0 ? flag : { text: t.slice(eq + 1), literal: true });
      i++;
      continue;
    }
    if (spec.numeric && /^-\d+$/.test(t)) {
      i++;
      continue;
    }
    let consumedNext = false;
    for (let j = 1; j < t.length; j++) {
      const letter = t[j];
      if (spec.short?.includes(letter)) {
        const attached = t.slice(j + 1);
        if (attached) seen.set(letter, { text: attached, literal: true });
        else {
          seen.set(letter, words[i + 1] ?? flag);
          consumedNext = true;
        }
        break;
      }
      if (!spec.flags?.includes(letter)) unknown = true;
      seen.set(letter, flag);
    }
    i += consumedNext ? 2 : 1;
  }
  return { rest: i, seen, unknown };
}

const WRAPPERS: Record<string, OptionSpec> = {
  env: {
    short: "uCS",
    long: ["unset", "chdir", "split-string"],
    flags: "i0v",
    longFlags: [
      "ignore-environment",
      "null",
      "debug",
      "ignore-signal",
      "default-signal",
      "block-signal",
      "list-signal-handling",
    ],
  },
  nice: { short: "n", long: ["adjustment"], numeric: true },
  nohup: {},
  time: {
    short: "of",
    long: ["output", "format"],
    flags: "pavq",
    longFlags: ["append", "portability", "verbose", "quiet"],
  },
  timeout: {
    short: "sk",
    long: ["signal", "kill-after"],
    flags: "v",
    longFlags: ["foreground", "preserve-status", "verbose"],
  },
  command: { flags: "pvV" },
  builtin: {},
  exec: { short: "a", flags: "cl" },
  stdbuf: { short: "ioe", long: ["input", "output", "error"] },
  ionice: { short: "cnpPu", long: ["class", "classdata", "pid", "pgid", "uid"], flags: "t" },
  setsid: { flags: "cfw", longFlags: ["ctty", "fork", "wait"] },
  busybox: {},
  watch: {
    short: "nq",
    long: ["interval", "equexit"],
    flags: "bcdegptwx",
    longFlags: ["beep", "color", "differences", "errexit", "chgexit", "precise", "no-title"],
  },
};

const PRIVILEGE: Record<string, OptionSpec> = {
  sudo: {
    short: "ugpCDrtUTR",
    long: [
      "user",
      "group",
      "prompt",
      "close-from",
      "chdir",
      "role",
      "type",
      "other-user",
      "command-timeout",
      "chroot",
      "host",
    ],
    flags: "AbEHhikKlnPSsveBN",
  },
  doas: { short: "uC", flags: "nsL" },
};

/** Shells: `<shell> -c <script>` is parsed as part of the command. */
export const SHELLS = new Set(["sh", "bash", "zsh", "dash", "ksh", "mksh", "ash", "fish"]);

function command(out: Collector, words: WordValue[], ctx: CommandContext): void {
  if (words.length === 0) return;
  const [first] = words;
  if (!first.literal) return emit(out, words, ctx);
  const name = basename(first.text);

  const wrapper = WRAPPERS[name];
  if (wrapper) {
    const opts = readOptions(words, 1, wrapper);
    let start = opts.rest;
    if (name === "env") {
      const split = opts.seen.get("S") ?? opts.seen.get("split-string");
      while (start < words.length && words[start].literal && /^\w+=/.test(words[start].text)) {
        out.assigns.add(words[start].text.slice(0, words[start].text.indexOf("=")));
        start++;
      }
      if (split !== undefined) {
        // env -S 'cmd args' runs its split string: read it as the command's leading words.
        const value = {
          text: `${split.text} ${shellQuoteRest(words, start)}`,
          literal: split.literal && words.slice(start).every((w) => w.literal),
        };
        return nested(out, value, words, ctx, "env -S");
      }
    }
    if (name === "timeout") start++; // the duration
    if (name === "time") {
      const file = opts.seen.get("o") ?? opts.seen.get("output");
      if (file) out.writes.push({ target: file.literal ? file.text : null, by: ctx.by() });
    }
    if (name === "ionice" && ["p", "P", "u", "pid", "pgid", "uid"].some((o) => opts.seen.has(o))) {
      return emit(out, words, ctx);
    }
    if (name === "command" && (opts.seen.has("v") || opts.seen.has("V"))) {
      return emit(out, words, ctx); // a look-up, runs nothing
    }
    if (start >= words.length) return emit(out, words, ctx);
    // The wrapper's options were not all understood: keep it as a command of its own too.
    if (opts.unknown) emit(out, words, ctx);
    if (name === "watch") {
      const script = joinWords(words.slice(start));
      return nested(out, script, words, ctx, "watch");
    }
    return command(out, words.slice(start), ctx);
  }

  const privilege = PRIVILEGE[name];
  if (privilege) {
    emit(out, words, ctx);
    const opts = readOptions(words, 1, privilege);
    if (opts.rest < words.length) {
      command(out, words.slice(opts.rest), { ...ctx, via: [...ctx.via, name] });
    }
    return;
  }
  if (name === "su") {
    emit(out, words, ctx);
    const opts = readOptions(words, 1, {
      short: "cgGsw",
      long: ["command", "group", "supp-group", "shell", "whitelist-environment"],
      flags: "flmp",
    });
    const script = opts.seen.get("c") ?? opts.seen.get("command");
    if (script) nested(out, script, words, ctx, "su -c");
    return;
  }

  if (SHELLS.has(name)) return shell(out, words, ctx, name);

  if (name === "eval") {
    return nested(out, joinWords(words.slice(1)), words, ctx, "eval");
  }
  if (name === "trap" && words.length > 2 && !words[1].text.startsWith("-")) {
    emit(out, [words[0], ...words.slice(2)], ctx);
    return nested(out, words[1], words, ctx, "trap"); // the action runs later, as code
  }

  if (name === "xargs") {
    const opts = readOptions(words, 1, {
      // -i, -e and -l take their value only attached (-ifoo), so they are flags here.
      short: "EILnPsda",
      long: [
        "eof",
        "replace",
        "max-lines",
        "max-args",
        "max-procs",
        "max-chars",
        "delimiter",
        "arg-file",
        "process-slot-var",
      ],
      flags: "0prtxiel",
      longFlags: ["null", "interactive", "no-run-if-empty", "verbose", "exit", "show-limits"],
    });
    if (opts.rest >= words.length) return emit(out, words, ctx);
    if (opts.unknown) emit(out, words, ctx);
    return command(out, words.slice(opts.rest), {
      ...ctx,
      via: [...ctx.via, "xargs"],
      extraArgs: true,
    });
  }

  if (name === "find") return find(out, words, ctx);

  emit(out, words, ctx);
}

/** `bash -c <script>` is parsed; a literal here-document fed to a bare shell too. */
function shell(out: Collector, words: WordValue[], ctx: CommandContext, name: string): void {
  let i = 1;
  let inline = false;
  let fromStdin = false;
  while (i < words.length) {
    const w = words[i];
    if (!w.literal) break;
    const t = w.text;
    if (t === "--" || t === "-") {
      i++;
      break;
    }
    if (!/^[-+]/.test(t)) break;
    if (t.startsWith("--")) {
      // fish: --command / --init-command run their value like -c.
      const fishCode = t.match(/^--(command|init-command)(=(.*))?$/s);
      if (name === "fish" && fishCode) {
        const value = fishCode[2] ? { text: fishCode[3], literal: true } : words[i + 1];
        if (value) nested(out, value, words, ctx, `fish ${t}`);
        i += fishCode[2] ? 1 : 2;
        inline ||= fishCode[1] === "command";
        if (fishCode[1] === "command") return;
        continue;
      }
      i += ["--rcfile", "--init-file"].includes(t) ? 2 : 1;
      continue;
    }
    const letters = t.slice(1);
    if (letters.includes("c")) inline = true;
    if (name === "fish" && letters.includes("C")) {
      if (words[i + 1]) nested(out, words[i + 1], words, ctx, "fish -C");
      i += 2;
      continue;
    }
    if (letters.includes("s")) fromStdin = true;
    i += /[oO]$/.test(letters) ? 2 : 1;
  }
  const via = `${name} -c`;
  if (inline) {
    if (i >= words.length) return emit(out, words, ctx);
    return nested(out, words[i], words, ctx, via);
  }
  if ((i >= words.length || fromStdin) && ctx.stdin) {
    return nested(out, ctx.stdin, words, { ...ctx, stdin: undefined }, `${name} <<`);
  }
  if ((i >= words.length || fromStdin) && ctx.stdin === null) {
    return emit(out, words, ctx, "runs a here-document that is not a literal");
  }
  emit(out, words, ctx);
}

const FIND_EXEC = new Set(["-exec", "-execdir", "-ok", "-okdir"]);

/** find's own words, and each `-exec … ;` command as a command of its own. */
function find(out: Collector, words: WordValue[], ctx: CommandContext): void {
  const own: WordValue[] = [];
  const execs: Array<[WordValue[], string]> = [];
  let i = 0;
  while (i < words.length) {
    const w = words[i];
    if (w.literal && FIND_EXEC.has(w.text)) {
      let end = i + 1;
      while (end < words.length && !(words[end].literal && /^[;+]$/.test(words[end].text))) end++;
      const inner = words.slice(i + 1, end);
      // The command ends at `;` or `+`; stopping at any `+` can only split it shorter.
      if (inner.length > 0) execs.push([inner, `find ${w.text}`]);
      i = end + 1;
      continue;
    }
    own.push(w);
    i++;
  }
  emit(out, own, ctx);
  for (const [inner, how] of execs) command(out, inner, { ...ctx, via: [...ctx.via, how] });
}

function joinWords(words: WordValue[]): WordValue {
  const literal = words.every((w) => w.literal);
  return { text: words.map((w) => w.text).join(" "), literal };
}

/** The words after env -S's string, quoted back so parsing them keeps them whole. */
function shellQuoteRest(words: WordValue[], start: number): string {
  return words.slice(start).map((w) => w.literal ? `'${w.text.replaceAll("'", `'\\''`)}'` : w.text)
    .join(" ");
}
