// Runs: the recent runs of every paired project, and one run's timeline, verified in the
// browser (the hash chain recomputed with Web Crypto; a broken chain is shown, never hidden),
// with a form that queues an instruction for the agent's next stop.
import { useEffect, useRef, useState } from "preact/hooks";
import type { ChainReport } from "../../shared/event_chain.ts";
import type { Ctx } from "./app.tsx";
import { describeEvent, verifiedPayload, verifyTimeline } from "./timeline.ts";
import type { Run, RunEvents, TimelineEvent } from "./types.ts";
import { ErrorText, shortId, timeAgo, useDeviceNames, useLoop } from "./ui.tsx";

export function RunsPage({ ctx }: { ctx: Ctx }) {
  const [runs, setRuns] = useState<Run[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  async function refresh() {
    setBusy(true);
    try {
      const out = await ctx.api.get<{ runs: Run[] }>("mobile-runs", { limit: 50 });
      setRuns(out.runs);
      setError(null);
      ctx.report(null);
    } catch (e) {
      ctx.report(e);
      setError(e);
    } finally {
      setBusy(false);
    }
  }

  useEffect(() => {
    refresh();
  }, []);
  const workspaceKey = [...new Set(runs?.map((r) => r.workspace_id))].join(",");
  useEffect(() => {
    if (!ctx.session.watch || !workspaceKey) return;
    return ctx.session.watch(workspaceKey.split(","), () => refresh());
  }, [workspaceKey]);

  return (
    <section aria-labelledby="runs-title">
      <div class="row">
        <h2 id="runs-title">Runs</h2>
        <button type="button" onClick={refresh} disabled={busy}>
          {busy ? "Refreshing…" : "Refresh"}
        </button>
      </div>
      <ErrorText error={error} />
      {runs?.length === 0 && <p class="meta">No runs yet in your paired projects.</p>}
      {runs?.map((run) => (
        <article class="card" key={run.run_id} aria-labelledby={`run-${run.run_id}`}>
          <h3 id={`run-${run.run_id}`}>
            <a href={`#/runs/${run.run_id}`}>
              {run.project_name} · {run.agent} · {shortId(run.run_id)}
            </a>
          </h3>
          <p class="meta">
            <span class={`badge st-${run.status}`}>{run.status}</span>{" "}
            {`${timeAgo(run.last_event_at)} · ${run.last_seq} events`}
            {run.pending_approvals > 0 && ` · ${run.pending_approvals} waiting for you`}
          </p>
          {run.last_message && <p>{run.last_message}</p>}
        </article>
      ))}
    </section>
  );
}

export function RunPage({ ctx, runId }: { ctx: Ctx; runId: string }) {
  const [head, setHead] = useState<RunEvents | null>(null);
  const [events, setEvents] = useState<TimelineEvent[]>([]);
  const [report, setReport] = useState<ChainReport | null>(null);
  const [error, setError] = useState<unknown>(null);
  const all = useRef<TimelineEvent[]>([]);
  const deviceName = useDeviceNames(ctx);

  useLoop(
    async (signal) => {
      const afterSeq = all.current.length ? all.current[all.current.length - 1].seq : 0;
      const page = await ctx.api.get<RunEvents>("mobile-run-events", {
        run_id: runId,
        after_seq: afterSeq,
        limit: 500,
        wait: afterSeq > 0 ? 25 : 0,
      }, signal);
      all.current = [...all.current, ...page.events];
      setHead(page);
      setEvents(all.current);
      setError(null);
      if (!page.has_more) setReport(await verifyTimeline(all.current, page));
    },
    (e) => {
      ctx.report(e);
      if (e) setError(e);
    },
    [runId],
  );

  const badSeq = report && !report.ok ? report.first_bad_seq : null;
  return (
    <section aria-labelledby="run-title">
      <p>
        <a href="#/runs">← All runs</a>
      </p>
      <h2 id="run-title">
        {head ? `${head.project_name} · run ${shortId(runId)}` : `Run ${shortId(runId)}`}
      </h2>
      {head && (
        <p class="meta">
          <span class={`badge st-${head.run_status}`}>{head.run_status}</span> {head.last_seq}{" "}
          events
        </p>
      )}
      <ErrorText error={error} />
      {report && report.ok && (
        <p class="banner good" role="status" data-testid="chain">
          Timeline verified: all {report.checked} events chain to the run's head
          {head?.last_hash ? ` (${head.last_hash.slice(0, 12)}…)` : ""}.
        </p>
      )}
      {report && !report.ok && (
        <p class="banner bad" role="alert" data-testid="chain">
          Timeline check failed at event {report.first_bad_seq ?? "?"}:{" "}
          {report.reason}. This timeline was altered after it was written; what follows that event
          cannot be trusted.
        </p>
      )}
      {head && head.run_status === "RUNNING" && <InstructionForm ctx={ctx} runId={runId} />}
      <ol class="timeline" aria-label="Timeline">
        {events.map((event) => (
          <li
            key={event.event_id}
            class={badSeq !== null && event.seq >= badSeq ? "altered" : ""}
            data-seq={event.seq}
          >
            <p class="meta">
              #{event.seq} · {new Date(event.event_ts).toLocaleString()}
              {badSeq === event.seq && <strong class="bad">&nbsp;(altered)</strong>}
            </p>
            <p>
              <strong>{event.type}</strong> {describeEvent(event, deviceName)}
            </p>
            <details>
              <summary>Payload</summary>
              <pre class="cmd">{JSON.stringify(verifiedPayload(event), null, 2)}</pre>
            </details>
          </li>
        ))}
      </ol>
    </section>
  );
}

function InstructionForm({ ctx, runId }: { ctx: Ctx; runId: string }) {
  const [text, setText] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [sent, setSent] = useState<string | null>(null);
  return (
    <form
      class="card"
      onSubmit={async (event) => {
        event.preventDefault();
        if (!text.trim()) return;
        setBusy(true);
        setError(null);
        try {
          await ctx.api.post(`mobile-run-instruction/${runId}`, { text: text.trim() });
          setSent(text.trim());
          setText("");
          ctx.report(null);
        } catch (e) {
          ctx.report(e);
          setError(e);
        } finally {
          setBusy(false);
        }
      }}
    >
      <label for="instruction">Instruction for the agent</label>
      <textarea
        id="instruction"
        value={text}
        maxLength={4000}
        onInput={(e) => setText(e.currentTarget.value)}
      />
      <div class="row">
        <button type="submit" class="primary" disabled={busy || !text.trim()}>
          {busy ? "Sending…" : "Send instruction"}
        </button>
      </div>
      {sent && <p role="status">Queued: the agent gets “{sent}” at its next stop.</p>}
      <ErrorText error={error} />
    </form>
  );
}
