// Issue 21: a function's cold start loads only what its first response needs. valibot with
// the schemas and validate.ts (imported by the pipeline on the first request it validates;
// at start only where that first request is validated before any credential is checked),
// postgres.js (on the first query), jose (on the first token) and node:crypto (on the first
// HMAC) must not be in any function's static import graph: each of them alone costs a
// large share of the cold-start budget against a hello-world Deno.serve (valibot ~5 ms of
// ~10; the others more than all of it: bench/FINDINGS.md). zod is no dependency any more;
// it stays listed so that it cannot come back on the start path.
// Nor the push dispatcher with its providers' senders (deps.ts builds it on first use, ~3 ms),
// nor the command analyser (command_analysis.ts imports it on first use, ~1.5 ms).
import { assert, assertEquals } from "./_helpers/assert.ts";

// The validation: valibot, validate.ts and the schemas of the requests checked before any
// credential. Loaded at start only by the functions whose first request is validated before
// anything can refuse it (validate_at_start.ts): a dynamic import costs them ~3–8 ms of CPU more.
const VALIDATION = [
  /^npm:\/?valibot@/,
  /\/_shared\/validate\.ts$/,
  /\/shared\/public_request_schemas\.ts$/,
];
const VALIDATE_AT_START = ["pair-start", "push-decision"];

const DEFERRED = [
  ...VALIDATION,
  /^npm:\/?zod@/,
  /^npm:\/?postgres@/,
  /^npm:\/?jose@/,
  /^node:crypto$/,
  /\/shared\/api_schemas\.ts$/,
  /\/_shared\/push_dispatcher\.ts$/,
  /\/shared\/command_policy\.ts$/,
];

interface InfoModule {
  specifier: string;
  dependencies?: { code?: { specifier: string }; isDynamic?: boolean }[];
}

/** Every module a function's index.ts loads before it runs (static imports, no types). */
async function staticGraph(entry: string): Promise<string[]> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", entry],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert(out.success, new TextDecoder().decode(out.stderr));
  const info = JSON.parse(new TextDecoder().decode(out.stdout));
  const modules = new Map<string, InfoModule>(
    (info.modules as InfoModule[]).map((m) => [m.specifier, m]),
  );
  const seen = new Set<string>();
  const stack: string[] = info.roots;
  while (stack.length) {
    const specifier = stack.pop()!;
    if (seen.has(specifier)) continue;
    seen.add(specifier);
    for (const dep of modules.get(specifier)?.dependencies ?? []) {
      if (dep.code && !dep.isDynamic) stack.push(dep.code.specifier);
    }
  }
  return [...seen];
}

/** The function folders with an index.ts. */
function functionNames(): string[] {
  return [...Deno.readDirSync("supabase/functions")]
    .filter((e) => e.isDirectory && !e.name.startsWith("_"))
    .map((e) => e.name)
    .filter((name) => {
      try {
        return Deno.statSync(`./supabase/functions/${name}/index.ts`).isFile;
      } catch {
        return false;
      }
    });
}

Deno.test("no function imports valibot, the API schemas, postgres.js, jose, node:crypto or the push dispatcher at start", async () => {
  const functions = functionNames();
  assert(functions.length > 10, `only ${functions.length} functions found`);
  for (const name of functions) {
    const entry = `./supabase/functions/${name}/index.ts`;
    const graph = await staticGraph(entry);
    assert(graph.some((s) => s.endsWith("/_shared/endpoint.ts")), `${entry}: graph not read`);
    const allowed = VALIDATE_AT_START.includes(name) ? VALIDATION : [];
    const deferred = DEFERRED.filter((re) => !allowed.includes(re));
    assertEquals(graph.filter((s) => deferred.some((re) => re.test(s))), [], entry);
  }
});

Deno.test("only pair-start and push-decision load the validation at start, and only their schemas", async () => {
  const loading: string[] = [];
  for (const name of functionNames()) {
    const graph = await staticGraph(`./supabase/functions/${name}/index.ts`);
    const loaded = VALIDATION.filter((re) => graph.some((s) => re.test(s)));
    if (loaded.length) {
      assertEquals(loaded, VALIDATION, `${name} loads part of the validation`);
      loading.push(name);
    }
  }
  assertEquals(loading.sort(), VALIDATE_AT_START);
});

Deno.test("only bridge-approval-wait loads the waiters and their LISTEN client at start", async () => {
  // pair-status, mobile-inbox and mobile-run-events import them before their first park
  // (load_waiters.ts); bridge-approval-wait parks every PENDING answer.
  const PARKING = ["bridge-approval-wait"];
  const WAITERS = /\/_shared\/(waiters|approval_waiter|pairing_waiter|read_waiter|listener)\.ts$/;
  const loading: string[] = [];
  for (const name of functionNames()) {
    const entry = `./supabase/functions/${name}/index.ts`;
    if ((await staticGraph(entry)).some((s) => WAITERS.test(s))) loading.push(name);
  }
  assertEquals(loading.sort(), PARKING);
});

Deno.test("every endpoint that uses a waiter imports waiters.ts, or awaits loadWaiters()", () => {
  // deps.waiter/pairing/reads/listener throw in a function that never imported waiters.ts;
  // the tests serve every endpoint from one process, where some other endpoint imported it.
  // The lazy ones reach them only as `(await loadWaiters(deps)).reads`, which this passes.
  const dir = "supabase/functions/_shared/endpoints";
  const missing = [...Deno.readDirSync(dir)]
    .filter((e) => e.name.endsWith(".ts"))
    .filter((e) => {
      const source = Deno.readTextFileSync(`${dir}/${e.name}`);
      return /\bdeps\.(waiter|pairing|reads|listener)\b/.test(source) &&
        !source.includes('import "../waiters.ts";');
    })
    .map((e) => e.name);
  assertEquals(missing, []);
});
