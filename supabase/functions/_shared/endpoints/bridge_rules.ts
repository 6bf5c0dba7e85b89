// bridge-rules (issue 15): the workspace's active rules for the hook runner, with an ETag
// (the version: a hash of the active set). The runner polls every few seconds with
// If-None-Match and gets a bodiless 304 while nothing changed.
import { callJson } from "../db.ts";
import { defineEndpoint, jsonResponse } from "../endpoint.ts";

/** The version named by an If-None-Match header (`"v"`, `W/"v"`, or a list of them). */
function knownVersion(header: string | null): string | null {
  if (!header) return null;
  const first = header.split(",")[0].trim().replace(/^W\//, "");
  const version = first.replace(/^"(.*)"$/, "$1");
  return /^[0-9a-f]{32}$/.test(version) ? version : null;
}

export const bridgeRules = defineEndpoint({
  name: "bridge-rules",
  method: "GET",
  auth: "bridge",
  summary: "The workspace's active rules for the hook runner, with an ETag",
  description:
    "ETag is the quoted version (a hash of the active set, so an expiry changes it too); If-None-Match with it answers 304 without a body.",
  status: 200,
  response: "BridgeRulesResponse",
  errors: [],
  notModified: true,
  async handle(ctx, deps) {
    const out = await callJson<{ version: string; not_modified?: boolean; rules?: unknown[] }>(
      deps.sql,
      "private.bridge_rules($1::uuid, $2::integer, $3::text, $4::text)",
      [
        ctx.bridge.workspaceId,
        ctx.bridge.secretVersion,
        ctx.bridge.nonce,
        knownVersion(ctx.req.headers.get("if-none-match")),
      ],
    );
    const etag = `"${out.version}"`;
    if (out.not_modified) {
      return new Response(null, { status: 304, headers: { etag } });
    }
    return jsonResponse({ version: out.version, rules: out.rules }, 200, { etag });
  },
});
