// The `agentops` CLI: pair a project, run as the agents' hook, install the hooks, show
// status, verify a run's audit chain, and a stand-in phone. `deno run -A client/cli.ts`.
import { parseArgs } from "node:util";
import { type Agent, AGENTS } from "./hooks.ts";
import { runHook } from "./runner.ts";
import { install } from "./install.ts";
import { DEFAULT_POLICY, loadPolicy } from "./policy.ts";
import { AgentOpsClient, ApiError, pairStart } from "./sdk.ts";
import { EventQueue } from "./queue.ts";
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

const USAGE = `agentops — the AgentOps hook runner

  agentops pair [--name <display name>] [--no-qr]     pair this project with your phone
  agentops install claude-code|cursor|codex [--local] write the agent's hook configuration
  agentops hook claude-code|cursor|codex [--timeout s] run as the agent's hook (stdin → stdout)
  agentops status                                     credentials, policy, queue, devices
  agentops flush                                      deliver queued run events now
  agentops audit verify <run_id> [--database-url u]   recompute a run's hash chain
  agentops phone <pair|pending|approve|deny|instruct|runs|tail> …   a stand-in phone

Options: --project <dir> (default: $CLAUDE_PROJECT_DIR, else the current directory).
Environment: AGENTOPS_URL (default http://127.0.0.1:54321/functions/v1).`;

const PHONE_USAGE = `agentops phone — a stand-in phone (supabase-js, like the app)

  agentops phone pair <code> [--platform android|ios] [--push-token t] [--name n]
  agentops phone pending                      pending approvals
  agentops phone approve <approval_id> [--note text]
  agentops phone deny <approval_id> [--note text]
  agentops phone instruct <run_id> <text…>    queue an instruction for the agent
  agentops phone runs                         recent runs
  agentops phone tail <run_id> [--follow]     a run's timeline

Against the local stack it signs in with a dev token made from the local JWT secret
(SUPABASE_JWT_SECRET overrides); elsewhere set AGENTOPS_ACCESS_TOKEN.`;

function fail(message: string, code = 1): never {
  console.error(`agentops: ${message}`);
  Deno.exit(code);
}

function parseAgent(value: string | undefined): Agent {
  if (!value || !(AGENTS as readonly string[]).includes(value)) {
    fail(`name the agent: ${AGENTS.join(", ")}`, 2);
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

async function cmdHook(args: string[], project: string): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: { timeout: { type: "string" } },
    allowPositionals: true,
  });
  const agent = parseAgent(positionals[0]);
  const hostTimeout = values.timeout ? Number(values.timeout) : undefined;
  const raw = await readStdin(10_000);
  const result = await runHook(agent, raw, { project, hostTimeoutSeconds: hostTimeout });
  if (result.stdout) await writeAll(Deno.stdout, result.stdout + "\n");
  if (Deno.env.get("AGENTOPS_DEBUG")) console.error(`agentops: ${result.note}`);
  return result.exitCode;
}

async function writeAll(file: { write(p: Uint8Array): Promise<number> }, text: string) {
  const bytes = new TextEncoder().encode(text);
  let written = 0;
  while (written < bytes.length) written += await file.write(bytes.subarray(written));
}

async function cmdPair(args: string[], project: string): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      name: { type: "string" },
      "no-qr": { type: "boolean" },
      wait: { type: "string" },
    },
  });
  const url = backendUrl(null);
  const displayName = (values.name ?? (await Deno.realPath(project)).split("/").pop() ??
    "project").slice(0, 100);
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
  console.log(`Pairing "${displayName}" (workspace ${started.workspace_id})`);
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
  const until = Math.min(
    Date.parse(started.expires_at),
    Date.now() + Number(values.wait ?? 600) * 1000,
  );
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

async function cmdInstall(args: string[], project: string): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: { local: { type: "boolean" }, launcher: { type: "string" } },
    allowPositionals: true,
  });
  const agent = parseAgent(positionals[0]);
  const policy = await loadPolicy(policyPath(project));
  const path = await install(project, agent, {
    policy,
    launcher: values.launcher,
    claudeLocal: values.local,
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

async function cmdStatus(project: string): Promise<number> {
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
          ? "none paired"
          : status.devices.map((d) => `${d.device_name ?? d.platform} (since ${d.paired_at})`)
            .join(", ")
      }`,
    );
    return status.paired ? 0 : 1;
  } catch (error) {
    console.log(`Backend:   ${(error as Error).message}`);
    return 1;
  }
}

async function cmdFlush(project: string): Promise<number> {
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

async function cmdAudit(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: { "database-url": { type: "string" } },
    allowPositionals: true,
  });
  if (positionals[0] !== "verify" || !positionals[1]) {
    fail("usage: agentops audit verify <run_id>", 2);
  }
  const databaseUrl = values["database-url"] ?? Deno.env.get("AGENTOPS_DATABASE_URL") ??
    Deno.env.get("DATABASE_URL");
  if (!databaseUrl) {
    fail("set DATABASE_URL (or --database-url): the audit reads the run's events from Postgres", 2);
  }
  const { verifyRunFromDatabase } = await import("./audit.ts");
  const report = await verifyRunFromDatabase(databaseUrl, positionals[1]);
  console.log(JSON.stringify({ run_id: positionals[1], ...report }, null, 2));
  if (report.ok && report.checked === 0) console.error("agentops: the run has no events");
  return report.ok ? 0 : 1;
}

async function cmdPhone(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: {
      note: { type: "string" },
      device: { type: "string" },
      platform: { type: "string" },
      "push-token": { type: "string" },
      "push-provider": { type: "string" },
      name: { type: "string" },
      follow: { type: "boolean" },
      help: { type: "boolean" },
    },
    allowPositionals: true,
  });
  const [sub, ...rest] = positionals;
  if (!sub || values.help) {
    console.log(PHONE_USAGE);
    return sub ? 0 : 2;
  }
  const phoneMod = await import("./phone.ts");
  const phone = await phoneMod.connectPhone(backendUrl(null));
  const state = await phoneMod.loadPhoneState();
  switch (sub) {
    case "pair": {
      if (!rest[0]) fail("usage: agentops phone pair <code>", 2);
      const body: Record<string, unknown> = {
        pair_token: rest[0],
        platform: values.platform ?? "android",
        push_token: values["push-token"] ?? `agentops-phone-${state.user_id}`,
        device_name: values.name ?? "agentops phone",
      };
      if (values["push-provider"]) body.push_provider = values["push-provider"];
      if (state.device_id) body.device_id = state.device_id;
      const out = await phoneMod.invoke<
        { device_id: string; workspace_id: string; display_name: string }
      >(
        phone,
        "pair-complete",
        body,
      );
      await phoneMod.savePhoneState({ ...state, device_id: out.device_id });
      console.log(
        `Paired device ${out.device_id} with "${out.display_name}" (${out.workspace_id}).`,
      );
      return 0;
    }
    case "approve":
    case "deny": {
      if (!rest[0]) fail(`usage: agentops phone ${sub} <approval_id> [--note text]`, 2);
      const body: Record<string, unknown> = { decision: sub === "approve" ? "APPROVE" : "DENY" };
      if (values.note) body.note = values.note;
      if (values.device) body.device_id = values.device;
      const out = await phoneMod.invoke(phone, `mobile-approval-decision/${rest[0]}`, body);
      console.log(JSON.stringify(out, null, 2));
      return 0;
    }
    case "instruct": {
      if (!rest[0] || rest.length < 2) fail("usage: agentops phone instruct <run_id> <text…>", 2);
      const out = await phoneMod.invoke(phone, `mobile-run-instruction/${rest[0]}`, {
        text: rest.slice(1).join(" "),
      });
      console.log(JSON.stringify(out, null, 2));
      return 0;
    }
    case "pending":
    case "runs":
    case "tail": {
      const reader = phoneMod.readerFor(phone);
      try {
        if (sub === "pending") {
          const rows = await reader.pendingApprovals();
          if (rows.length === 0) console.log("No pending approvals.");
          for (const a of rows) {
            console.log(`${a.id}  expires ${new Date(a.expires_at).toISOString()}  ${a.command}`);
          }
        } else if (sub === "runs") {
          for (const r of await reader.runs()) {
            console.log(
              `${r.id}  ${r.status.padEnd(9)} ${r.provider.padEnd(11)} ${r.last_message ?? ""}`,
            );
          }
        } else {
          if (!rest[0]) fail("usage: agentops phone tail <run_id> [--follow]", 2);
          let after = 0;
          while (true) {
            for (const e of await reader.events(rest[0], after)) {
              console.log(phoneMod.formatEvent(e));
              after = e.seq;
            }
            if (!values.follow) break;
            await new Promise((r) => setTimeout(r, 1000));
          }
        }
      } finally {
        await reader.close();
      }
      return 0;
    }
    default:
      console.log(PHONE_USAGE);
      return 2;
  }
}

export async function main(argv: string[]): Promise<number> {
  const { values, positionals, tokens } = parseArgs({
    args: argv,
    options: { project: { type: "string" }, help: { type: "boolean", short: "h" } },
    allowPositionals: true,
    strict: false,
    tokens: true,
  });
  const command = positionals[0];
  if (!command || (values.help && !command)) {
    console.log(USAGE);
    return command ? 0 : 2;
  }
  // Everything after the command, minus the global --project option.
  const commandIndex = tokens!.find((t) => t.kind === "positional")!.index;
  const rest = argv.slice(commandIndex + 1).filter((arg, i, all) =>
    arg !== "--project" && all[i - 1] !== "--project" && !arg.startsWith("--project=")
  );
  const project = projectDir(typeof values.project === "string" ? values.project : undefined);
  switch (command) {
    case "hook":
      return await cmdHook(rest, project);
    case "pair":
      return await cmdPair(rest, project);
    case "install":
      return await cmdInstall(rest, project);
    case "status":
      return await cmdStatus(project);
    case "flush":
      return await cmdFlush(project);
    case "audit":
      return await cmdAudit(rest);
    case "phone":
      return await cmdPhone(rest);
    default:
      console.log(USAGE);
      return 2;
  }
}

/** Runs the CLI and exits with its code; an unexpected error is one line, no stack. */
export async function run(argv: string[]): Promise<never> {
  try {
    Deno.exit(await main(argv));
  } catch (error) {
    const message = error instanceof ApiError
      ? `${error.code}: ${error.message}`
      : (error as Error).message ?? String(error);
    fail(message);
  }
}

if (import.meta.main) await run(Deno.args);
