// What is signed is what is stored: a request body is refused when Postgres would store
// something other than what the client sent and signed. JSON.parse turns `1e309` into
// Infinity (stored as null), rounds integers above 2^53 and decimals past a double's
// precision, keeps lone surrogates that jsonb cannot hold, and hands an own `__proto__`
// key to code that drops it; text columns cannot hold NUL. Each of those is a 400 that
// names the field, before anything is written, instead of a timeline that silently
// differs from the request.
import { HttpError } from "./http_error.ts";

/** Nesting beyond this is left to the schema, which refuses it (JsonObject: 32 levels). */
const MAX_CHECKED_DEPTH = 64;
const LOSSY = Symbol("lossy number");

interface Problem {
  path: string;
  message: string;
}

/** The exact decimal value a JSON number's text denotes, normalised ("1.50e1" → "15"
 * and "15" alike). */
export function decimalValue(text: string): string {
  const m = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/.exec(text);
  if (!m) return text;
  const [, sign, whole, fraction = "", exponent = "0"] = m;
  let digits = whole + fraction;
  let point = Number(exponent) + whole.length;
  const leading = /^0*/.exec(digits)![0].length;
  digits = digits.slice(leading);
  point -= leading;
  digits = digits.replace(/0+$/, "");
  return digits === "" ? "0" : `${sign}0.${digits}e${point}`;
}

/** True when the double parsed from `source` denotes exactly the number written there. */
export function isExactNumber(source: string, value: number): boolean {
  if (!Number.isFinite(value)) return false;
  return decimalValue(source) === decimalValue(String(value).replace("e+", "e"));
}

function depthOf(value: unknown, depth = 0): number {
  if (value === null || typeof value !== "object" || depth > MAX_CHECKED_DEPTH) return depth;
  let max = depth + 1;
  for (const v of Object.values(value as Record<string, unknown>)) {
    max = Math.max(max, depthOf(v, depth + 1));
    if (max > MAX_CHECKED_DEPTH) break;
  }
  return max;
}

function textProblem(text: string): string | null {
  if (!text.isWellFormed()) return "contains a lone UTF-16 surrogate";
  if (text.includes("\u0000")) return "contains a NUL character";
  return null;
}

function find(value: unknown, path: string[]): Problem | null {
  const at = (message: string) => ({ path: path.join("."), message });
  if (value === LOSSY) return at("is a number that cannot be stored exactly as written");
  if (typeof value === "number" && !Number.isFinite(value)) {
    return at("is a number that cannot be stored exactly as written");
  }
  if (typeof value === "string") {
    const problem = textProblem(value);
    return problem ? at(problem) : null;
  }
  if (value === null || typeof value !== "object") return null;
  for (const key of Object.keys(value)) {
    const keyProblem = key === "__proto__"
      ? "is a __proto__ key"
      : textProblem(key)?.replace("contains", "has a key that contains");
    if (keyProblem) return { path: [...path, key].join("."), message: keyProblem };
    const found = find((value as Record<string, unknown>)[key], [...path, key]);
    if (found) return found;
  }
  return null;
}

/** The first place where `text` (valid JSON, already parsed as `parsed`) would not be
 * stored as written, or null. */
export function unfaithfulJson(text: string, parsed: unknown): Problem | null {
  if (depthOf(parsed) > MAX_CHECKED_DEPTH) return null;
  // The reviver sees each number's source text (JSON.parse source text access).
  const revived = JSON.parse(
    text,
    (_key, value, context?: { source?: string }) =>
      typeof value === "number" && context?.source !== undefined &&
        !isExactNumber(context.source, value)
        ? LOSSY
        : value,
  );
  return find(revived, []);
}

/** Refuses a body that would not be stored as sent: 400 invalid_request naming the field. */
export function assertFaithfulJson(raw: Uint8Array, parsed: unknown): void {
  const problem = unfaithfulJson(new TextDecoder().decode(raw), parsed);
  if (!problem) return;
  const where = problem.path === "" ? "the body" : problem.path;
  throw new HttpError(
    "invalid_request",
    `Invalid request: ${where} ${problem.message}, so it cannot be stored as sent`,
    { details: [{ path: problem.path, code: "unfaithful_json", message: problem.message }] },
  );
}
