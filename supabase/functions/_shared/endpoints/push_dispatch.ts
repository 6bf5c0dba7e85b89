// push-dispatch: the outbox sweep on Supabase, called by pg_cron through pg_net (see the
// push migration). Auth "dispatch" (dispatch_auth.ts): the pipeline checks the bearer
// secret before this runs. Any body is ignored. Out 200: {attempted}.
import { defineEndpoint, jsonResponse } from "../endpoint.ts";

export const pushDispatch = defineEndpoint({
  name: "push-dispatch",
  method: "POST",
  auth: "dispatch",
  summary: "Deliver due push outbox rows (called by pg_cron + pg_net on Supabase)",
  description: "Authorization: Bearer <PUSH_DISPATCH_SECRET> (or the service role key); " +
    "anything else is 401. Any body is ignored.",
  status: 200,
  response: "PushDispatchResponse",
  errors: [],
  async handle(_ctx, deps) {
    return jsonResponse({ attempted: await deps.push.sweep() });
  },
});
