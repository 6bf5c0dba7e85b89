// The inbox: pending approvals across every paired project, newest first, decided with an
// optional note; then the recent decisions and whether the agent has received them. Kept
// current by the inbox long-poll (GET mobile-inbox?wait=25&since=<cursor>), woken early by
// Realtime on a hosted project.
import { useEffect, useRef, useState } from "preact/hooks";
import type { Ctx } from "./app.tsx";
import type { Decision, Inbox, InboxItem } from "./types.ts";
import { CopyButton, ErrorText, shortId, timeAgo, useDeviceNames, useLoop } from "./ui.tsx";

const WAIT_SECONDS = 25;

export function InboxPage({ ctx }: { ctx: Ctx }) {
  const [inbox, setInbox] = useState<Inbox | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [skew, setSkew] = useState(0);
  const [now, setNow] = useState(Date.now());
  const cursor = useRef<string | null>(null);
  const deviceName = useDeviceNames(ctx);

  const loop = useLoop(
    async (signal) => {
      const query = cursor.current ? { wait: WAIT_SECONDS, since: cursor.current } : {};
      const next = await ctx.api.get<Inbox>("mobile-inbox", query, signal);
      setSkew(Date.parse(next.server_time) - Date.now());
      if (next.cursor !== cursor.current) setInbox(next);
      cursor.current = next.cursor;
      setError(null);
    },
    (e) => {
      ctx.report(e);
      if (e) setError(e);
    },
    [],
  );

  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, []);

  const workspaceKey = inbox?.workspace_ids.join(",") ?? "";
  useEffect(() => {
    if (!ctx.session.watch || !inbox) return;
    return ctx.session.watch(inbox.workspace_ids, () => loop.poke());
  }, [workspaceKey]);

  return (
    <section aria-labelledby="inbox-title">
      <h2 id="inbox-title">
        Inbox{inbox && inbox.pending.length > 0 ? ` (${inbox.pending.length} waiting)` : ""}
      </h2>
      <ErrorText error={error} />
      {!inbox && !error && <p role="status">Loading…</p>}
      {inbox && inbox.workspace_ids.length === 0 && (
        <p>
          No project is paired with this device yet. <a href="#/pair">Pair one</a>.
        </p>
      )}
      {inbox && inbox.workspace_ids.length > 0 && inbox.pending.length === 0 && (
        <p class="meta" data-testid="inbox-empty">Nothing is waiting for you.</p>
      )}
      {inbox?.pending.map((item) => (
        <PendingCard
          key={item.approval_id}
          ctx={ctx}
          item={item}
          now={now + skew}
          onDecided={() => loop.poke()}
        />
      ))}
      {inbox && inbox.recent.length > 0 && (
        <>
          <h2>Recent decisions</h2>
          {inbox.recent.map((item) => (
            <RecentCard key={item.approval_id} item={item} deviceName={deviceName} />
          ))}
        </>
      )}
    </section>
  );
}

function timeLeft(expiresAt: string, now: number): string {
  const s = Math.floor((Date.parse(expiresAt) - now) / 1000);
  if (s <= 0) return "expiring";
  if (s < 60) return `${s} s left`;
  return `${Math.floor(s / 60)} min ${s % 60} s left`;
}

const RISK_WORDS: Record<InboxItem["risk"], string> = {
  dangerous: "Dangerous",
  other: "Needs a look",
  read_only: "Read-only",
};

function PendingCard(
  { ctx, item, now, onDecided }: { ctx: Ctx; item: InboxItem; now: number; onDecided(): void },
) {
  const [note, setNote] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [decided, setDecided] = useState<Decision | null>(null);
  const [remember, setRemember] = useState<"" | "exact" | "prefix">("");
  const [prefix, setPrefix] = useState(item.command.trim().split(/\s+/).slice(0, 2).join(" "));
  const titleId = `approval-${item.approval_id}`;
  const noteId = `note-${item.approval_id}`;
  const rememberId = `remember-${item.approval_id}`;

  async function decide(decision: "APPROVE" | "DENY") {
    setBusy(true);
    setError(null);
    try {
      const result = await ctx.api.post<Decision>(
        `mobile-approval-decision/${item.approval_id}`,
        {
          decision,
          ...(note.trim() ? { note: note.trim() } : {}),
          ...(ctx.deviceId ? { device_id: ctx.deviceId } : {}),
          // a rule for this project, 24 h (the backend's default lifetime)
          ...(remember === "exact" ? { remember: { match: "exact" } } : {}),
          ...(remember === "prefix" && prefix.trim()
            ? { remember: { match: "prefix", prefix: prefix.trim() } }
            : {}),
        },
      );
      setDecided(result);
      ctx.report(null);
      onDecided();
    } catch (e) {
      ctx.report(e);
      setError(e);
      onDecided(); // re-read: someone else may have decided, or it expired
    } finally {
      setBusy(false);
    }
  }

  return (
    <article class="card" aria-labelledby={titleId} data-approval-id={item.approval_id}>
      <h3 id={titleId}>
        {item.project_name} · {item.agent ?? "agent"}
      </h3>
      <p class="meta">
        <span class={`badge risk-${item.risk}`}>{RISK_WORDS[item.risk]}</span> {item.risk_reason}
        {" "}
        · run <a href={`#/runs/${item.run_id}`}>{shortId(item.run_id)}</a> ·{" "}
        <span>{timeLeft(item.expires_at, now)}</span>
      </p>
      <pre class="cmd">{item.command}</pre>
      <div class="row">
        <CopyButton text={item.command} label={`Copy the command of ${item.project_name}`} />
      </div>
      {decided
        ? (
          <p class="banner" role="status">
            {decided.status === "APPROVED" ? "Approved" : "Denied"}; waiting for the agent to pick
            up your answer…
          </p>
        )
        : (
          <>
            <label for={noteId}>Note for the agent (optional)</label>
            <textarea
              id={noteId}
              value={note}
              maxLength={2000}
              onInput={(e) => setNote(e.currentTarget.value)}
            />
            <label for={rememberId}>Remember this answer for 24 h</label>
            <select
              id={rememberId}
              value={remember}
              onChange={(e) => setRemember(e.currentTarget.value as typeof remember)}
            >
              <option value="">No, ask me next time</option>
              <option value="exact">For this exact command</option>
              <option value="prefix">For commands starting with…</option>
            </select>
            {remember === "prefix" && (
              <>
                <label for={`${rememberId}-prefix`}>Starting with these words</label>
                <input
                  id={`${rememberId}-prefix`}
                  type="text"
                  value={prefix}
                  maxLength={2000}
                  onInput={(e) => setPrefix(e.currentTarget.value)}
                />
              </>
            )}
            {item.requires_unlock && (
              <p class="meta">Dangerous command: read it in full before you approve.</p>
            )}
            <div class="row">
              <button
                type="button"
                class="primary"
                disabled={busy}
                onClick={() => decide("APPROVE")}
              >
                Approve
              </button>
              <button type="button" class="danger" disabled={busy} onClick={() => decide("DENY")}>
                Deny
              </button>
            </div>
          </>
        )}
      <ErrorText error={error} />
    </article>
  );
}

function RecentCard(
  { item, deviceName }: { item: InboxItem; deviceName(id: string): string },
) {
  const by = item.decided_by_device_id === null
    ? ""
    : ` on ${deviceName(item.decided_by_device_id)}`;
  const delivery = item.status === "EXPIRED"
    ? "Expired before anyone decided."
    : item.delivered_at
    ? "The agent has your answer."
    : "Waiting for the agent to pick up the answer.";
  return (
    <article class="card" aria-label={`${item.status} ${item.project_name}`}>
      <p class="meta">
        <span class={`badge st-${item.status}`}>{item.status}</span> {item.project_name} ·{" "}
        {item.agent ?? "agent"} · {item.decided_at ? timeAgo(item.decided_at) : ""}
        {by}
      </p>
      <pre class="cmd">{item.command}</pre>
      {item.note && <p>Note: {item.note}</p>}
      <p class={item.delivered_at ? "good" : "meta"} data-testid="delivery">{delivery}</p>
    </article>
  );
}
