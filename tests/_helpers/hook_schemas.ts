// Each agent's documented hook OUTPUT schema, as strict valibot objects: an answer with a field
// the agent does not document fails here, as it would in Codex (whose output structs deny
// unknown fields and whose hook answer is then discarded). Sources (docs/hooks.md):
// - Codex: openai/codex codex-rs/hooks/schema/generated/*.command.output.schema.json
//   (additionalProperties: false at every level);
// - Claude Code: code.claude.com/docs/en/hooks (common fields + hookSpecificOutput);
// - Cursor: cursor.com/docs/agent/hooks;
// - Gemini CLI: geminicli.com/docs/hooks/reference and packages/core/src/hooks/types.ts;
// - Copilot CLI: docs.github.com/en/copilot/reference/copilot-cli-reference/cli-hooks-reference.
import * as v from "valibot";

/** Fields every Claude-style (Claude Code, Codex) command hook may print. */
const claudeCommon = {
  continue: v.optional(v.boolean()),
  stopReason: v.optional(v.string()),
  suppressOutput: v.optional(v.boolean()),
  systemMessage: v.optional(v.string()),
};

const claudePreToolUse = v.strictObject({
  ...claudeCommon,
  hookSpecificOutput: v.optional(v.strictObject({
    hookEventName: v.literal("PreToolUse"),
    permissionDecision: v.optional(v.picklist(["allow", "deny", "ask"])),
    permissionDecisionReason: v.optional(v.string()),
    updatedInput: v.optional(v.record(v.string(), v.unknown())),
    additionalContext: v.optional(v.string()),
  })),
});

/** Claude Code PermissionRequest: `decision` is all there is (no additionalContext). */
const claudePermissionRequest = v.strictObject({
  ...claudeCommon,
  hookSpecificOutput: v.optional(v.strictObject({
    hookEventName: v.literal("PermissionRequest"),
    decision: v.strictObject({
      behavior: v.picklist(["allow", "deny"]),
      updatedInput: v.optional(v.record(v.string(), v.unknown())),
      updatedPermissions: v.optional(v.array(v.unknown())),
      message: v.optional(v.string()),
      interrupt: v.optional(v.boolean()),
    }),
  })),
});

const claudePostToolUse = v.strictObject({
  ...claudeCommon,
  decision: v.optional(v.literal("block")),
  reason: v.optional(v.string()),
  hookSpecificOutput: v.optional(v.strictObject({
    hookEventName: v.picklist(["PostToolUse", "PostToolUseFailure"]),
    additionalContext: v.optional(v.string()),
    updatedMCPToolOutput: v.optional(v.unknown()),
  })),
});

const claudeStop = v.pipe(
  v.strictObject({
    ...claudeCommon,
    decision: v.optional(v.literal("block")),
    reason: v.optional(v.string()),
  }),
  v.check((o) => o.decision !== "block" || /\S/.test(o.reason ?? ""), "block needs a reason"),
);

/** Codex: codex-rs/hooks/schema/generated/permission-request.command.output.schema.json. */
const codexPermissionRequest = v.strictObject({
  ...claudeCommon,
  hookSpecificOutput: v.optional(v.strictObject({
    hookEventName: v.picklist([
      "PreToolUse",
      "PermissionRequest",
      "PostToolUse",
      "SessionStart",
      "UserPromptSubmit",
      "Stop",
    ]),
    decision: v.optional(v.strictObject({
      behavior: v.picklist(["allow", "deny"]),
      message: v.optional(v.string()),
      // Codex fails closed when these are set: we never send them.
      interrupt: v.optional(v.literal(false)),
      addDirectories: v.optional(v.array(v.unknown())),
      updatedPermissions: v.optional(v.array(v.unknown())),
    })),
  })),
});

/** Codex: post-tool-use.command.output.schema.json. */
const codexPostToolUse = v.strictObject({
  ...claudeCommon,
  decision: v.optional(v.literal("block")),
  reason: v.optional(v.string()),
  hookSpecificOutput: v.optional(v.strictObject({
    hookEventName: v.literal("PostToolUse"),
    additionalContext: v.optional(v.string()),
    updatedMCPToolOutput: v.optional(v.unknown()),
    updatedToolOutput: v.optional(v.unknown()),
  })),
});

/** Codex: stop.command.output.schema.json (reason required and non-blank with block). */
const codexStop = claudeStop;

/** Cursor beforeShellExecution. */
const cursorBeforeShell = v.strictObject({
  permission: v.picklist(["allow", "deny", "ask"]),
  user_message: v.optional(v.string()),
  agent_message: v.optional(v.string()),
});
const cursorStop = v.strictObject({ followup_message: v.optional(v.string()) });
const cursorEmpty = v.strictObject({});

/** Gemini CLI: common output fields + the event's hookSpecificOutput. */
const geminiCommon = {
  continue: v.optional(v.boolean()),
  stopReason: v.optional(v.string()),
  suppressOutput: v.optional(v.boolean()),
  systemMessage: v.optional(v.string()),
  decision: v.optional(v.picklist(["allow", "deny", "block", "ask", "approve"])),
  reason: v.optional(v.string()),
};
const geminiBeforeTool = v.pipe(
  v.strictObject({
    ...geminiCommon,
    hookSpecificOutput: v.optional(v.strictObject({
      hookEventName: v.optional(v.literal("BeforeTool")),
      tool_input: v.optional(v.record(v.string(), v.unknown())),
    })),
  }),
  v.check(
    (o) => !(o.decision === "deny" || o.decision === "block") || !!o.reason,
    "deny needs a reason",
  ),
);
const geminiAfterTool = v.strictObject({
  ...geminiCommon,
  hookSpecificOutput: v.optional(v.strictObject({
    hookEventName: v.literal("AfterTool"),
    additionalContext: v.optional(v.string()),
    tailToolCallRequest: v.optional(v.strictObject({
      name: v.string(),
      args: v.record(v.string(), v.unknown()),
    })),
  })),
});
const geminiAfterAgent = v.pipe(
  v.strictObject({
    ...geminiCommon,
    hookSpecificOutput: v.optional(v.strictObject({ clearContext: v.optional(v.boolean()) })),
  }),
  v.check((o) => o.decision !== "deny" || !!o.reason, "deny needs a reason"),
);
const geminiAdvisory = v.strictObject({
  systemMessage: v.optional(v.string()),
  suppressOutput: v.optional(v.boolean()),
  hookSpecificOutput: v.optional(v.strictObject({ additionalContext: v.optional(v.string()) })),
});

/** Copilot CLI preToolUse / agentStop decision control. */
const copilotPreToolUse = v.pipe(
  v.strictObject({
    permissionDecision: v.picklist(["allow", "deny", "ask"]),
    permissionDecisionReason: v.optional(v.string()),
    modifiedArgs: v.optional(v.record(v.string(), v.unknown())),
  }),
  v.check(
    (o) => o.permissionDecision !== "deny" || !!o.permissionDecisionReason,
    "deny needs a reason",
  ),
);
const copilotAgentStop = v.strictObject({
  decision: v.optional(v.picklist(["block", "allow"])),
  reason: v.optional(v.string()),
});

const SCHEMAS: Record<string, Record<string, v.GenericSchema>> = {
  "claude-code": {
    PreToolUse: claudePreToolUse,
    PermissionRequest: claudePermissionRequest,
    PostToolUse: claudePostToolUse,
    PostToolUseFailure: claudePostToolUse,
    Stop: claudeStop,
    SessionStart: v.strictObject(claudeCommon),
    Notification: v.strictObject(claudeCommon),
    StopFailure: v.strictObject(claudeCommon),
    SessionEnd: v.strictObject(claudeCommon),
  },
  codex: {
    PermissionRequest: codexPermissionRequest,
    PostToolUse: codexPostToolUse,
    Stop: codexStop,
    SessionStart: v.strictObject(claudeCommon),
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
    sessionStart: v.strictObject({}),
    sessionEnd: v.strictObject({}),
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
  const parsed = v.safeParse(schema, json);
  if (!parsed.success) {
    throw new Error(
      `${agent} ${event}: answer breaks the documented schema: ${
        parsed.issues.map((i) => `${v.getDotPath(i) ?? ""}: ${i.message}`).join("; ")
      }\n${text}`,
    );
  }
  return json as Record<string, unknown>;
}
