// import() for what only some commands need, out of the module graph Deno builds before a
// process runs its first line. Deno resolves every `import("literal")` up front, so the
// hook (started on every tool call of the agent) paid for the phone's supabase-js,
// postgres and zod (npm resolution) and a dozen modules it never runs: ~5–20 ms of each
// hook's wall time on this machine (bench/hook_latency.ts). Write
//   lazy<typeof import("./phone.ts")>(new URL("./phone.ts", import.meta.url))
// or, for a package, lazy<typeof import("qrcode-terminal")>("qrcode-terminal"): the types
// come from the `typeof import`, which `deno run` does not load. The npm build rewrites
// each call back into `import("./phone.ts")` (packages/agentops/build.mjs), so esbuild
// still makes a chunk of it.
export function lazy<T>(specifier: string | URL): Promise<T> {
  return import(typeof specifier === "string" ? specifier : specifier.href);
}
