// The memory floor of bench/approval.ts: a bare Deno.serve on PORT that holds every request
// open until its ?timeout= seconds pass (one timer each, as a long-poll has), then answers.
// GET /held tells how many it holds.
//   HOLD_QUERY=1: the floor with the database driver's share, what any long-poll that reads its
//   state once must carry: postgres.js (the functions' driver) with the same pool size
//   (DB_POOL_MAX) and a LISTEN connection, one `select 1` per request before it is held.
type Query = () => Promise<unknown>;
let query: Query | undefined;
if (Deno.env.get("HOLD_QUERY") === "1") {
  const { default: postgres } = await import("postgres");
  const sql = postgres(Deno.env.get("DATABASE_URL")!, {
    max: Number(Deno.env.get("DB_POOL_MAX") ?? 10),
    prepare: false,
    onnotice: () => {},
  });
  await sql.listen("approval_decided", () => {});
  query = () => sql`select 1`;
}
let held = 0;
const hold = (seconds: number) => {
  held++;
  return new Promise<Response>((resolve) => {
    setTimeout(() => {
      held--;
      resolve(new Response(JSON.stringify({ status: "PENDING" })));
    }, seconds * 1000);
  });
};
Deno.serve(
  { port: Number(Deno.env.get("PORT")), hostname: "127.0.0.1", onListen() {} },
  (req) => {
    const url = new URL(req.url);
    if (url.pathname === "/held") return new Response(String(held));
    const seconds = Number(url.searchParams.get("timeout") ?? "60");
    // the plain floor stays as it was: no async frame of its own per held request
    return query ? query().then(() => hold(seconds)) : hold(seconds);
  },
);
