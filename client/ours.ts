// Recognises the hook entries `agentops install` wrote, whatever path or launcher wrote them:
// `deno run … cli.ts`, the `agentops` command, or the npm package's file run by node
// (`<node> …/dist/agentops.mjs`, client/launcher.ts).
const OURS =
  /(cli\.ts|agentops(\.mjs|\.cmd)?)["']?\s+hook\s+(claude-code|cursor|codex|gemini|copilot)\b/;

export function isOurs(command: unknown): boolean {
  return typeof command === "string" && OURS.test(command);
}
