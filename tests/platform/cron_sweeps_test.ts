// The sweeps on the platform (issue 19, item 3), against stand-ins of pg_cron
// (cron.job, cron.schedule), pg_net (net.http_post) and Vault (vault.secrets,
// vault.decrypted_secrets, create_secret, update_secret) with Supabase's signatures:
// scripts/setup_cron.sql stores the URL and bearer secret in Vault and schedules both jobs;
// running the jobs' commands as pg_cron would posts to push-dispatch with that secret only
// when a row is due (and push-dispatch accepts the very request pg_net would send), and
// purges with EVENT_RETENTION_DAYS.
import type postgres from "postgres";
import { assert, assertEquals } from "../_helpers/assert.ts";
import { type Stack, startStack } from "../_helpers/stack.ts";
import { randomDevice, randomWorkspace } from "../_helpers/fixtures.ts";
import { enqueueApprovalPush, randomApproval, randomRun } from "../_helpers/push_fixtures.ts";

const DISPATCH_SECRET = "cron-dispatch-secret-0123456789abcdef";

function standIns(options: { seconds: boolean }): string {
  return `
  create schema cron;
  create table cron.job (jobid bigserial primary key, jobname text unique, schedule text,
                         command text, active boolean default true);
  create function cron.schedule(job_name text, schedule text, command text) returns bigint
  language plpgsql as $$
  declare v bigint;
  begin
    if ${options.seconds ? "false" : "true"} and schedule like '% seconds' then
      raise exception 'invalid schedule: %', schedule;
    end if;
    insert into cron.job (jobname, schedule, command) values (job_name, schedule, command)
    on conflict (jobname) do update set schedule = excluded.schedule, command = excluded.command
    returning jobid into v;
    return v;
  end $$;

  create schema net;
  create table net.calls (id bigserial primary key, url text, body jsonb, params jsonb,
                          headers jsonb, timeout_milliseconds integer);
  create function net.http_post(
    url text, body jsonb default '{}'::jsonb, params jsonb default '{}'::jsonb,
    headers jsonb default '{"Content-Type": "application/json"}'::jsonb,
    timeout_milliseconds integer default 5000
  ) returns bigint language sql as $$
    insert into net.calls (url, body, params, headers, timeout_milliseconds)
    values (url, body, params, headers, timeout_milliseconds) returning id
  $$;

  create schema vault;
  create table vault.secrets (id uuid primary key default gen_random_uuid(), name text unique,
                              description text not null default '', secret text not null);
  create view vault.decrypted_secrets as
    select id, name, description, secret, secret as decrypted_secret from vault.secrets;
  create function vault.create_secret(new_secret text, new_name text default null,
    new_description text default '', new_key_id uuid default null) returns uuid
  language sql as $$
    insert into vault.secrets (name, description, secret)
    values (new_name, new_description, new_secret) returning id
  $$;
  create function vault.update_secret(secret_id uuid, new_secret text default null,
    new_name text default null, new_description text default null,
    new_key_id uuid default null) returns void
  language sql as $$
    update vault.secrets set secret = coalesce(new_secret, secret),
      name = coalesce(new_name, name), description = coalesce(new_description, description)
    where id = secret_id
  $$;`;
}

/** scripts/setup_cron.sql with its EDIT values filled in; the `create extension` lines are
 * left out (the stand-ins are plain schemas, not extensions). */
async function setupScript(values: { url: string; secret: string; days: string }) {
  const text = await Deno.readTextFile(new URL("../../scripts/setup_cron.sql", import.meta.url));
  const edited = text
    .replace(/^create extension .*$/gm, "")
    .replace("https://<project-ref>.supabase.co/functions/v1", values.url)
    .replace("'<PUSH_DISPATCH_SECRET>'; -- EDIT", `'${values.secret}'; -- EDIT`)
    .replace("p_event_retention_days => null", `p_event_retention_days => ${values.days}`);
  assert(edited !== text && edited.includes(values.url) && edited.includes(values.secret));
  return edited;
}

async function jobs(
  sql: postgres.Sql,
): Promise<Record<string, { schedule: string; command: string }>> {
  const rows = await sql`select jobname, schedule, command from cron.job order by jobname`;
  return Object.fromEntries(
    rows.map((r) => [r.jobname, { schedule: r.schedule, command: r.command }]),
  );
}

/** What pg_cron does at a tick: run the job's command as SQL. */
async function runJob(sql: postgres.Sql, name: string) {
  const [job] = await sql`select command from cron.job where jobname = ${name}`;
  return await sql.unsafe(job.command);
}

async function stack(): Promise<Stack> {
  return await startStack({ env: { PUSH_DISPATCH_SECRET: DISPATCH_SECRET, LOG_LEVEL: "error" } });
}

Deno.test("setup_cron.sql stores the secrets in Vault and schedules push-dispatch and retention", async () => {
  const s = await stack();
  try {
    const sql = s.sql;
    await sql.unsafe(standIns({ seconds: true }));
    await sql.unsafe(
      await setupScript({ url: `${s.functionsUrl}/`, secret: DISPATCH_SECRET, days: "30" }),
    );
    assertEquals(await jobs(sql), {
      "agentops-push-dispatch": {
        schedule: "10 seconds",
        command: "select private.request_push_dispatch()",
      },
      "agentops-retention": {
        schedule: "*/10 * * * *",
        command: "select private.purge_expired(30)",
      },
    });

    // nothing due: the job asks pg_net for nothing
    await runJob(sql, "agentops-push-dispatch");
    assertEquals((await sql`select * from net.calls`).length, 0);

    // a due push: one POST to push-dispatch with the bearer secret from Vault
    const ws = await randomWorkspace(sql);
    await randomDevice(sql, { workspaceId: ws.workspaceId, pushToken: "fcm-token-cron" });
    const approvalId = await randomApproval(
      sql,
      ws.workspaceId,
      await randomRun(sql, ws.workspaceId),
    );
    assertEquals(await enqueueApprovalPush(sql, approvalId), 1);
    await runJob(sql, "agentops-push-dispatch");
    const calls = await sql`select * from net.calls`;
    assertEquals(calls.length, 1);
    assertEquals(calls[0].url, `${s.functionsUrl}/push-dispatch`);
    assertEquals(calls[0].headers.authorization, `Bearer ${DISPATCH_SECRET}`);
    assertEquals(calls[0].body, {});
    assert(calls[0].timeout_milliseconds > 5000, "waits for the sweep, not pg_net's 5 s default");

    // what pg_net would send is what push-dispatch accepts, and the row is delivered
    const res = await fetch(calls[0].url, {
      method: "POST",
      headers: calls[0].headers,
      body: JSON.stringify(calls[0].body),
    });
    assertEquals(res.status, 200, await res.clone().text());
    await res.body?.cancel();
    const [row] = await sql`select status from private.push_outbox
                            where workspace_id = ${ws.workspaceId}`;
    assertEquals(row.status, "sent");
    // and another secret is refused
    const forged = await fetch(calls[0].url, {
      method: "POST",
      headers: { ...calls[0].headers, authorization: "Bearer not-the-secret" },
      body: "{}",
    });
    assertEquals(forged.status, 401);
    await forged.body?.cancel();

    // retention: an old run (and its events) goes with EVENT_RETENTION_DAYS=30, a recent one
    // stays, expired nonces go either way
    const oldRun = await randomRun(sql, ws.workspaceId);
    const newRun = await randomRun(sql, ws.workspaceId);
    await sql`update public.runs set last_event_at = now() - interval '40 days' where id = ${oldRun}`;
    await sql`insert into private.bridge_nonces (workspace_id, nonce, expires_at)
              values (${ws.workspaceId}, 'expired-nonce', now() - interval '1 minute')`;
    const [{ purge_expired: purged }] = await runJob(sql, "agentops-retention");
    assert(purged.runs >= 1 && purged.nonces >= 1, JSON.stringify(purged));
    const left = await sql`select id from public.runs where id in (${oldRun}, ${newRun})`;
    assertEquals(left.map((r) => r.id), [newRun]);

    // run again with other values: the jobs and the secrets are updated, not duplicated
    await sql.unsafe(
      await setupScript({
        url: "https://example.supabase.co/functions/v1",
        secret: "rotated",
        days: "null",
      }),
    );
    assertEquals(
      (await jobs(sql))["agentops-retention"].command,
      "select private.purge_expired(null)",
    );
    const secrets =
      await sql`select name, decrypted_secret from vault.decrypted_secrets order by name`;
    assertEquals(secrets.map((r) => `${r.name}=${r.decrypted_secret}`), [
      "agentops_functions_url=https://example.supabase.co/functions/v1",
      "agentops_push_dispatch_secret=rotated",
    ]);
  } finally {
    await s.close();
  }
});

Deno.test("the push sweep runs every minute where pg_cron knows no second intervals", async () => {
  const s = await stack();
  try {
    await s.sql.unsafe(standIns({ seconds: false }));
    const [{ result }] = await s.sql`select private.install_platform_schedules(7) as result`;
    assertEquals(result["agentops-push-dispatch"], "* * * * *");
    assertEquals(
      (await jobs(s.sql))["agentops-retention"].command,
      "select private.purge_expired(7)",
    );
  } finally {
    await s.close();
  }
});

Deno.test("install_platform_schedules() is skipped without pg_cron and refuses a retention under a day", async () => {
  const s = await stack();
  try {
    const [{ result }] = await s.sql`select private.install_platform_schedules() as result`;
    assertEquals(result, { skipped: "pg_cron is not installed (cron.schedule is missing)" });
    let message = "";
    try {
      await s.sql`select private.install_platform_schedules(0)`;
    } catch (error) {
      message = (error as Error).message;
    }
    assert(/EVENT_RETENTION_DAYS must be at least 1/.test(message), message);
    // the script refuses to run with its placeholders left in
    let refused = "";
    try {
      const text = await Deno.readTextFile(
        new URL("../../scripts/setup_cron.sql", import.meta.url),
      );
      await s.sql.unsafe(standIns({ seconds: true }));
      await s.sql.unsafe(text.replace(/^create extension .*$/gm, ""));
    } catch (error) {
      refused = (error as Error).message;
    }
    assert(/edit the project URL and PUSH_DISPATCH_SECRET/.test(refused), refused);
  } finally {
    await s.close();
  }
});
