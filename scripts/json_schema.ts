// JSON Schema (draft 2020-12, as OpenAPI 3.1 uses it) of a valibot schema of
// shared/api_schemas.ts: what docs/openapi.json documents and what the bad-input corpus
// derives its cases from (tests/corpus/schema_cases.ts). Written here rather than taken
// from @valibot/to-json-schema so that the output keeps the shape the zod schemas gave
// (docs/openapi.json did not change when they moved to valibot): uuid and date-time as a
// format plus zod's pattern, integers bounded to the safe range, a nullable plain type as
// a type list. What JSON Schema cannot say (trimming, a byte limit, a cross-field check, a
// transform) is left out, as zod's z.toJSONSchema left it out.
import type * as v from "valibot";

type Json = Record<string, unknown>;
/** What the converter reads of a schema or an action of a pipe (valibot's own fields). */
interface Node {
  kind: "schema" | "validation" | "transformation" | "metadata";
  type: string;
  pipe?: Node[];
  wrapped?: Node;
  default?: unknown;
  entries?: Record<string, Node>;
  item?: Node;
  options?: unknown[];
  literal?: unknown;
  requirement?: unknown;
  description?: string;
  metadata?: Json;
}

/** Documents the body as the client sends it ("input": fields with a default are optional)
 * or as the server answers it ("output"). */
export type Io = "input" | "output";

export function toJsonSchema(schema: v.GenericSchema, io: Io): Json {
  return convert(schema as unknown as Node, io);
}

function convert(node: Node, io: Io): Json {
  if (node.pipe) {
    // pipe[0] is the schema piped (with its own pipe when it was one already)
    const [root, ...items] = node.pipe;
    const out = convert(root, io);
    for (const item of items) applyAction(out, item, io);
    return out;
  }
  switch (node.type) {
    case "string":
    case "number":
    case "boolean":
      return { type: node.type };
    case "unknown":
    case "custom":
      return {};
    case "literal":
      return { type: typeof node.literal, const: node.literal };
    case "picklist":
      return { type: "string", enum: node.options };
    case "array":
      return { type: "array", items: convert(node.item!, io) };
    case "record":
      return { type: "object", propertyNames: { type: "string" }, additionalProperties: {} };
    case "object":
    case "strict_object": {
      const properties: Json = {};
      const required: string[] = [];
      for (const [key, entry] of Object.entries(node.entries!)) {
        properties[key] = convert(entry, io);
        const optional = entry.type === "optional" &&
          (io === "input" || entry.default === undefined);
        if (!optional) required.push(key);
      }
      return {
        type: "object",
        properties,
        ...(required.length ? { required } : {}),
        additionalProperties: false,
      };
    }
    case "optional": {
      const inner = convert(node.wrapped!, io);
      if (node.default === undefined) return inner;
      // the default as the schema outputs it (a query's "0" is documented as 0)
      const wrapped = node.wrapped! as unknown as v.GenericSchema;
      const value = wrapped["~run"]({ value: node.default }, {}).value;
      return { default: value, ...inner };
    }
    case "nullable": {
      const inner = convert(node.wrapped!, io);
      const keys = Object.keys(inner);
      if (keys.length === 1 && typeof inner.type === "string") {
        return { type: [inner.type, "null"] };
      }
      return { anyOf: [inner, { type: "null" }] };
    }
  }
  throw new Error(`Cannot describe a valibot ${node.type} schema in JSON Schema`);
}

function applyAction(out: Json, item: Node, io: Io): void {
  if (item.kind === "schema") {
    // a schema inside a pipe (a query number after its string): the value's type from here
    Object.assign(out, convert(item, io));
    return;
  }
  switch (item.type) {
    case "min_length":
      out.minLength = item.requirement;
      break;
    case "max_length":
      out.maxLength = item.requirement;
      break;
    case "length":
      out.minLength = item.requirement;
      out.maxLength = item.requirement;
      break;
    case "min_value":
      out.minimum = item.requirement;
      break;
    case "max_value":
      out.maximum = item.requirement;
      break;
    case "safe_integer":
      out.type = "integer";
      out.minimum = Number.MIN_SAFE_INTEGER;
      out.maximum = Number.MAX_SAFE_INTEGER;
      break;
    case "regex":
      out.pattern = (item.requirement as RegExp).source;
      break;
    case "description":
      out.description = item.description;
      break;
    case "metadata":
      Object.assign(out, item.metadata);
      break;
    // not expressible in JSON Schema (zod's z.toJSONSchema left these out too)
    case "trim":
    case "transform":
    case "max_bytes":
    case "check":
    case "partial_check":
      break;
    default:
      throw new Error(`Cannot describe the valibot action ${item.type} in JSON Schema`);
  }
}
