/**
 * /docs: a readable page rendered on the server from the OpenAPI document. Docs UIs such as Scalar
 * load their script from a CDN; this page has no external assets, so it works offline too.
 */
type Doc = { info: { title: string; version: string; description?: string }; paths?: Record<string, Record<string, Operation>> };
type Operation = {
  summary?: string;
  tags?: string[];
  parameters?: { name: string; in: string; required?: boolean; schema?: unknown; description?: string }[];
  requestBody?: { content?: Record<string, { schema?: unknown }> };
  responses?: Record<string, { description?: string; content?: Record<string, { schema?: unknown }> }>;
};

const esc = (s: string) => s.replace(/[&<>"]/g, (ch) => `&${{ "&": "amp", "<": "lt", ">": "gt", '"': "quot" }[ch]};`);
const schemaOf = (content?: Record<string, { schema?: unknown }>) => content?.["application/json"]?.schema;
const pre = (v: unknown) => (v === undefined ? "" : `<pre>${esc(JSON.stringify(v, null, 2))}</pre>`);

export function renderDocsPage(doc: unknown): string {
  const d = doc as Doc & { components?: { schemas?: Record<string, unknown> } };
  const ops = Object.entries(d.paths ?? {}).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, op]) => ({ path, method: method.toUpperCase(), op })),
  );
  const sections = ops
    .map(({ path, method, op }) => {
      const params = (op.parameters ?? []).map((p) => `<li><code>${esc(p.name)}</code> (${p.in}${p.required ? ", required" : ""})</li>`).join("");
      const responses = Object.entries(op.responses ?? {})
        .map(([code, r]) => `<li><b>${code}</b> ${esc(r.description ?? "")}</li>`)
        .join("");
      return `<section><h3><span class="m">${method}</span> <code>/api/v1${esc(path)}</code></h3>
<p>${esc(op.summary ?? "")}</p>${params ? `<ul>${params}</ul>` : ""}
${op.requestBody ? `<details><summary>Request body</summary>${pre(schemaOf(op.requestBody.content))}</details>` : ""}
<ul>${responses}</ul></section>`;
    })
    .join("\n");
  const schemas = Object.entries(d.components?.schemas ?? {})
    .map(([name, s]) => `<details><summary>${esc(name)}</summary>${pre(s)}</details>`)
    .join("\n");
  return `<!doctype html><html><head><meta charset="utf-8"><title>${esc(d.info.title)}</title>
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:900px;margin:2rem auto;padding:0 1rem}code,pre{font-family:ui-monospace,monospace}
pre{background:#f5f5f5;padding:.6rem;overflow:auto}.m{display:inline-block;min-width:4.5em;color:#0a5}section{border-top:1px solid #ddd}</style></head>
<body><h1>${esc(d.info.title)} <small>${esc(d.info.version)}</small></h1><p>${esc(d.info.description ?? "")}</p>
<p>Every <code>/api/v1</code> route needs <code>Authorization: Bearer &lt;API_TOKEN&gt;</code>. The machine-readable document is <code>GET /api/v1/openapi.json</code>.</p>
${sections}<h2>Schemas</h2>${schemas}</body></html>`;
}
