// The load generator's own ceiling in bench/ingest.ts: a Deno.serve on PORT that reads the
// request body (so the keep-alive connection can be reused) and answers 202 at once.
Deno.serve(
  { port: Number(Deno.env.get("PORT")), hostname: "127.0.0.1", onListen() {} },
  async (req) => {
    await req.arrayBuffer();
    return new Response('{"ok":true}', {
      status: 202,
      headers: { "content-type": "application/json" },
    });
  },
);
