// Each agent's documented hook OUTPUT schema, as strict zod objects: an answer with a field
// the agent does not document fails here, as it would in Codex (whose output structs deny
// unknown fields and whose hook answer is then discarded). Sources (docs/hooks.md):
// - Codex: openai/codex codex-rs/hooks/schema/generated/*.command.output.schema.json
//   (additionalProperties: false at every level);
// - Claude Code: code.claude.com/docs/en/hooks (common fields + hookSpecificOutput);
// - Cursor: cursor.com/docs/agent/hooks;
// - Gemini CLI: geminicli.com/docs/hooks/reference and packages/core/src/hooks/types.ts;
// - Copilot CLI: docs.github.com/en/copilot/reference/copilot-cli-reference/cli-hooks-reference.
import { z } from "zod";

/** Fields every Claude-style (Claude Code, Codex) command hook may print. */
const claudeCommon = {
  continue: z.boolean().optional(),
  stopReason: z.string().optional(),
  suppressOutput: z.boolean().optional(),
  systemMessage: z.string().optional(),
};

const claudePreToolUse = z.strictObject({
  ...claudeCommon,
  hookSpecificOutput: z.strictObject({
    hookEventName: z.literal("PreToolUse"),
    permissionDecision: z.enum(["allow", "deny", "ask"]).optional(),
    permissionDecisionReason: z.string().optional(),
    updatedInput: z.record(z.string(), z.unknown()).optional(),
    additionalContext: z.string().optional(),
  }).optional(),
});

/** Claude Code PermissionRequest: `decision` is all there is (no additionalContext). */
const claudePermissionRequest = z.strictObject({
  ...claudeCommon,
  hookSpecificOutput: z.strictObject({
    hookEventName: z.literal("PermissionRequest"),
    decision: z.strictObject({
      behavior: z.enum(["allow", "deny"]),
      updatedInput: z.record(z.string(), z.unknown()).optional(),
      updatedPermissions: z.array(z.unknown()).optional(),
      message: z.string().optional(),
      interrupt: z.boolean().optional(),
    }),
  }).optional(),
});

const claudePostToolUse = z.strictObject({
  ...claudeCommon,
  decision: z.literal("block").optional(),
  reason: z.string().optional(),
  hookSpecificOutput: z.strictObject({
    hookEventName: z.enum(["PostToolUse", "PostToolUseFailure"]),
    additionalContext: z.string().optional(),
    updatedMCPToolOutput: z.unknown().optional(),
  }).optional(),
});

const claudeStop = z.strictObject({
  ...claudeCommon,
  decision: z.literal("block").optional(),
  reason: z.string().optional(),
}).refine((o) => o.decision !== "block" || /\S/.test(o.reason ?? ""), "block needs a reason");

/** Codex: codex-rs/hooks/schema/generated/permission-request.command.output.schema.json. */
const codexPermissionRequest = z.strictObject({
  ...claudeCommon,
  hookSpecificOutput: z.strictObject({
    hookEventName: z.enum([
      "PreToolUse",
      "PermissionRequest",
      "PostToolUse",
      "SessionStart",
      "UserPromptSubmit",
      "Stop",
    ]),
    decision: z.strictObject({
      behavior: z.enum(["allow", "deny"]),
      message: z.string().optional(),
      // Codex fails closed when these are set: we never send them.
      interrupt: z.literal(false).optional(),
      addDirectories: z.array(z.unknown()).optional(),
      updatedPermissions: z.array(z.unknown()).optional(),
    }).optional(),
  }).optional(),
});

/** Codex: post-tool-use.command.output.schema.json. */
const codexPostToolUse = z.strictObject({
  ...claudeCommon,
  decision: z.literal("block").optional(),
  reason: z.string().optional(),
  hookSpecificOutput: z.strictObject({
    hookEventName: z.literal("PostToolUse"),
    additionalContext: z.string().optional(),
    updatedMCPToolOutput: z.unknown().optional(),
    updatedToolOutput: z.unknown().optional(),
  }).optional(),
});

/** Codex: stop.command.output.schema.json (reason required and non-blank with block). */
const codexStop = claudeStop;

/** Cursor beforeShellExecution. */
const cursorBeforeShell = z.strictObject({
  permission: z.enum(["allow", "deny", "ask"]),
  user_message: z.string().optional(),
  agent_message: z.string().optional(),
});
const cursorStop = z.strictObject({ followup_message: z.string().optional() });
const cursorEmpty = z.strictObject({});

/** Gemini CLI: common output fields + the event's hookSpecificOutput. */
const geminiCommon = {
  continue: z.boolean().optional(),
  stopReason: z.string().optional(),
  suppressOutput: z.boolean().optional(),
  systemMessage: z.string().optional(),
  decision: z.enum(["allow", "deny", "block", "ask", "approve"]).optional(),
  reason: z.string().optional(),
};
const geminiBeforeTool = z.strictObject({
  ...geminiCommon,
  hookSpecificOutput: z.strictObject({
    hookEventName: z.literal("BeforeTool").optional(),
    tool_input: z.record(z.string(), z.unknown()).optional(),
  }).optional(),
}).refine(
  (o) => !(o.decision === "deny" || o.decision === "block") || !!o.reason,
  "deny needs a reason",
);
const geminiAfterTool = z.strictObject({
  ...geminiCommon,
  hookSpecificOutput: z.strictObject({
    hookEventName: z.literal("AfterTool"),
    additionalContext: z.string().optional(),
    tailToolCallRequest: z.strictObject({
      name: z.string(),
      args: z.record(z.string(), z.unknown()),
    })
      .optional(),
  }).optional(),
});
const geminiAfterAgent = z.strictObject({
  ...geminiCommon,
  hookSpecificOutput: z.strictObject({ clearContext: z.boolean().optional() }).optional(),
}).refine((o) => o.decision !== "deny" || !!o.reason, "deny needs a reason");
const geminiAdvisory = z.strictObject({
  systemMessage: z.string().optional(),
  suppressOutput: z.boolean().optional(),
  hookSpecificOutput: z.strictObject({ additionalContext: z.string().optional() }).optional(),
});

/** Copilot CLI preToolUse / agentStop decision control. */
const copilotPreToolUse = z.strictObject({
  permissionDecision: z.enum(["allow", "deny", "ask"]),
  permissionDecisionReason: z.string().optional(),
  modifiedArgs: z.record(z.string(), z.unknown()).optional(),
}).refine(
  (o) => o.permissionDecision !== "deny" || !!o.permissionDecisionReason,
  "deny needs a reason",
);
const copilotAgentStop = z.strictObject({
  decision: z.enum(["block", "allow"]).optional(),
  reason: z.string().optional(),
});

const SCHEMAS: Record<string, Record<string, z.ZodType>> = {
  "claude-code": {
    PreToolUse: claudePreToolUse,
    PermissionRequest: claudePermissionRequest,
    PostToolUse: claudePostToolUse,
    PostToolUseFailure: claudePostToolUse,
    Stop: claudeStop,
    SessionStart: z.strictObject(claudeCommon),
    Notification: z.strictObject(claudeCommon),
    StopFailure: z.strictObject(claudeCommon),
    SessionEnd: z.strictObject(claudeCommon),
  },
  codex: {
    PermissionRequest: codexPermissionRequest,
    PostToolUse: codexPostToolUse,
    Stop: codexStop,
    SessionStart: z.strictObject(claudeCommon),
  },
  cursor: {
    beforeShellExecution: cursorBeforeShell,
    stop: cursorStop,
    afterShellExecution: cursorEmpty,
    sessionStart: cursorEmpty,
    sessionEnd: cursorEmpty,
  },
  gemini: {
    BeforeTool: geminiBeforeTool,
    AfterTool: geminiAfterTool,
    AfterAgent: geminiAfterAgent,
    SessionStart: geminiAdvisory,
    SessionEnd: geminiAdvisory,
  },
  copilot: {
    preToolUse: copilotPreToolUse,
    agentStop: copilotAgentStop,
    sessionStart: z.strictObject({}),
    sessionEnd: z.strictObject({}),
  },
};

/** Parses a hook's stdout against the agent's documented schema for the event. Empty
 * stdout is "no opinion", valid everywhere; anything else must be one JSON object that
 * the schema accepts. Returns the parsed object (or null for empty output). */
export function assertHookOutput(
  agent: string,
  event: string,
  stdout: string,
): Record<string, unknown> | null {
  const schema = SCHEMAS[agent]?.[event];
  if (!schema) throw new Error(`no documented output schema for ${agent} ${event}`);
  const text = stdout.trim();
  if (text === "") return null;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error(`${agent} ${event}: stdout is not one JSON object: ${text.slice(0, 200)}`);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    throw new Error(
      `${agent} ${event}: answer breaks the documented schema: ${
        parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")
      }\n${text}`,
    );
  }
  return json as Record<string, unknown>;
}
