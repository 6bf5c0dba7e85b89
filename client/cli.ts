// The `agentops` CLI: pair a project, run as the agents' hook, install the hooks, check
// the setup, verify a run's audit chain, and a stand-in phone. One table of commands
// (COMMANDS) drives parsing, help and suggestions: each command declares its options and
// usage, `--help`/`-h` anywhere prints that usage (exit 0), and an unknown command or
// option is an error with a suggestion (exit 2). `deno run -A client/cli.ts`, or the npm
// package built from this folder (packages/agentops).
import { parseArgs } from "node:util";
import { type Agent, AGENTS } from "./hooks.ts";
import { runHook } from "./runner.ts";
import { install } from "./install.ts";
import { DEFAULT_POLICY, loadPolicy } from "./policy.ts";
import { AgentOpsClient, ApiError, pairStart } from "./sdk.ts";
import { EventQueue } from "./queue.ts";
import { installedPackage, VERSION } from "./launcher.ts";
import { describeError, explainDatabase, explainFetch } from "./net_errors.ts";
import {
  backendUrl,
  credentialsPath,
  loadCredentials,
  machineId,
  policyPath,
  projectDir,
  queueDir,
  saveCredentials,
  workspaceFingerprint,
} from "./project.ts";

type Values = Record<string, string | boolean | undefined>;
type Options = Record<string, { type: "string" | "boolean"; short?: string }>;

/** What a command gets: its parsed options and positionals, and the project directory. */
interface Context {
  values: Values;
  args: string[];
  project: string;
}

/** One command (or subcommand) of the table: its options, its help, and what it runs. */
export interface Command {
  name: string;
  /** the line in the parent's list */
  summary: string;
  /** the arguments after the name, for the usage line */
  synopsis: string;
  /** more help after the usage line */
  details?: string;
  options?: Options;
  /** how many positionals it takes */
  args?: { min: number; max: number };
  run?: (ctx: Context) => Promise<number>;
  subcommands?: Command[];
}

const GLOBAL_OPTIONS: Options = {
  project: { type: "string" },
  help: { type: "boolean", short: "h" },
};

/** A usage error: printed with a pointer to the command's help, exit code 2. */
export class UsageError extends Error {
  constructor(message: string, readonly path: string[] = []) {
    super(message);
    this.name = "UsageError";
  }
}

function fail(message: string, code = 1): never {
  console.error(`agentops: ${message}`);
  Deno.exit(code);
}

/** Levenshtein distance, for "did you mean". */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length];
}

/** The closest candidate, if it is close enough to be what was meant. */
export function suggest(word: string, candidates: string[]): string | null {
  let best: string | null = null;
  let bestScore = Infinity;
  for (const c of candidates) {
    const score = c.startsWith(word) || word.startsWith(c) ? 0.5 : distance(word, c);
    if (score < bestScore) [best, bestScore] = [c, score];
  }
  return best !== null && bestScore <= Math.max(1, Math.floor(word.length / 3)) ? best : null;
}

function didYouMean(word: string, candidates: string[]): string {
  const s = suggest(word, candidates);
  return s ? ` (did you mean ${s}?)` : "";
}

function parseAgent(value: string | undefined, path: string[]): Agent {
  if (!value) throw new UsageError(`name the agent: ${AGENTS.join(", ")}`, path);
  if (!(AGENTS as readonly string[]).includes(value)) {
    throw new UsageError(
      `unknown agent "${value}"${didYouMean(value, [...AGENTS])}; one of ${AGENTS.join(", ")}`,
      path,
    );
  }
  return value as Agent;
}

async function readStdin(timeoutMs: number): Promise<string> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve(""), timeoutMs);
  });
  try {
    return await Promise.race([new Response(Deno.stdin.readable).text(), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function writeAll(file: { write(p: Uint8Array): Promise<number> }, text: string) {
  const bytes = new TextEncoder().encode(text);
  let written = 0;
  while (written < bytes.length) written += await file.write(bytes.subarray(written));
}

async function cmdHook({ values, args, project }: Context): Promise<number> {
  const agent = parseAgent(args[0], ["hook"]);
  const hostTimeout = values.timeout ? Number(values.timeout) : undefined;
  if (hostTimeout !== undefined && !(hostTimeout > 0)) {
    throw new UsageError(`--timeout takes seconds, not "${values.timeout}"`, ["hook"]);
  }
  const raw = await readStdin(10_000);
  const result = await runHook(agent, raw, { project, hostTimeoutSeconds: hostTimeout });
  if (result.stdout) await writeAll(Deno.stdout, result.stdout + "\n");
  if (Deno.env.get("AGENTOPS_DEBUG")) console.error(`agentops: ${result.note}`);
  return result.exitCode;
}

async function cmdPair({ values, project }: Context): Promise<number> {
  const url = backendUrl(null);
  const displayName = String(
    values.name ?? (await Deno.realPath(project)).split("/").pop() ?? "project",
  ).slice(0, 100);
  const waitSeconds = Number(values.wait ?? 600);
  if (!(waitSeconds >= 0)) throw new UsageError(`--wait takes seconds`, ["pair"]);
  const machine = await machineId();
  const fingerprint = await workspaceFingerprint(project);
  const started = await pairStart(url, {
    machine_id: machine,
    workspace_fingerprint: fingerprint,
    display_name: displayName,
  });
  await saveCredentials(project, {
    url,
    workspace_id: started.workspace_id,
    bridge_secret: started.bridge_secret,
    machine_id: machine,
    workspace_fingerprint: fingerprint,
    display_name: displayName,
    paired_at: "",
  });
  console.log(`Pairing "${displayName}" (workspace ${started.workspace_id}) with ${url}`);
  console.log(`\n  Code: ${started.pair_token}\n  ${started.pairing_uri}\n`);
  if (!values["no-qr"]) console.log(await qrCode(started.pairing_uri));
  console.log(`Scan the QR code or type the code in the AgentOps app (or run`);
  console.log(
    `\`agentops phone pair ${started.pair_token}\`). Waiting until ${started.expires_at}…`,
  );
  const client = new AgentOpsClient({
    baseUrl: url,
    workspaceId: started.workspace_id,
    secret: started.bridge_secret,
  });
  const until = Math.min(Date.parse(started.expires_at), Date.now() + waitSeconds * 1000);
  while (Date.now() < until) {
    const wait = Math.max(0, Math.min(30, Math.floor((until - Date.now()) / 1000)));
    const status = await client.pairStatus(wait);
    if (status.paired) {
      const creds = await loadCredentials(project);
      if (creds) {
        const device = status.devices[status.devices.length - 1];
        await saveCredentials(project, { ...creds, paired_at: device?.paired_at ?? "" });
      }
      console.log(
        `Paired with ${
          status.devices.map((d) => d.device_name ?? d.platform).join(", ")
        }. Credentials: ${credentialsPath(project)} (0600).`,
      );
      console.log(`Next: agentops install claude-code (or cursor, codex).`);
      return 0;
    }
    if (wait === 0) break;
  }
  console.error("agentops: no phone paired before the code expired; run `agentops pair` again");
  return 1;
}

async function qrCode(text: string): Promise<string> {
  const mod = await import("qrcode-terminal");
  const qr = (mod.default ?? mod) as {
    generate(text: string, opts: { small: boolean }, cb: (out: string) => void): void;
  };
  return await new Promise((resolve) => qr.generate(text, { small: true }, resolve));
}

async function cmdInstall({ values, args, project }: Context): Promise<number> {
  const agent = parseAgent(args[0], ["install"]);
  const policy = await loadPolicy(policyPath(project));
  const launcher = (values.launcher as string | undefined) ?? installedPackage()?.launcher;
  const path = await install(project, agent, {
    policy,
    launcher,
    claudeLocal: Boolean(values.local),
  });
  console.log(`Wrote the AgentOps hooks into ${path}.`);
  if (!(await loadCredentials(project))) {
    console.log("This project is not paired yet: run `agentops pair`.");
  }
  if (agent === "codex") {
    console.log("Codex runs project hooks once you trust them (run /hooks in Codex).");
  }
  return 0;
}

async function cmdStatus({ project }: Context): Promise<number> {
  const creds = await loadCredentials(project);
  const policy = await loadPolicy(policyPath(project)).catch((e) => {
    console.log(`Policy: ${(e as Error).message}`);
    return DEFAULT_POLICY;
  });
  const queued = (await new EventQueue(queueDir(project)).list()).length;
  console.log(`Project:   ${project}`);
  console.log(`Backend:   ${backendUrl(creds)}`);
  console.log(
    `Policy:    ${policyPath(project)} (approval TTL ${policy.approval_ttl_seconds} s;` +
      ` fallbacks: unreachable ${policy.fallback.unreachable}, no device ${policy.fallback.no_device},` +
      ` timeout ${policy.fallback.timeout})`,
  );
  console.log(`Queue:     ${queued} run event(s) waiting`);
  if (!creds) {
    console.log("Pairing:   not paired (run `agentops pair`)");
    return 1;
  }
  console.log(`Workspace: ${creds.workspace_id} "${creds.display_name}"`);
  const client = new AgentOpsClient({
    baseUrl: backendUrl(creds),
    workspaceId: creds.workspace_id,
    secret: creds.bridge_secret,
    retry: { attempts: 1, timeoutMs: 5_000 },
  });
  try {
    const status = await client.pairStatus(0);
    console.log(
      `Devices:   ${
        status.devices.length === 0
          ? "none paired (run `agentops pair`)"
          : status.devices.map((d) => `${d.device_name ?? d.platform} (since ${d.paired_at})`)
            .join(", ")
      }`,
    );
    return status.paired ? 0 : 1;
  } catch (error) {
    console.log(`Backend:   ${describeError(error)}`);
    return 1;
  }
}

async function cmdFlush({ project }: Context): Promise<number> {
  const creds = await loadCredentials(project);
  if (!creds) fail("this project is not paired: run `agentops pair`");
  const client = new AgentOpsClient({
    baseUrl: backendUrl(creds),
    workspaceId: creds.workspace_id,
    secret: creds.bridge_secret,
  });
  const result = await new EventQueue(queueDir(project)).flush(client);
  console.log(
    `Delivered ${result.delivered}, rejected ${result.rejected}, ${result.remaining} still queued.`,
  );
  return result.remaining === 0 ? 0 : 1;
}

async function cmdDoctor({ project }: Context): Promise<number> {
  const { runDoctor } = await import("./doctor.ts");
  return await runDoctor(project);
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

async function cmdAuditVerify({ values, args, project }: Context): Promise<number> {
  const runId = args[0];
  if (!UUID_RE.test(runId)) {
    throw new UsageError(`"${runId}" is not a run id (a UUID)`, ["audit", "verify"]);
  }
  const { databaseUrlFor } = await import("./phone.ts");
  const databaseUrl = (values["database-url"] as string | undefined) ??
    databaseUrlFor(backendUrl(await loadCredentials(project).catch(() => null)));
  if (!databaseUrl) {
    throw new UsageError(
      "set AGENTOPS_DATABASE_URL (or --database-url): the audit reads the run's events from Postgres",
      ["audit", "verify"],
    );
  }
  const { verifyRunFromDatabase } = await import("./audit.ts");
  const report = await explainDatabase(
    databaseUrl,
    () => verifyRunFromDatabase(databaseUrl, runId),
  );
  console.log(JSON.stringify({ run_id: runId, ...report }, null, 2));
  if (!report.ok) {
    console.error(`agentops: run ${runId} does not verify: ${report.reason}`);
  }
  return report.ok ? 0 : 1;
}

async function withPhone<T>(
  run: (
    phoneMod: typeof import("./phone.ts"),
    phone: import("./phone.ts").Phone,
  ) => Promise<T>,
): Promise<T> {
  const phoneMod = await import("./phone.ts");
  const phone = await phoneMod.connectPhone(backendUrl(null));
  return await run(phoneMod, phone);
}

async function cmdPhonePair({ values, args }: Context): Promise<number> {
  return await withPhone(async (phoneMod, phone) => {
    const state = await phoneMod.loadPhoneState();
    const body: Record<string, unknown> = {
      pair_token: args[0],
      platform: values.platform ?? "android",
      push_token: values["push-token"] ?? `agentops-phone-${state.user_id}`,
      device_name: values.name ?? "agentops phone",
    };
    if (values["push-provider"]) body.push_provider = values["push-provider"];
    if (state.device_id) body.device_id = state.device_id;
    const out = await phoneMod.invoke<
      { device_id: string; workspace_id: string; display_name: string }
    >(phone, "pair-complete", body);
    await phoneMod.savePhoneState({ ...state, device_id: out.device_id });
    console.log(`Paired device ${out.device_id} with "${out.display_name}" (${out.workspace_id}).`);
    return 0;
  });
}

function cmdPhoneDecide(decision: "APPROVE" | "DENY") {
  return async ({ values, args }: Context): Promise<number> =>
    await withPhone(async (phoneMod, phone) => {
      const body: Record<string, unknown> = { decision };
      if (values.note) body.note = values.note;
      if (values.device) body.device_id = values.device;
      const out = await phoneMod.invoke(phone, `mobile-approval-decision/${args[0]}`, body);
      console.log(JSON.stringify(out, null, 2));
      return 0;
    });
}

async function cmdPhoneInstruct({ args }: Context): Promise<number> {
  return await withPhone(async (phoneMod, phone) => {
    const out = await phoneMod.invoke(phone, `mobile-run-instruction/${args[0]}`, {
      text: args.slice(1).join(" "),
    });
    console.log(JSON.stringify(out, null, 2));
    return 0;
  });
}

function cmdPhoneRead(what: "pending" | "runs" | "tail") {
  return async ({ values, args }: Context): Promise<number> =>
    await withPhone(async (phoneMod, phone) => {
      const reader = phoneMod.readerFor(phone);
      try {
        await reader.explain(async () => {
          if (what === "pending") {
            const rows = await reader.pendingApprovals();
            if (rows.length === 0) console.log("No pending approvals.");
            for (const a of rows) {
              console.log(
                `${a.id}  expires ${new Date(a.expires_at).toISOString()}  ${a.command}`,
              );
            }
          } else if (what === "runs") {
            const rows = await reader.runs();
            if (rows.length === 0) console.log("No runs yet.");
            for (const r of rows) {
              console.log(
                `${r.id}  ${r.status.padEnd(9)} ${r.provider.padEnd(11)} ${r.last_message ?? ""}`,
              );
            }
          } else {
            let after = 0;
            const details = await reader.timelineDetails(args[0]);
            while (true) {
              for (const e of await reader.events(args[0], after)) {
                console.log(phoneMod.formatEvent(e, details));
                after = e.seq;
              }
              if (!values.follow) break;
              await new Promise((r) => setTimeout(r, 1000));
              Object.assign(details, await reader.timelineDetails(args[0]));
            }
          }
        });
      } finally {
        await reader.close();
      }
      return 0;
    });
}

const AGENT_LIST = AGENTS.join("|");

/** Every command; `uninstall` and friends are one more entry. */
export const COMMANDS: Command[] = [
  {
    name: "pair",
    summary: "pair this project with your phone",
    synopsis: "[--name <display name>] [--no-qr] [--wait <s>]",
    details:
      "Starts pairing with the backend (AGENTOPS_URL), prints a code and a QR code, waits\n" +
      "until a phone pairs and stores the credentials in .agentops/credentials.json (0600).",
    options: {
      name: { type: "string" },
      "no-qr": { type: "boolean" },
      wait: { type: "string" },
    },
    args: { min: 0, max: 0 },
    run: cmdPair,
  },
  {
    name: "install",
    summary: "write the agent's hook configuration",
    synopsis: `${AGENT_LIST} [--local] [--launcher <command>]`,
    details:
      "Writes the AgentOps hooks into .claude/settings.json (--local: settings.local.json),\n" +
      ".cursor/hooks.json or .codex/hooks.json, keeping every other hook. The hooks call this\n" +
      "command (--launcher overrides how they start it).",
    options: { local: { type: "boolean" }, launcher: { type: "string" } },
    args: { min: 1, max: 1 },
    run: cmdInstall,
  },
  {
    name: "hook",
    summary: "run as the agent's hook (stdin → stdout)",
    synopsis: `${AGENT_LIST} [--timeout <s>]`,
    details:
      "What the installed hooks run: reads the agent's JSON on stdin and answers on stdout.\n" +
      "--timeout is the host's hook timeout; the runner answers a few seconds before it.",
    options: { timeout: { type: "string" } },
    args: { min: 1, max: 1 },
    run: cmdHook,
  },
  {
    name: "status",
    summary: "credentials, policy, queue, devices",
    synopsis: "",
    args: { min: 0, max: 0 },
    run: cmdStatus,
  },
  {
    name: "doctor",
    summary: "check the backend, clock, pairing, hooks, policy and queue",
    synopsis: "",
    details: "Each check prints ok or what is wrong and what to do; exits 1 if any fails.",
    args: { min: 0, max: 0 },
    run: cmdDoctor,
  },
  {
    name: "flush",
    summary: "deliver queued run events now",
    synopsis: "",
    args: { min: 0, max: 0 },
    run: cmdFlush,
  },
  {
    name: "audit",
    summary: "verify a run's tamper-evident timeline",
    synopsis: "verify <run_id>",
    subcommands: [{
      name: "verify",
      summary: "recompute a run's hash chain from Postgres",
      synopsis: "<run_id> [--database-url <url>]",
      details:
        "Reads the run's events (AGENTOPS_DATABASE_URL, DATABASE_URL, or the local stack's\n" +
        "database on DB_PORT) and recomputes every hash. Exits 1 when the chain is broken or\n" +
        "the run has no events.",
      options: { "database-url": { type: "string" } },
      args: { min: 1, max: 1 },
      run: cmdAuditVerify,
    }],
  },
  {
    name: "phone",
    summary: "a stand-in phone (supabase-js, like the app)",
    synopsis: "<pair|pending|approve|deny|instruct|runs|tail> …",
    details:
      "Against the local stack it signs in with a dev token made from the local JWT secret\n" +
      "(SUPABASE_JWT_SECRET overrides) and reads the database on DB_PORT\n" +
      "(AGENTOPS_DATABASE_URL overrides); elsewhere set AGENTOPS_ACCESS_TOKEN.",
    subcommands: [
      {
        name: "pair",
        summary: "pair this stand-in phone with a code from `agentops pair`",
        synopsis: "<code> [--platform android|ios] [--push-token t] [--push-provider fcm|apns] " +
          "[--name n]",
        options: {
          platform: { type: "string" },
          "push-token": { type: "string" },
          "push-provider": { type: "string" },
          name: { type: "string" },
        },
        args: { min: 1, max: 1 },
        run: cmdPhonePair,
      },
      {
        name: "pending",
        summary: "pending approvals",
        synopsis: "",
        args: { min: 0, max: 0 },
        run: cmdPhoneRead("pending"),
      },
      {
        name: "approve",
        summary: "approve a command (the note goes to the agent)",
        synopsis: "<approval_id> [--note text] [--device id]",
        options: { note: { type: "string" }, device: { type: "string" } },
        args: { min: 1, max: 1 },
        run: cmdPhoneDecide("APPROVE"),
      },
      {
        name: "deny",
        summary: "deny a command (the note goes to the agent)",
        synopsis: "<approval_id> [--note text] [--device id]",
        options: { note: { type: "string" }, device: { type: "string" } },
        args: { min: 1, max: 1 },
        run: cmdPhoneDecide("DENY"),
      },
      {
        name: "instruct",
        summary: "queue an instruction for the agent's next stop",
        synopsis: "<run_id> <text…>",
        args: { min: 2, max: Infinity },
        run: cmdPhoneInstruct,
      },
      {
        name: "runs",
        summary: "recent runs",
        synopsis: "",
        args: { min: 0, max: 0 },
        run: cmdPhoneRead("runs"),
      },
      {
        name: "tail",
        summary: "a run's timeline: events, decisions with note and device, instructions",
        synopsis: "<run_id> [--follow]",
        options: { follow: { type: "boolean" } },
        args: { min: 1, max: 1 },
        run: cmdPhoneRead("tail"),
      },
    ],
  },
];

function findCommand(path: string[]): Command | null {
  let list = COMMANDS;
  let found: Command | null = null;
  for (const name of path) {
    found = list.find((c) => c.name === name) ?? null;
    if (!found) return null;
    list = found.subcommands ?? [];
  }
  return found;
}

function listing(commands: Command[], prefix: string): string {
  const rows = commands.map((c) => [`${prefix}${c.name} ${c.synopsis}`.trimEnd(), c.summary]);
  const width = Math.min(60, Math.max(...rows.map(([l]) => l.length)) + 2);
  return rows.map(([l, s]) =>
    l.length + 2 > width ? `  ${l}\n  ${" ".repeat(width)}${s}` : `  ${l.padEnd(width)}${s}`
  ).join("\n");
}

const GLOBAL_HELP =
  `Options: --project <dir> (default: $AGENTOPS_PROJECT_DIR, $CLAUDE_PROJECT_DIR, else the
current directory), -h/--help (on every command), -V/--version.
Environment: AGENTOPS_URL (default http://127.0.0.1:54321/functions/v1, the local stack).`;

/** The help of the whole CLI, or of one command. */
export function helpText(path: string[] = []): string {
  if (path.length === 0) {
    return `agentops ${VERSION} — the AgentOps hook runner\n\n` +
      `${listing(COMMANDS, "agentops ")}\n\n${GLOBAL_HELP}\n` +
      `Run \`agentops <command> --help\` for a command's options.`;
  }
  const cmd = findCommand(path)!;
  const name = `agentops ${path.join(" ")}`;
  let text = `${name} — ${cmd.summary}\n\nUsage: ${name} ${cmd.synopsis}`.trimEnd();
  if (cmd.details) text += `\n\n${cmd.details}`;
  if (cmd.subcommands) text += `\n\n${listing(cmd.subcommands, `${name} `)}`;
  return `${text}\n\nOptions: --project <dir>, -h/--help. See \`agentops --help\`.`;
}

function optionNames(options: Options): string[] {
  return Object.keys(options).map((o) => `--${o}`);
}

/** Parses a command's arguments strictly: unknown options are usage errors. */
function parseCommand(
  cmd: Command,
  path: string[],
  argv: string[],
): { values: Values; positionals: string[] } {
  const options = { ...GLOBAL_OPTIONS, ...cmd.options };
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      options,
      allowPositionals: true,
      strict: true,
    });
    return { values: values as Values, positionals };
  } catch (error) {
    const message = (error as Error).message;
    const unknown = /Unknown option '([^']+)'/.exec(message)?.[1];
    if (unknown) {
      const flag = unknown.split("=")[0];
      throw new UsageError(
        `unknown option ${flag}${didYouMean(flag, optionNames(options))}`,
        path,
      );
    }
    // node:util's own messages ("Option '--name <value>' argument missing"), one line.
    throw new UsageError(message.split("\n")[0].replace(/^TypeError.*?: /, ""), path);
  }
}

/** Runs the CLI; the exit code. Usage errors are 2, failures 1. */
export async function main(argv: string[]): Promise<number> {
  try {
    return await dispatch(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    const where = error.path.length ? `agentops ${error.path.join(" ")}` : "agentops";
    console.error(`${where}: ${error.message}`);
    console.error(`Run \`${where} --help\` for usage.`);
    return 2;
  }
}

async function dispatch(argv: string[]): Promise<number> {
  // Options before the command: --project, --help, --version.
  let project: string | undefined;
  let i = 0;
  for (; i < argv.length && argv[i].startsWith("-") && argv[i] !== "-"; i++) {
    const arg = argv[i];
    if (arg === "-h" || arg === "--help") {
      console.log(helpText());
      return 0;
    }
    if (arg === "-V" || arg === "--version") {
      console.log(`agentops ${VERSION}`);
      return 0;
    }
    if (arg === "--project" && argv[i + 1] !== undefined) project = argv[++i];
    else if (arg.startsWith("--project=")) project = arg.slice("--project=".length);
    else {
      const flag = arg.split("=")[0];
      throw new UsageError(
        `unknown option ${flag}${didYouMean(flag, ["--project", "--help", "--version"])}`,
      );
    }
  }
  if (i >= argv.length) {
    console.error(helpText());
    return 2;
  }
  // The command and its subcommands.
  const path: string[] = [];
  let list = COMMANDS;
  let cmd: Command | undefined;
  while (i < argv.length) {
    const name = argv[i];
    if (name.startsWith("-") && cmd?.subcommands) {
      if (name === "-h" || name === "--help") {
        console.log(helpText(path));
        return 0;
      }
      throw new UsageError(`name a subcommand first: ${list.map((c) => c.name).join(", ")}`, path);
    }
    const next = list.find((c) => c.name === name);
    if (!next) {
      const what = path.length ? "subcommand" : "command";
      throw new UsageError(
        `unknown ${what} "${name}"${didYouMean(name, list.map((c) => c.name))}`,
        path,
      );
    }
    cmd = next;
    path.push(name);
    i++;
    if (!cmd.subcommands) break;
    list = cmd.subcommands;
  }
  if (!cmd) throw new UsageError("name a command");
  if (cmd.subcommands) {
    // `agentops phone` alone: the list of subcommands.
    console.error(helpText(path));
    return 2;
  }
  const { values, positionals } = parseCommand(cmd, path, argv.slice(i));
  if (values.help) {
    console.log(helpText(path));
    return 0;
  }
  const { min, max } = cmd.args ?? { min: 0, max: Infinity };
  if (positionals.length < min) {
    throw new UsageError(`missing arguments: ${cmd.synopsis.split(" [")[0]}`, path);
  }
  if (positionals.length > max) {
    throw new UsageError(`unexpected argument "${positionals[max]}"`, path);
  }
  project = (values.project as string | undefined) ?? project;
  return await cmd.run!({ values, args: positionals, project: projectDir(project) });
}

/** Runs the CLI and exits with its code; an unexpected error is one line, no stack. The
 * interactive commands get a fetch that names the URL when a connection fails. */
export async function run(argv: string[]): Promise<never> {
  // A hook keeps the plain fetch: its errors become the runner's fallback, not messages.
  if (!argv.includes("hook")) globalThis.fetch = explainFetch(globalThis.fetch);
  try {
    Deno.exit(await main(argv));
  } catch (error) {
    const message = error instanceof ApiError
      ? `${error.code}: ${error.message}`
      : describeError(error);
    fail(message);
  }
}

if (import.meta.main) await run(Deno.args);
