// mobile-workspaces (issue 18, docs/web-api.md): the user's devices and the workspaces
// paired with them, each with the user's own devices there.
import { callJson } from "../db.ts";
import { defineEndpoint, jsonResponse } from "../endpoint.ts";

export const mobileWorkspaces = defineEndpoint({
  name: "mobile-workspaces",
  method: "GET",
  auth: "mobile",
  summary: "Your devices and the workspaces paired with them",
  status: 200,
  response: "MobileWorkspacesResponse",
  errors: [],
  async handle(ctx, deps) {
    return jsonResponse(
      await callJson(deps.sql, "private.mobile_workspaces($1::uuid)", [ctx.user.id]),
    );
  },
});
