// The phone's notes on approved commands, kept until a hook whose output the model reads
// hands them over (.agentops/notes/). An approval answer has no field for a note in most
// agents (Claude Code PermissionRequest, Codex, Gemini, Copilot), so the note waits here
// for the command's PostToolUse / AfterTool, or else the session's next stop.
import { sha256Hex } from "./digest.ts";
import { agentopsDir } from "./project.ts";

interface PendingNote {
  command: string;
  note: string;
  created_at: string;
}

function notesDir(project: string): string {
  return `${agentopsDir(project)}/notes`;
}

async function sessionPrefix(agent: string, session: string): Promise<string> {
  return (await sha256Hex(`${agent}\n${session}`)).slice(0, 24);
}

async function fileName(agent: string, session: string, command: string): Promise<string> {
  const commandHash = (await sha256Hex(command.trim())).slice(0, 24);
  return `${await sessionPrefix(agent, session)}-${commandHash}-${Date.now()}.json`;
}

/** Keeps a note for the command until a later hook of the session hands it over. */
export async function rememberNote(
  project: string,
  key: { agent: string; session: string; command: string },
  note: string,
): Promise<void> {
  const dir = notesDir(project);
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  const name = await fileName(key.agent, key.session, key.command);
  const body: PendingNote = {
    command: key.command,
    note,
    created_at: new Date().toISOString(),
  };
  const tmp = `${dir}/.${name}.tmp`;
  await Deno.writeTextFile(tmp, JSON.stringify(body), { mode: 0o600 });
  await Deno.rename(tmp, `${dir}/${name}`);
}

/** Claims the session's notes (only those for `command` when given), oldest first. A note
 * is claimed by renaming it away first, so two hooks never both hand one over. */
export async function takeNotes(
  project: string,
  key: { agent: string; session: string; command?: string },
): Promise<PendingNote[]> {
  const dir = notesDir(project);
  let prefix = `${await sessionPrefix(key.agent, key.session)}-`;
  if (key.command !== undefined) {
    prefix += `${(await sha256Hex(key.command.trim())).slice(0, 24)}-`;
  }
  const names: string[] = [];
  try {
    for await (const entry of Deno.readDir(dir)) {
      if (entry.isFile && entry.name.startsWith(prefix) && entry.name.endsWith(".json")) {
        names.push(entry.name);
      }
    }
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return [];
    throw error;
  }
  const notes: PendingNote[] = [];
  for (const name of names.sort((a, b) => stamp(a) - stamp(b))) {
    const claimed = `${dir}/.${name}.${crypto.randomUUID()}.claimed`;
    try {
      await Deno.rename(`${dir}/${name}`, claimed);
    } catch {
      continue; // another hook took it
    }
    try {
      notes.push(JSON.parse(await Deno.readTextFile(claimed)));
    } catch { /* unreadable: dropped */ }
    await Deno.remove(claimed).catch(() => {});
  }
  return notes;
}

function stamp(name: string): number {
  return Number(name.slice(0, -5).split("-").pop()) || 0;
}
