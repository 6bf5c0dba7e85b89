// The cold-start baseline: the smallest Deno.serve, on PORT (bench/cold_start.ts).
Deno.serve(
  { port: Number(Deno.env.get("PORT")), hostname: "127.0.0.1", onListen() {} },
  () => new Response(JSON.stringify({ hello: "world" }), { status: 200 }),
);
