// push-config (issue 17): what a web client needs to subscribe to Web Push, i.e. the VAPID
// public key to pass as `applicationServerKey`. No auth: the key is public. null when
// Web Push is not configured.
import { defineEndpoint, jsonResponse } from "../endpoint.ts";

export const pushConfig = defineEndpoint({
  name: "push-config",
  method: "GET",
  auth: "none",
  cors: true,
  handle(_ctx, deps) {
    return Promise.resolve(jsonResponse({
      vapid_public_key: deps.config.VAPID_PUBLIC_KEY?.replace(/=+$/, "") ?? null,
    }));
  },
});
