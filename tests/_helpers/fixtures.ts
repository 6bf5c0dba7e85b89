// random*() factories for tests: rows written straight into the test database, so a test
// of one capability does not depend on another's endpoints.
import type postgres from "postgres";
import { deriveBridgeSecret } from "../../shared/signing.ts";
import { TEST_HMAC_SECRET } from "./stack.ts";

export interface TestWorkspace {
  workspaceId: string;
  secret: string;
  displayName: string;
}

/** A workspace with its derived bridge secret (as pair-start would make). */
export async function randomWorkspace(
  sql: postgres.Sql,
  options: { displayName?: string; hmacSecret?: string } = {},
): Promise<TestWorkspace> {
  const displayName = options.displayName ?? `Project ${crypto.randomUUID().slice(0, 6)}`;
  const [row] = await sql`
    with w as (
      insert into public.workspaces (display_name) values (${displayName}) returning id
    )
    insert into private.workspace_keys (workspace_id, machine_id, project_fingerprint)
    select w.id, ${crypto.randomUUID()}, ${crypto.randomUUID()} from w
    returning workspace_id as id, secret_version`;
  const secret = await deriveBridgeSecret(
    options.hmacSecret ?? TEST_HMAC_SECRET,
    row.id,
    row.secret_version,
  );
  return { workspaceId: row.id, secret, displayName };
}

export interface TestDevice {
  deviceId: string;
  userId: string;
}

/** A device of userId (a new user when not given), paired with workspaceId when given. */
export async function randomDevice(
  sql: postgres.Sql,
  options: {
    userId?: string;
    workspaceId?: string;
    platform?: "ios" | "android" | "web";
    pushProvider?: "fcm" | "apns" | "webpush";
    pushToken?: string | null;
  } = {},
): Promise<TestDevice> {
  const userId = options.userId ?? crypto.randomUUID();
  const [row] = await sql`
    insert into public.devices (user_id, platform, push_provider, push_token, push_token_updated_at, device_name)
    values (${userId}, ${options.platform ?? "android"}, ${options.pushProvider ?? "fcm"},
            ${options.pushToken === undefined ? `tok-${crypto.randomUUID()}` : options.pushToken},
            now(), 'Test phone')
    returning id`;
  if (options.workspaceId) {
    await sql`insert into public.workspace_devices (workspace_id, device_id)
              values (${options.workspaceId}, ${row.id})`;
  }
  return { deviceId: row.id, userId };
}
