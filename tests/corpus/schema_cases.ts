// Bad-input cases generated from a valibot schema (through its JSON Schema, the one
// docs/openapi.json shows: scripts/json_schema.ts):
// for each field of a valid body, the field missing, of the wrong type, null, too short,
// too long (ASCII and multi-byte), out of range, outside its enum, not matching its
// pattern or format (with SQL-looking and unicode look-alike strings), plus an unknown
// extra field and non-object roots. Each case must be refused with 400 invalid_request.
import * as v from "valibot";
import { toJsonSchema } from "../../scripts/json_schema.ts";

export interface BodyCase {
  label: string;
  body: unknown;
}

interface Prop {
  type?: string;
  format?: string;
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  enum?: unknown[];
  const?: unknown;
  default?: unknown;
}

const SQLISH = [
  "' OR '1'='1",
  "'; drop table public.events; --",
  "1; select pg_sleep(10)",
  "$$; delete from private.bridge_nonces; $$",
];
const UNICODE = ["ⅮⅭ０１", "\u202etxt.exe", "😀😀😀", "x\u0000y"];

function deep(levels: number): Record<string, unknown> {
  let v: Record<string, unknown> = { leaf: true };
  for (let i = 0; i < levels; i++) v = { n: v };
  return v;
}

/** Values that a property of this JSON Schema must refuse. */
export function invalidValues(prop: Prop): BodyCase[] {
  const out: BodyCase[] = [{ label: "null", body: null }];
  const type = prop.type ?? (prop.const !== undefined ? typeof prop.const : undefined);
  if (type === "string") {
    out.push({ label: "a number", body: 42 }, { label: "a boolean", body: true });
    out.push({ label: "an array", body: ["x"] }, { label: "an object", body: { x: 1 } });
    if ((prop.minLength ?? 0) > 0) out.push({ label: "empty", body: "" });
    if (prop.maxLength !== undefined) {
      out.push({
        label: `${prop.maxLength + 1} ASCII chars`,
        body: "x".repeat(prop.maxLength + 1),
      });
      out.push({ label: `${prop.maxLength + 1} emoji`, body: "😀".repeat(prop.maxLength + 1) });
    }
    if (prop.enum) {
      out.push({ label: "outside the enum", body: "bogus" });
      out.push({ label: "SQL-looking, outside the enum", body: SQLISH[0] });
      const first = String(prop.enum[0]);
      const flipped = first === first.toUpperCase() ? first.toLowerCase() : first.toUpperCase();
      out.push({ label: "the enum in the wrong case", body: flipped });
    }
    if (prop.const !== undefined) out.push({ label: "not the constant", body: `${prop.const}x` });
    if (prop.format === "uuid") {
      out.push({ label: "not a UUID", body: "not-a-uuid" });
      out.push({ label: "a UUID with a suffix", body: "3f2b8c1e-9d4a-4c6b-8e2f-1a2b3c4d5e6fx" });
      out.push({ label: "a UUID with a bad digit", body: "3f2b8c1e-9d4a-4c6b-8e2f-1a2b3c4d5e6g" });
      out.push({ label: "full-width digits", body: "３f2b8c1e-9d4a-4c6b-8e2f-1a2b3c4d5e6f" });
      for (const s of SQLISH) out.push({ label: `SQL-looking ${JSON.stringify(s)}`, body: s });
    } else if (prop.format === "date-time") {
      out.push({ label: "not a date", body: "yesterday" });
      out.push({ label: "Feb 30", body: "2026-02-30T00:00:00Z" });
      out.push({ label: "no offset", body: "2026-01-01T00:00:00" });
      out.push({ label: "unix ms as a string", body: "1767225600000" });
      out.push({ label: "SQL-looking", body: `now()'; ${SQLISH[1]}` });
    } else if (prop.pattern) {
      const re = new RegExp(prop.pattern);
      for (
        const s of ["lower_case", "Mixed_Case", "A__B", "_LEADING", ...SQLISH, ...UNICODE, " "]
      ) {
        if (!re.test(s)) {
          out.push({ label: `not matching the pattern: ${JSON.stringify(s)}`, body: s });
        }
      }
    }
  } else if (type === "integer" || type === "number") {
    out.push({ label: "a numeric string", body: "42" }, { label: "a boolean", body: false });
    out.push({ label: "an array", body: [1] });
    if (type === "integer") out.push({ label: "a fraction", body: 1.5 });
    if (prop.minimum !== undefined) {
      out.push({ label: "below the minimum", body: prop.minimum - 1 });
    }
    if (prop.maximum !== undefined) {
      out.push({ label: "above the maximum", body: prop.maximum + 1 });
    }
    out.push({ label: "huge", body: Number.MAX_SAFE_INTEGER * 4 });
  } else if (type === "object") {
    out.push({ label: "an array", body: [] }, { label: "a string", body: "{}" });
    out.push({ label: "a number", body: 1 });
    out.push({ label: "nested 40 levels", body: deep(40) });
  } else if (type === "boolean") {
    out.push({ label: "a string", body: "true" }, { label: "a number", body: 1 });
  }
  return out;
}

/** Every invalid variant of `valid` (a body the schema accepts) that its schema implies. */
export function bodyCases(schema: v.GenericSchema, valid: Record<string, unknown>): BodyCase[] {
  const json = toJsonSchema(schema, "input") as {
    properties?: Record<string, Prop>;
    required?: string[];
  };
  const cases: BodyCase[] = [];
  for (const [field, prop] of Object.entries(json.properties ?? {})) {
    if (json.required?.includes(field)) {
      const { [field]: _, ...rest } = valid;
      cases.push({ label: `${field} missing`, body: rest });
    }
    for (const c of invalidValues(prop)) {
      cases.push({ label: `${field} ${c.label}`, body: { ...valid, [field]: c.body } });
    }
  }
  cases.push({ label: "an unknown extra field", body: { ...valid, extra_field: 1 } });
  cases.push({ label: "an unknown field named like SQL", body: { ...valid, [SQLISH[1]]: 1 } });
  cases.push({ label: "an empty object", body: {} });
  cases.push({ label: "the body as an array", body: [valid] });
  for (const root of [null, 1, "text", true]) {
    cases.push({ label: `the body as ${JSON.stringify(root)}`, body: root });
  }
  // A variant the schema happens to accept (e.g. a pattern that allows it) is no bad input.
  return cases.filter((c) => !v.safeParse(schema, c.body).success);
}
