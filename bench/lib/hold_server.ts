// The memory floor of bench/approval.ts: a bare Deno.serve on PORT that holds every request
// open until its ?timeout= seconds pass (one timer each, as a long-poll has), then answers.
// GET /held tells how many it holds.
let held = 0;
Deno.serve(
  { port: Number(Deno.env.get("PORT")), hostname: "127.0.0.1", onListen() {} },
  (req) => {
    const url = new URL(req.url);
    if (url.pathname === "/held") return new Response(String(held));
    const seconds = Number(url.searchParams.get("timeout") ?? "60");
    held++;
    return new Promise((resolve) => {
      setTimeout(() => {
        held--;
        resolve(new Response(JSON.stringify({ status: "PENDING" })));
      }, seconds * 1000);
    });
  },
);
