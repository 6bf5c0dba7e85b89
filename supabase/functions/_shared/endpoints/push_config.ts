// push-config (issue 17): what a web client needs to subscribe to Web Push, i.e. the VAPID
// public key to pass as `applicationServerKey`. No auth: the key is public. null when
// Web Push is not configured.
import { defineEndpoint, jsonResponse } from "../endpoint.ts";

export const pushConfig = defineEndpoint({
  name: "push-config",
  method: "GET",
  auth: "none",
  summary: "The VAPID public key a web client subscribes to Web Push with",
  description:
    "No auth. vapid_public_key is the applicationServerKey (base64url), null when Web Push is not configured.",
  status: 200,
  response: "PushConfigResponse",
  errors: [],
  cors: true,
  handle(_ctx, deps) {
    return Promise.resolve(jsonResponse({
      vapid_public_key: deps.config.VAPID_PUBLIC_KEY?.replace(/=+$/, "") ?? null,
    }));
  },
});
