// mobile-runs (issue 18, docs/web-api.md): recent runs of one of the user's workspaces, or
// of all of them, most recent activity first.
import { callJson } from "../db.ts";
import { defineEndpoint, jsonResponse } from "../endpoint.ts";

export const mobileRuns = defineEndpoint({
  name: "mobile-runs",
  method: "GET",
  auth: "mobile",
  summary: "Recent runs of one of your workspaces, or of all of them",
  status: 200,
  response: "MobileRunsResponse",
  errors: ["invalid_request", "not_found"],
  query: "MobileRunsQuery",
  async handle(ctx, deps) {
    const out = await callJson(deps.sql, "private.mobile_runs($1::uuid, $2::uuid, $3::integer)", [
      ctx.user.id,
      ctx.query.workspace_id ?? null,
      ctx.query.limit,
    ]);
    return jsonResponse(out);
  },
});
