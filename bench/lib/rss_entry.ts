// Runs a server entry (argument 1, e.g. a function's index.ts) with a full garbage
// collection on SIGUSR2, so bench/approval.ts reads the RSS of what is held, not of garbage
// not yet collected. Started with --v8-flags=--expose-gc, the same for every side.
const gc = (globalThis as unknown as { gc?: () => void }).gc;
// After the GC, the process's memory as V8 sees it goes to RSS_REPORT (live heap vs what
// the process holds outside it: HTTP connections, code, committed but free pages).
Deno.addSignalListener("SIGUSR2", () => {
  for (let i = 0; i < 3; i++) gc?.();
  const report = Deno.env.get("RSS_REPORT");
  if (report) Deno.writeTextFileSync(report, JSON.stringify(Deno.memoryUsage()));
});
await import(new URL(Deno.args[0], `file://${Deno.cwd()}/`).href);
