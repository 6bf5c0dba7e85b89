// Issue 21: a function's cold start loads only what its first response needs. valibot with
// the schemas and validate.ts (imported by the pipeline on the first request it validates),
// postgres.js (on the first query), jose (on the first token) and node:crypto (on the first
// HMAC) must not be in any function's static import graph: each of them alone costs a
// large share of the cold-start budget against a hello-world Deno.serve (valibot ~5 ms of
// ~10; the others more than all of it: bench/FINDINGS.md). zod is no dependency any more;
// it stays listed so that it cannot come back on the start path.
// Nor the push dispatcher with its providers' senders (deps.ts builds it on first use, ~3 ms).
import { assert, assertEquals } from "./_helpers/assert.ts";

const DEFERRED = [
  /^npm:\/?zod@/,
  /^npm:\/?valibot@/,
  /\/_shared\/validate\.ts$/,
  /^npm:\/?postgres@/,
  /^npm:\/?jose@/,
  /^node:crypto$/,
  /\/shared\/api_schemas\.ts$/,
  /\/_shared\/push_dispatcher\.ts$/,
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

Deno.test("no function imports valibot, the API schemas, postgres.js, jose, node:crypto or the push dispatcher at start", async () => {
  const functions = [...Deno.readDirSync("supabase/functions")]
    .filter((e) => e.isDirectory && !e.name.startsWith("_"))
    .map((e) => `./supabase/functions/${e.name}/index.ts`)
    .filter((entry) => {
      try {
        return Deno.statSync(entry).isFile;
      } catch {
        return false;
      }
    });
  assert(functions.length > 10, `only ${functions.length} functions found`);
  for (const entry of functions) {
    const graph = await staticGraph(entry);
    assert(graph.some((s) => s.endsWith("/_shared/endpoint.ts")), `${entry}: graph not read`);
    assertEquals(graph.filter((s) => DEFERRED.some((re) => re.test(s))), [], entry);
  }
});

Deno.test("only the functions that park requests load the waiters and their LISTEN client", async () => {
  const PARKING = ["bridge-approval-wait", "mobile-inbox", "mobile-run-events", "pair-status"];
  const WAITERS = /\/_shared\/(waiters|approval_waiter|pairing_waiter|read_waiter|listener)\.ts$/;
  const loading: string[] = [];
  for (const e of Deno.readDirSync("supabase/functions")) {
    const entry = `./supabase/functions/${e.name}/index.ts`;
    if (!e.isDirectory || e.name.startsWith("_")) continue;
    try {
      Deno.statSync(entry);
    } catch {
      continue;
    }
    if ((await staticGraph(entry)).some((s) => WAITERS.test(s))) loading.push(e.name);
  }
  assertEquals(loading.sort(), PARKING);
});

Deno.test("every endpoint that uses a waiter imports waiters.ts, which builds them", () => {
  // deps.waiter/pairing/reads/listener throw in a function that never imported waiters.ts;
  // the tests serve every endpoint from one process, where some other endpoint imported it.
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
