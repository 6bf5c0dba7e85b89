// mobile-unpair (docs/contract/api.md#mobile-unpair): the phone unpairs one of its devices from a
// workspace; the device's undelivered pushes for it are dropped. A device that is not the
// user's, or not paired there, is not_found.
import { defineEndpoint, jsonResponse } from "../endpoint.ts";
import { callJson } from "../db.ts";

export const mobileUnpair = defineEndpoint({
  name: "mobile-unpair",
  method: "POST",
  auth: "mobile",
  summary: "Unpair a device from a workspace",
  status: 200,
  response: "MobileUnpairResponse",
  errors: ["not_found"],
  body: "MobileUnpairRequest",
  async handle(ctx, deps) {
    const result = await callJson(
      deps.sql,
      "private.unpair_device($1::uuid, $2::uuid, $3::uuid)",
      [ctx.user.id, ctx.body.workspace_id, ctx.body.device_id],
    );
    ctx.log.info("device unpaired", {
      workspace_id: ctx.body.workspace_id,
      device_id: ctx.body.device_id,
    });
    return jsonResponse(result);
  },
});
