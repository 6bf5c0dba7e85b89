// bridge-approval-request (docs/contract/api.md#bridge-approval-request): asks the phone to approve
// a command. One SQL call consumes the nonce, refuses with no_device or rate_limited, and writes
// the approval, its APPROVAL_REQUESTED event and its push rows; a request_key already used in
// the workspace answers 200 with the approval it made.
import { callJson } from "../db.ts";
import { defineEndpoint, jsonResponse } from "../endpoint.ts";
import { analyzeCommand } from "../command_analysis.ts";

/** SHA-256 hex of the working directory: the path itself is never stored. */
async function cwdHash(cwd: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(cwd));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

export const bridgeApprovalRequest = defineEndpoint({
  name: "bridge-approval-request",
  method: "POST",
  auth: "bridge",
  summary: "Ask the phone to approve a command",
  description:
    "command ≤ 8 KiB (UTF-8). The same request_key in the same workspace answers 200 with the approval it already made. No paired device: 409 no_device at once.",
  status: 201,
  response: "BridgeApprovalResponse",
  errors: ["conflict", "no_device", "rate_limited"],
  body: "BridgeApprovalRequest",
  async handle(ctx, deps) {
    const { cwd, ...rest } = ctx.body;
    const body = {
      ...rest,
      cwd_hash: await cwdHash(cwd),
      // a dangerous command's push asks the phone to unlock before its actions run
      requires_unlock: (await analyzeCommand(rest.command, { cwd })).risk ===
        "dangerous",
      remind_after_seconds: deps.config.APPROVAL_REMIND_AFTER_SECONDS ?? null,
    };
    const out = await callJson<{
      approval_id: string;
      status: string;
      expires_at: string;
      created: boolean;
    }>(
      deps.sql,
      "private.request_approval($1::uuid, $2::integer, $3::text, $4::jsonb, $5::integer)",
      [
        ctx.bridge.workspaceId,
        ctx.bridge.secretVersion,
        ctx.bridge.nonce,
        body,
        deps.config.RATE_LIMIT_APPROVALS_PER_MINUTE,
      ],
    );
    if (out.created) deps.push.deliverSoon();
    const { created, ...approval } = out;
    return jsonResponse(approval, created ? 201 : 200);
  },
});
