// Devices: this device's name and push switch, the projects it is paired with (unpair), and
// the user's other devices.
import { useEffect, useState } from "preact/hooks";
import type { Ctx } from "./app.tsx";
import { currentSubscription, pushSupported, subscribe, unsubscribe } from "./push.ts";
import { ResetBackendButton } from "./pair_page.tsx";
import { save } from "./store.ts";
import type { Device, Workspaces } from "./types.ts";
import { ErrorText, shortId } from "./ui.tsx";

export function DevicesPage({ ctx }: { ctx: Ctx }) {
  const [data, setData] = useState<Workspaces | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [status, setStatus] = useState<string | null>(null);
  const [name, setName] = useState("");
  const [subscribed, setSubscribed] = useState<boolean | null>(null);
  const [confirming, setConfirming] = useState<string | null>(null);

  async function run(action: () => Promise<unknown>, done?: string) {
    setError(null);
    setStatus(null);
    try {
      await action();
      ctx.report(null);
      if (done) setStatus(done);
    } catch (e) {
      ctx.report(e);
      setError(e);
    }
  }

  async function refresh() {
    await run(async () => {
      const out = await ctx.api.get<Workspaces>("mobile-workspaces");
      setData(out);
      const me = out.devices.find((d) => d.device_id === ctx.deviceId);
      if (me) setName((old) => old || me.device_name || "");
    });
    setSubscribed(
      pushSupported() ? (await currentSubscription().catch(() => null)) !== null : false,
    );
  }

  useEffect(() => {
    refresh();
  }, []);

  const me: Device | undefined = data?.devices.find((d) => d.device_id === ctx.deviceId);
  const others = data?.devices.filter((d) => d.device_id !== ctx.deviceId) ?? [];
  const mine =
    data?.workspaces.filter((w) => w.devices.some((d) => d.device_id === ctx.deviceId)) ?? [];

  return (
    <section aria-labelledby="devices-title">
      <h2 id="devices-title">This device</h2>
      <ErrorText error={error} />
      {status && <p class="banner good" role="status">{status}</p>}
      {!ctx.deviceId && (
        <p>
          This browser is not paired yet. <a href="#/pair">Pair it with a project</a>.
        </p>
      )}
      {ctx.deviceId && (
        <div class="card">
          <form
            onSubmit={(event) => {
              event.preventDefault();
              run(async () => {
                await ctx.api.post("mobile-device", {
                  device_id: ctx.deviceId,
                  device_name: name.trim(),
                });
                save("device_name", name.trim());
                await refresh();
              }, "Name saved.");
            }}
          >
            <label for="this-device-name">Name</label>
            <input
              id="this-device-name"
              type="text"
              value={name}
              maxLength={100}
              onInput={(e) => setName(e.currentTarget.value)}
            />
            <div class="row">
              <button type="submit" disabled={!name.trim()}>Save name</button>
            </div>
          </form>
          <div class="row">
            <input
              id="push-switch"
              type="checkbox"
              role="switch"
              checked={subscribed === true && me?.has_push_token !== false}
              disabled={subscribed === null || !pushSupported()}
              onChange={(e) => {
                const on = e.currentTarget.checked;
                run(async () => {
                  if (on) {
                    const push = await subscribe(ctx.api);
                    if ("problem" in push) throw new Error(push.problem);
                    await ctx.api.post("mobile-device", {
                      device_id: ctx.deviceId,
                      push_token: push.token,
                      push_provider: "webpush",
                    });
                  } else {
                    await unsubscribe();
                  }
                  await refresh();
                }, on ? "Notifications on." : "Notifications off for this browser.");
              }}
            />
            <label for="push-switch" style="display:inline;margin:0">Push notifications</label>
          </div>
          {!pushSupported() && <p class="meta">This browser cannot receive Web Push.</p>}
          <p class="meta">Device id {ctx.deviceId}</p>
        </div>
      )}
      <h2>Paired projects</h2>
      {data && mine.length === 0 && (
        <p class="meta">
          None. <a href="#/pair">Pair one</a>.
        </p>
      )}
      {mine.map((w) => (
        <article class="card" key={w.workspace_id} aria-labelledby={`ws-${w.workspace_id}`}>
          <h3 id={`ws-${w.workspace_id}`}>{w.project_name}</h3>
          <p class="meta">
            {w.pending_approvals} waiting · last run{" "}
            {w.last_run_at ? new Date(w.last_run_at).toLocaleString() : "none yet"} · devices:{" "}
            {w.devices.map((d) =>
              d.device_name ?? shortId(d.device_id)
            ).join(", ")}
          </p>
          <div class="row">
            {confirming === w.workspace_id
              ? (
                <>
                  <button
                    type="button"
                    class="danger"
                    onClick={() =>
                      run(async () => {
                        await ctx.api.post("mobile-unpair", {
                          workspace_id: w.workspace_id,
                          device_id: ctx.deviceId,
                        });
                        setConfirming(null);
                        await refresh();
                      }, `Unpaired from ${w.project_name}.`)}
                  >
                    Yes, unpair {w.project_name}
                  </button>
                  <button
                    type="button"
                    onClick={() => setConfirming(null)}
                  >
                    Cancel
                  </button>
                </>
              )
              : (
                <button
                  type="button"
                  onClick={() => setConfirming(w.workspace_id)}
                >
                  Unpair {w.project_name}
                </button>
              )}
          </div>
        </article>
      ))}
      {others.length > 0 && (
        <>
          <h2>Your other devices</h2>
          <ul>
            {others.map((d) => (
              <li key={d.device_id}>
                {d.device_name ?? shortId(d.device_id)} ({d.platform}, push{" "}
                {d.has_push_token ? "on" : "off"})
              </li>
            ))}
          </ul>
        </>
      )}
      {ctx.session.keepWithEmail && <AccountSection ctx={ctx} />}
      <h2>Backend</h2>
      <p class="meta" data-testid="backend">
        {ctx.config.functionsUrl} · {ctx.config.fixed
          ? "set by this app's build"
          : ctx.config.chosen
          ? "chosen from a pairing link on this device"
          : "the local stack (this build names no backend)"}
      </p>
      {ctx.config.chosen && <ResetBackendButton />}
    </section>
  );
}

/** Hosted only: an anonymous account kept by linking an email (Supabase sends a link). */
function AccountSection({ ctx }: { ctx: Ctx }) {
  const [email, setEmail] = useState("");
  const [outcome, setOutcome] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  if (ctx.session.email) {
    return (
      <>
        <h2>Account</h2>
        <p class="meta">Kept with {ctx.session.email}.</p>
      </>
    );
  }
  return (
    <>
      <h2>Account</h2>
      <p class="meta">
        This browser signed in anonymously: clearing its data loses the account and its pairings.
        Link an email to keep them (the confirmation link arrives by email).
      </p>
      <ErrorText error={error} />
      {outcome && <p class="banner good" role="status">{outcome}</p>}
      <form
        onSubmit={async (e) => {
          e.preventDefault();
          setError(null);
          try {
            await ctx.session.keepWithEmail!(email.trim());
            setOutcome(`Check ${email.trim()} for the confirmation link.`);
          } catch (err) {
            setError(err);
          }
        }}
      >
        <label for="account-email">Email</label>
        <input
          id="account-email"
          type="email"
          required
          autocomplete="email"
          value={email}
          onInput={(e) => setEmail((e.target as HTMLInputElement).value)}
        />
        <button type="submit">Keep this account</button>
      </form>
    </>
  );
}
