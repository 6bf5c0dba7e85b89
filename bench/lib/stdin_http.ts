// The hook-latency baseline (bench/hook_latency.ts): the smallest hook a script on the same
// runtime can be: read stdin, send it in one HTTP request, print the answer.
const body = await new Response(Deno.stdin.readable).text();
const res = await fetch(Deno.env.get("BASELINE_URL")!, {
  method: "POST",
  headers: { "content-type": "application/json" },
  body,
});
console.log(await res.text());
