// Whether a command is dangerous enough that deciding it from the lock screen must require
// unlocking the device (push category AGENTOPS_APPROVAL_SECURE, data.requires_unlock).
// replaced by shared/command_policy.ts at merge: a small stand-in until the classifier lands.

const DANGEROUS_WORDS = new Set([
  "rm",
  "sudo",
  "su",
  "dd",
  "mkfs",
  "shred",
  "chmod",
  "chown",
  "kill",
  "killall",
  "pkill",
  "shutdown",
  "reboot",
]);
/** two-word commands whose second word makes them dangerous */
const DANGEROUS_PAIRS = new Set(["git push", "git reset", "git clean", "npm publish"]);

/** True when any part of `command` (split at `&&`, `||`, `;`, `|`, newlines) starts with a
 * dangerous program, after `env VAR=…` assignments and a leading path. */
export function isDangerousCommand(command: string): Promise<boolean> {
  for (const part of command.split(/&&|\|\||[;|\n]/)) {
    const words = part.trim().split(/\s+/).filter((w) => !/^[A-Za-z_][A-Za-z0-9_]*=/.test(w));
    if (words[0] === "env") words.shift();
    const first = (words[0] ?? "").replace(/^.*\//, "").replace(/^\(+/, "");
    if (!first) continue;
    if (DANGEROUS_WORDS.has(first)) return Promise.resolve(true);
    if (words[1] && DANGEROUS_PAIRS.has(`${first} ${words[1]}`)) return Promise.resolve(true);
  }
  return Promise.resolve(false);
}
