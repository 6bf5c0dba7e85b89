// The `agentops` CLI: pair a project, run as the agents' hook, install the hooks, check
// the setup, verify a run's audit chain, and a stand-in phone. One table of commands
// (COMMANDS) drives parsing, help and suggestions: each command declares its options and
// usage, `--help`/`-h` anywhere prints that usage (exit 0), and an unknown command or
// option is an error with a suggestion (exit 2). `deno run -A client/cli.ts`, or the npm
// package built from this folder (packages/agentops).
// Only the hook path is imported up front, since every agent tool call starts this process;
// every other command loads what it needs when it runs (the options are parsed here, by
// hand, for the same reason: node:util would cost the hook its start-up time).
import { type Agent, AGENTS } from "./hooks.ts";
import { runHook } from "./runner.ts";
import { AgentOpsClient, ApiError, pairStart } from "./sdk.ts";
import { EventQueue } from "./queue.ts";
import { appPairLink } from "../shared/pair_link.ts";
import { VERSION } from "./launcher.ts";
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
import type * as v from "valibot";
import type { PairCompleteResponse } from "../shared/api_schemas.ts";

type Values = Record<string, string | boolean | undefined>;
type Options = Record<string, { type: "string" | "boolean"; short?: string }>;

async function describeError(error: unknown): Promise<string> {
  return (await import("./net_errors.ts")).describeError(error);
}

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

/** `agentops phone approve|deny`: the same options, one decision each. */
function phoneDecisionCommand(name: string, decision: "APPROVE" | "DENY"): Command {
  const effect = decision === "APPROVE" ? "allow" : "deny";
  return {
    name,
    summary: `${name} a command (the note goes to the agent)`,
    synopsis: "<approval_id> [--note text] [--device id] " +
      '[--remember exact|prefix [--prefix "<words>"] [--expires <s>]]',
    details:
      `--remember makes the decision a rule (${effect}) for this exact command, or for its\n` +
      "prefix (--prefix narrows it to the leading words given), for --expires seconds\n" +
      "(default: 24 hours). See `agentops phone rules`.",
    options: {
      note: { type: "string" },
      device: { type: "string" },
      remember: { type: "string" },
      prefix: { type: "string" },
      expires: { type: "string" },
    },
    args: { min: 1, max: 1 },
    run: cmdPhoneDecide(decision),
  };
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
  const result = await runHook(agent, raw, {
    project,
    hostTimeoutSeconds: hostTimeout,
    event: values.event as string | undefined,
  });
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
  const body = {
    machine_id: machine,
    workspace_fingerprint: fingerprint,
    display_name: displayName,
  };
  // Already paired here: sign with the current secret, so the workspace (and its phones and
  // history) is kept. A secret the backend no longer accepts (lost, or the workspace is
  // gone) cannot prove anything: pair as a new workspace, and the phone pairs again.
  const existing = await loadCredentials(project);
  const current = existing && existing.url === url &&
      existing.machine_id === machine && existing.workspace_fingerprint === fingerprint
    ? { workspaceId: existing.workspace_id, secret: existing.bridge_secret }
    : undefined;
  let started;
  try {
    started = await pairStart(url, body, current);
  } catch (error) {
    if (!(current && error instanceof ApiError && error.code === "unauthorized")) throw error;
    console.error(
      `agentops: the stored secret of workspace ${current.workspaceId} is not accepted ` +
        `(${error.message}); pairing as a new workspace`,
    );
    started = await pairStart(url, body);
  }
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
  // With the web app's address, the QR code opens the app at its pairing screen.
  const appUrl = Deno.env.get("AGENTOPS_APP_URL");
  const link = appUrl ? appPairLink(appUrl, started.pair_token, url) : started.pairing_uri;
  console.log(`\n  Code: ${started.pair_token}\n  ${link}\n`);
  if (!values["no-qr"]) console.log(await qrCode(link));
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
      console.log(`Next: agentops install claude-code (or cursor, codex, gemini, copilot).`);
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
  const { loadPolicy } = await import("./policy.ts");
  const { install } = await import("./install.ts");
  const policy = await loadPolicy(policyPath(project));
  // Without --launcher: install.ts's defaultLauncher() (agentops on PATH, else this npm
  // package's own command, else an absolute, quoted one).
  const result = await install(project, agent, {
    policy,
    launcher: values.launcher as string | undefined,
    // --local (the default since --shared exists) wins over --shared.
    shared: Boolean(values.shared && !values.local),
  });
  console.log(`Wrote the AgentOps hooks into ${result.path} (command: ${result.command} …).`);
  for (const note of result.notes) console.log(note);
  if (!(await loadCredentials(project))) {
    console.log("This project is not paired yet: run `agentops pair`.");
  }
  if (agent === "codex") {
    console.log("Codex runs project hooks once you trust them (run /hooks in Codex).");
  }
  return 0;
}

async function cmdUninstall({ args, project }: Context): Promise<number> {
  const agent = parseAgent(args[0], ["uninstall"]);
  const { uninstall } = await import("./install.ts");
  const changed = await uninstall(project, agent);
  console.log(
    changed.length === 0
      ? `No AgentOps hooks for ${agent} in this project.`
      : `Removed the AgentOps hooks from ${changed.join(", ")}.`,
  );
  return 0;
}

async function cmdStatus({ project }: Context): Promise<number> {
  const creds = await loadCredentials(project);
  const { DEFAULT_POLICY, loadPolicy } = await import("./policy.ts");
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
    console.log(`Backend:   ${await describeError(error)}`);
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
  const { explainDatabase } = await import("./net_errors.ts");
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
    const out = await phoneMod.invoke<v.InferOutput<typeof PairCompleteResponse>>(
      phone,
      "pair-complete",
      body,
    );
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
      if (values.remember) {
        if (values.remember !== "exact" && values.remember !== "prefix") {
          throw new UsageError(
            `--remember takes exact or prefix, not "${values.remember}"`,
            ["phone", decision === "APPROVE" ? "approve" : "deny"],
          );
        }
        const remember: Record<string, unknown> = { match: values.remember };
        if (values.prefix) remember.prefix = values.prefix;
        if (values.expires) remember.expires_in_seconds = Number(values.expires);
        body.remember = remember;
      } else if (values.prefix || values.expires) {
        throw new UsageError(
          "--prefix and --expires go with --remember exact|prefix",
          ["phone", decision === "APPROVE" ? "approve" : "deny"],
        );
      }
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

function cmdPhoneRules(sub: "rules" | "allow" | "revoke") {
  return async ({ values, args, project }: Context): Promise<number> =>
    await withPhone(async (phoneMod, phone) =>
      await phoneMod.rulesCommand(phone, sub, args, {
        ...(values as Record<string, string | undefined>),
        // The project's own workspace unless --workspace names another.
        workspaceId: (values.workspace as string | undefined) ??
          (await loadCredentials(project).catch(() => null))?.workspace_id,
      })
    );
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

/** Every command. */
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
    synopsis: `${AGENT_LIST} [--shared] [--launcher <command>]`,
    details:
      "Writes the AgentOps hooks into .claude/settings.local.json (--shared: the committed\n" +
      ".claude/settings.json, which needs `agentops` on PATH), .cursor/hooks.json,\n" +
      ".codex/hooks.json, .gemini/settings.json or .github/hooks/agentops.json (Copilot),\n" +
      "keeping every other hook; `agentops uninstall` removes exactly what it wrote. The\n" +
      "hooks call `agentops` when it is on PATH, else this command by its absolute path\n" +
      "(--launcher overrides how they start it). --local is the default, kept for scripts.",
    options: {
      shared: { type: "boolean" },
      local: { type: "boolean" },
      launcher: { type: "string" },
    },
    args: { min: 1, max: 1 },
    run: cmdInstall,
  },
  {
    name: "uninstall",
    summary: "remove exactly what install wrote",
    synopsis: AGENT_LIST,
    details:
      "Removes the AgentOps hooks from the agent's configuration, keeping every other hook\n" +
      "and setting; a file install created (and left otherwise empty) is deleted.",
    args: { min: 1, max: 1 },
    run: cmdUninstall,
  },
  {
    name: "hook",
    summary: "run as the agent's hook (stdin → stdout)",
    synopsis: `${AGENT_LIST} [--event <event>] [--timeout <s>]`,
    details:
      "What the installed hooks run: reads the agent's JSON on stdin and answers on stdout.\n" +
      "--event names the hook event when the payload does not (Copilot); --timeout is the\n" +
      "host's hook timeout, and the runner answers a few seconds before it.",
    options: { event: { type: "string" }, timeout: { type: "string" } },
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
    synopsis: "<pair|pending|approve|deny|instruct|runs|tail|rules|allow|revoke> …",
    details:
      "Against the local stack it signs in with a dev token made from the local JWT secret\n" +
      "(SUPABASE_JWT_SECRET overrides) and reads the database on DB_PORT\n" +
      "(AGENTOPS_DATABASE_URL overrides); elsewhere set AGENTOPS_ACCESS_TOKEN.\n" +
      "--workspace (rules, allow) defaults to the workspace of the project (--project, else\n" +
      "the current directory).",
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
      phoneDecisionCommand("approve", "APPROVE"),
      phoneDecisionCommand("deny", "DENY"),
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
      {
        name: "rules",
        summary: "the workspace's active rules",
        synopsis: "[--workspace <id>]",
        options: { workspace: { type: "string" } },
        args: { min: 0, max: 0 },
        run: cmdPhoneRules("rules"),
      },
      {
        name: "allow",
        summary: "make a rule: allow (or deny) a command or its prefix without asking",
        synopsis: "<command…> [--match prefix|exact] [--effect allow|deny] [--expires <s>] " +
          "[--note t] [--device id] [--workspace <id>]",
        details: "The rule matches the command's leading words (--match prefix, the default) or\n" +
          "the whole command (exact); put `--` before a command that has options of its own.",
        options: {
          match: { type: "string" },
          effect: { type: "string" },
          expires: { type: "string" },
          note: { type: "string" },
          device: { type: "string" },
          workspace: { type: "string" },
        },
        args: { min: 1, max: Infinity },
        run: cmdPhoneRules("allow"),
      },
      {
        name: "revoke",
        summary: "take a rule back",
        synopsis: "<rule_id>",
        args: { min: 1, max: 1 },
        run: cmdPhoneRules("revoke"),
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
Environment: AGENTOPS_URL (default http://127.0.0.1:54321/functions/v1, the local stack);
AGENTOPS_APP_URL (the web app: \`agentops pair\`'s QR code then opens it at its pairing screen).`;

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

/** Parses a command's arguments strictly: unknown options are usage errors. `--opt v`,
 * `--opt=v`, boolean `--flag`, the options' short forms, and `--` before positionals that
 * start with a dash. By hand, not node:util's parseArgs: a hook starts this process on
 * every tool call, and loading node:util would cost it its start-up time. */
export function parseCommand(
  cmd: Pick<Command, "options">,
  path: string[],
  argv: string[],
): { values: Values; positionals: string[] } {
  const options = { ...GLOBAL_OPTIONS, ...cmd.options };
  const values: Values = {};
  const positionals: string[] = [];
  const unknown = (flag: string) =>
    new UsageError(`unknown option ${flag}${didYouMean(flag, optionNames(options))}`, path);
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--") {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith("-") || arg === "-") {
      positionals.push(arg);
      continue;
    }
    let name: string;
    let inline: string | undefined;
    if (arg.startsWith("--")) {
      const eq = arg.indexOf("=");
      name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
      inline = eq < 0 ? undefined : arg.slice(eq + 1);
      if (!Object.hasOwn(options, name)) throw unknown(`--${name}`);
    } else {
      const found = Object.entries(options).find(([, o]) => o.short === arg.slice(1));
      if (!found) throw unknown(arg);
      name = found[0];
    }
    if (options[name].type === "boolean") {
      if (inline !== undefined) throw new UsageError(`--${name} takes no value`, path);
      values[name] = true;
      continue;
    }
    const value = inline ?? argv[i + 1];
    if (inline === undefined) i++;
    if (value === undefined || (inline === undefined && value.startsWith("-") && value !== "-")) {
      throw new UsageError(
        `--${name} needs a value (--${name}=<value> for one that starts with a dash)`,
        path,
      );
    }
    values[name] = value;
  }
  return { values, positionals };
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
  // A hook keeps the plain fetch (and skips loading net_errors.ts): its errors become the
  // runner's fallback, not messages.
  if (!argv.includes("hook")) {
    const { explainFetch } = await import("./net_errors.ts");
    globalThis.fetch = explainFetch(globalThis.fetch);
  }
  try {
    Deno.exit(await main(argv));
  } catch (error) {
    const message = error instanceof ApiError
      ? `${error.code}: ${error.message}`
      : await describeError(error);
    fail(message);
  }
}

if (import.meta.main) await run(Deno.args);
