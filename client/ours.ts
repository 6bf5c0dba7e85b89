// Recognises the hook entries `agentops install` wrote, whatever path or launcher wrote them.
const OURS = /(cli\.ts|agentops)["']?\s+hook\s+(claude-code|cursor|codex|gemini|copilot)\b/;

export function isOurs(command: unknown): boolean {
  return typeof command === "string" && OURS.test(command);
}
