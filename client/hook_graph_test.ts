// Issue 21: what Deno loads before a hook's first line. `deno run` resolves every import
// whose specifier is a literal, dynamic ones included, so a hook must reach the other
// commands' modules (and any npm package) only through client/lazy.ts.
import { assert, assertEquals } from "../tests/_helpers/assert.ts";

/** Every module Deno loads for cli.ts before running it: code imports, static and literal
 * dynamic ones, from the root (type-only imports are not loaded by `deno run`). */
async function upFrontGraph(): Promise<string[]> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", new URL("./cli.ts", import.meta.url).href],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert(out.success, new TextDecoder().decode(out.stderr));
  const info = JSON.parse(new TextDecoder().decode(out.stdout));
  const modules = new Map<string, { dependencies?: { code?: { specifier: string } }[] }>(
    info.modules.map((m: { specifier: string }) => [m.specifier, m]),
  );
  const seen = new Set<string>();
  const stack: string[] = [...info.roots];
  while (stack.length) {
    const specifier = stack.pop()!;
    if (seen.has(specifier)) continue;
    seen.add(specifier);
    for (const dep of modules.get(specifier)?.dependencies ?? []) {
      if (dep.code) stack.push(dep.code.specifier);
    }
  }
  return [...seen];
}

Deno.test("a hook's up-front module graph holds the hook path only: no npm package, no other command", async () => {
  const graph = await upFrontGraph();
  const local = graph.filter((s) => s.startsWith("file:")).map((s) =>
    s.slice(s.lastIndexOf("/", s.lastIndexOf("/") - 1) + 1)
  );
  assert(local.includes("client/runner.ts") && local.includes("client/sdk.ts"), local.join());
  assertEquals(graph.filter((s) => s.startsWith("npm:") || s.startsWith("node:")), []);
  for (const later of ["phone", "install", "doctor", "audit", "policy", "rules", "signing"]) {
    assertEquals(local.filter((f) => f.endsWith(`/${later}.ts`)), [], `${later}.ts`);
  }
});
