/** Reading the API's OpenAPI 3.1 document: $refs resolved, a schema's fields listed, an example built from a schema. */
export type Schema = {
  $ref?: string;
  type?: string | string[];
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  enum?: unknown[];
  const?: unknown;
  anyOf?: Schema[];
  oneOf?: Schema[];
  allOf?: Schema[];
  description?: string;
  default?: unknown;
  format?: string;
  minimum?: number;
  maximum?: number;
  maxLength?: number;
  additionalProperties?: Schema | boolean;
};
export type Param = { name: string; in: string; required?: boolean; description?: string; schema?: Schema };
export type Operation = {
  summary?: string;
  description?: string;
  tags?: string[];
  parameters?: Param[];
  requestBody?: { content?: Record<string, { schema?: Schema }> };
  responses?: Record<string, { description?: string; content?: Record<string, { schema?: Schema }> }>;
};
export type Doc = {
  info: { title: string; version: string; description?: string };
  servers?: { url: string }[];
  paths: Record<string, Record<string, Operation>>;
  components?: { schemas?: Record<string, Schema> };
};

export function resolve(doc: Doc, s: Schema | undefined): Schema | undefined {
  let cur = s;
  for (let i = 0; cur?.$ref && i < 10; i++) cur = doc.components?.schemas?.[cur.$ref.split("/").at(-1)!];
  return cur;
}

/** "string", "integer (1–100)", "one of: a | b", "Goal[]". */
export function typeOf(doc: Doc, raw: Schema | undefined): string {
  const s = resolve(doc, raw);
  if (!s) return "any";
  const name = raw?.$ref?.split("/").at(-1);
  if (s.enum) return s.enum.map((v) => JSON.stringify(v)).join(" | ");
  if (s.const !== undefined) return JSON.stringify(s.const);
  const alts = s.anyOf ?? s.oneOf;
  if (alts) return alts.map((a) => typeOf(doc, a)).join(" | ");
  const t = Array.isArray(s.type) ? s.type.join(" | ") : s.type;
  if (t === "array") return `${typeOf(doc, s.items)}[]`;
  if (name && t === "object") return name;
  const range = s.minimum !== undefined || s.maximum !== undefined ? ` (${s.minimum ?? ""}–${s.maximum ?? ""})` : "";
  return `${t ?? "object"}${s.format ? ` (${s.format})` : ""}${range}`;
}

/** The fields of an object schema (through nullable and allOf wrappers), or null when it has none. */
export function fieldsOf(doc: Doc, raw: Schema | undefined): { name: string; schema: Schema; required: boolean }[] | null {
  let s = resolve(doc, raw);
  const alts = s?.anyOf ?? s?.oneOf;
  if (alts) {
    const objects = alts.map((a) => resolve(doc, a)).filter((a) => a?.properties);
    if (objects.length === 1) s = objects[0];
  }
  if (!s?.properties) return null;
  return Object.entries(s.properties).map(([name, schema]) => ({ name, schema, required: !!s!.required?.includes(name) }));
}

/** A plausible value for a schema: its default or first enum value, else one by type; objects list their required fields and a few others. */
export function exampleOf(doc: Doc, raw: Schema | undefined, depth = 0): unknown {
  const s = resolve(doc, raw);
  if (!s || depth > 5) return null;
  if (s.default !== undefined) return s.default;
  if (s.enum) return s.enum[0];
  if (s.const !== undefined) return s.const;
  const alts = s.anyOf ?? s.oneOf;
  if (alts) return exampleOf(doc, alts.find((a) => resolve(doc, a)?.type !== "null") ?? alts[0], depth + 1);
  const t = Array.isArray(s.type) ? s.type.find((x) => x !== "null") : s.type;
  // A description's own example ('e.g. "0 16 * * 5"') reads better than a placeholder.
  const eg = /e\.g\. "([^"]+)"/.exec(s.description ?? raw?.description ?? "")?.[1];
  if (t === "string" && eg) return eg;
  if (t === "string") return s.format === "date-time" ? new Date(0).toISOString() : s.format === "uri" ? "https://example.com/hook" : "string";
  if (t === "integer" || t === "number") return s.minimum ?? 1;
  if (t === "boolean") return true;
  if (t === "array") return [exampleOf(doc, s.items, depth + 1)];
  const fields = fieldsOf(doc, s);
  if (!fields) return {};
  const picked = fields.filter((f) => f.required || depth === 0).slice(0, 8);
  return Object.fromEntries(picked.map((f) => [f.name, exampleOf(doc, f.schema, depth + 1)]));
}
