// Pairing: the code `agentops pair` prints, typed or scanned (camera, BarcodeDetector where the
// browser has it), or arriving in the QR code's link (#/pair?code=…&api=…). Turns push on when
// the browser allows it, so approvals reach this device.
import { useEffect, useRef, useState } from "preact/hooks";
import type { Ctx } from "./app.tsx";
import { normaliseCode, parsePairText } from "../../shared/pair_link.ts";
import { subscribe } from "./push.ts";
import { load, save } from "./store.ts";
import type { PairResult } from "./types.ts";
import { ErrorText } from "./ui.tsx";

interface BarcodeDetectorLike {
  detect(source: HTMLVideoElement): Promise<{ rawValue: string }[]>;
}
type BarcodeDetectorClass = new (options: { formats: string[] }) => BarcodeDetectorLike;

function defaultDeviceName(): string {
  const ua = navigator.userAgent;
  const os = /Android/.test(ua)
    ? "Android"
    : /iPhone|iPad/.test(ua)
    ? "iPhone"
    : /Mac/.test(ua)
    ? "Mac"
    : /Windows/.test(ua)
    ? "Windows"
    : "Linux";
  return `Web app on ${os}`;
}

export function PairPage({ ctx, params }: { ctx: Ctx; params: URLSearchParams }) {
  const linked = parsePairText(`#/pair?${params.toString()}`);
  const [code, setCode] = useState(linked?.code ?? "");
  const [otherApi, setOtherApi] = useState(
    linked?.api && linked.api !== ctx.config.functionsUrl ? linked.api : null,
  );
  const [name, setName] = useState(load("device_name") ?? defaultDeviceName());
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [paired, setPaired] = useState<PairResult | null>(null);
  const [scanning, setScanning] = useState(false);
  const Detector = (globalThis as { BarcodeDetector?: BarcodeDetectorClass }).BarcodeDetector;

  async function pair(event: Event) {
    event.preventDefault();
    setError(null);
    setNotice(null);
    const token = normaliseCode(code);
    if (!token) {
      setError(
        new Error("a pairing code is the 8 letters and digits `agentops pair` printed"),
      );
      return;
    }
    setBusy(true);
    try {
      const push = await subscribe(ctx.api).catch((e) => ({ problem: String(e) }));
      if ("problem" in push) {
        setNotice(`Notifications are not available here: ${push.problem}`);
      }
      const result = await ctx.api.post<PairResult>("pair-complete", {
        pair_token: token,
        platform: "web",
        ...("token" in push ? { push_token: push.token, push_provider: "webpush" } : {}),
        ...(ctx.deviceId ? { device_id: ctx.deviceId } : {}),
        device_name: name.trim() || defaultDeviceName(),
      });
      save("device_id", result.device_id);
      save("device_name", name.trim() || null);
      ctx.setDeviceId(result.device_id);
      ctx.report(null);
      setPaired(result);
      setCode("");
    } catch (e) {
      ctx.report(e);
      setError(e);
    } finally {
      setBusy(false);
    }
  }

  return (
    <section aria-labelledby="pair-title">
      <h2 id="pair-title">Pair with a project</h2>
      <p class="meta">
        In your project run{" "}
        <code>agentops pair</code>, then scan its QR code or type the code it prints.
      </p>
      {otherApi && (
        <div class="banner" role="status">
          <p>
            This code belongs to the backend at {otherApi}; this app uses {ctx.config.functionsUrl}.
          </p>
          <div class="row">
            <button
              type="button"
              onClick={() => {
                save("functions_url", otherApi);
                location.reload();
              }}
            >
              Switch to {otherApi}
            </button>
            <button type="button" onClick={() => setOtherApi(null)}>Keep this backend</button>
          </div>
        </div>
      )}
      {paired && (
        <p class="banner good" role="status" data-testid="paired">
          Paired with {paired.display_name}. Approvals from it now appear in the{" "}
          <a href="#/inbox">inbox</a>.
        </p>
      )}
      <form onSubmit={pair}>
        <label for="pair-code">Pairing code</label>
        <input
          id="pair-code"
          type="text"
          value={code}
          onInput={(e) => setCode(e.currentTarget.value)}
          autocomplete="off"
          autocapitalize="characters"
          spellcheck={false}
          maxLength={200}
          placeholder="e.g. 7KQ2M9XD"
          aria-describedby="pair-code-help"
        />
        <p id="pair-code-help" class="meta">8 letters and digits; case and spaces do not matter.</p>
        <label for="device-name">This device's name</label>
        <input
          id="device-name"
          type="text"
          value={name}
          maxLength={100}
          onInput={(e) => setName(e.currentTarget.value)}
        />
        <div class="row">
          <button type="submit" class="primary" disabled={busy}>
            {busy ? "Pairing…" : "Pair"}
          </button>
          {Detector && !scanning && (
            <button type="button" onClick={() => setScanning(true)}>Scan QR code</button>
          )}
        </div>
      </form>
      {notice && <p class="meta" role="status">{notice}</p>}
      <ErrorText error={error} />
      {scanning && Detector && (
        <Scanner
          Detector={Detector}
          onText={(text) => {
            const link = parsePairText(text);
            if (!link) return false;
            setCode(link.code);
            if (link.api && link.api !== ctx.config.functionsUrl) setOtherApi(link.api);
            setScanning(false);
            return true;
          }}
          onClose={(problem) => {
            setScanning(false);
            if (problem) setError(new Error(problem));
          }}
        />
      )}
    </section>
  );
}

function Scanner(
  { Detector, onText, onClose }: {
    Detector: BarcodeDetectorClass;
    onText(text: string): boolean;
    onClose(problem?: string): void;
  },
) {
  const video = useRef<HTMLVideoElement>(null);
  useEffect(() => {
    let stream: MediaStream | null = null;
    let stopped = false;
    (async () => {
      try {
        stream = await navigator.mediaDevices.getUserMedia({
          video: { facingMode: "environment" },
        });
        if (stopped || !video.current) return;
        video.current.srcObject = stream;
        await video.current.play();
        const detector = new Detector({ formats: ["qr_code"] });
        while (!stopped) {
          const codes = await detector.detect(video.current).catch(() => []);
          if (codes.some((c) => onText(c.rawValue))) return;
          await new Promise((r) => setTimeout(r, 250));
        }
      } catch (error) {
        onClose(`Cannot use the camera: ${(error as Error).message}. Type the code instead.`);
      }
    })();
    return () => {
      stopped = true;
      stream?.getTracks().forEach((t) => t.stop());
    };
  }, []);
  return (
    <div class="card">
      <video ref={video} aria-label="Camera view: point it at the QR code" muted playsInline />
      <button type="button" onClick={() => onClose()}>Stop scanning</button>
    </div>
  );
}
