// mobile-device (docs/contract/api.md#mobile-device): the phone updates one of its devices (a
// rotated push token, the provider, the name). Another user's device is not_found.
import { defineEndpoint, jsonResponse } from "../endpoint.ts";
import { callJson } from "../db.ts";

export const mobileDevice = defineEndpoint({
  name: "mobile-device",
  method: "POST",
  auth: "mobile",
  summary: "Update a device (rotated push token, name)",
  status: 200,
  response: "DeviceResponse",
  errors: ["not_found"],
  body: "MobileDeviceRequest",
  async handle(ctx, deps) {
    const device = await callJson(deps.sql, "private.update_device($1::uuid, $2::jsonb)", [
      ctx.user.id,
      ctx.body,
    ]);
    return jsonResponse(device);
  },
});
