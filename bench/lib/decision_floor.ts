// The floor of bench/approval.ts's decision path: the least any implementation must do to
// get a decision from the phone to a parked hook runner, with nothing of ours in the way. A
// bare Deno.serve (on the bench's thread, as the functions are) that parks
// GET /bridge-approval-wait/<id> in a Map, and answers POST /mobile-approval-decision/<id>
// with ONE statement: a durable UPDATE of a one-table copy of the approval and
// pg_notify('floor_decided', id), committed together. A LISTEN connection hears the id and
// re-reads that row (a NOTIFY payload is never taken for the answer), then answers the parked
// request. No authentication, no hash chain, no outbox, no receipt. Same driver, same pool.
import postgres from "postgres";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export interface DecisionFloor {
  /** the base URL the bench's clients and phone call, as they call the functions */
  url: string;
  parked(): number;
  close(): Promise<void>;
}

export async function startDecisionFloor(
  databaseUrl: string,
  ids: readonly string[],
): Promise<DecisionFloor> {
  const sql = postgres(databaseUrl, { max: 10, prepare: false, onnotice: () => {} });
  await sql`create table if not exists bench_floor_approvals (
    id uuid primary key, status text not null default 'PENDING', note text, decided_at timestamptz)`;
  await sql`insert into bench_floor_approvals (id) select unnest(${ids as string[]}::uuid[])
            on conflict (id) do nothing`;
  const parked = new Map<string, (body: string) => void>();
  const listening = await sql.listen("floor_decided", async (id) => {
    const answer = parked.get(id);
    if (!answer || !UUID.test(id)) return;
    // the id in the text, as the waiter does: one round trip, not two (prepare: false)
    const [row] = await sql.unsafe(
      `select status, note from bench_floor_approvals where id = '${id}'`,
    );
    parked.delete(id);
    answer(JSON.stringify(row));
  });
  const json = { "content-type": "application/json" };
  const server = Deno.serve(
    { port: 0, hostname: "127.0.0.1", onListen() {} },
    async (req) => {
      const [, fn, id] = new URL(req.url).pathname.split("/");
      if (req.method === "GET" && fn === "bridge-approval-wait") {
        return await new Promise<Response>((resolve) =>
          parked.set(id, (body) => resolve(new Response(body, { headers: json })))
        );
      }
      if (req.method === "POST" && fn === "mobile-approval-decision" && UUID.test(id)) {
        const { note } = await req.json();
        await sql`with d as (
            update bench_floor_approvals set status = 'APPROVED', note = ${note ?? null},
              decided_at = now()
            where id = ${id}::uuid returning id)
          select pg_notify('floor_decided', id::text) from d`;
        return new Response(JSON.stringify({ status: "APPROVED" }), { headers: json });
      }
      return new Response("not found", { status: 404 });
    },
  );
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    parked: () => parked.size,
    async close() {
      for (const answer of parked.values()) answer(JSON.stringify({ status: "PENDING" }));
      parked.clear();
      await server.shutdown().catch(() => {});
      await listening.unlisten();
      await sql.end({ timeout: 1 });
    },
  };
}
