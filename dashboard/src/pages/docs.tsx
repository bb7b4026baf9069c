/**
 * The API reference, from the Worker's own OpenAPI document: every route with its parameters, the request body
 * and answers with their fields and descriptions expanded, an example body, and "Try it", which sends the request
 * with the signed-in token and shows the answer as text.
 */
import { useState } from "preact/hooks";
import { Failure, Loading, useData } from "../components/ui";
import { API, authHeaders, get } from "../lib/api";
import { type Doc, exampleOf, fieldsOf, type Operation, type Schema, typeOf } from "../lib/openapi";

function Fields({ doc, schema, depth = 0 }: { doc: Doc; schema?: Schema; depth?: number }) {
  const fields = fieldsOf(doc, schema);
  if (!fields) return <p class="small">{typeOf(doc, schema)}</p>;
  return (
    <ul class="fields">
      {fields.map((f) => {
        const inner = depth < 3 ? fieldsOf(doc, f.schema.type === "array" || f.schema.items ? f.schema.items : f.schema) : null;
        const resolved = f.schema.$ref ? doc.components?.schemas?.[f.schema.$ref.split("/").at(-1)!] : f.schema;
        return (
          <li key={f.name}>
            <code>{f.name}</code> <span class="type">{typeOf(doc, f.schema)}</span>
            {f.required && <span class="req"> required</span>}
            {resolved?.description && <span class="small"> — {resolved.description}</span>}
            {inner && <Fields doc={doc} schema={f.schema.items ?? f.schema} depth={depth + 1} />}
          </li>
        );
      })}
    </ul>
  );
}

function TryIt({ method, path, op, doc }: { method: string; path: string; op: Operation; doc: Doc }) {
  const params = op.parameters?.filter((p) => p.in === "path" || p.in === "query") ?? [];
  const bodySchema = op.requestBody?.content?.["application/json"]?.schema;
  const [values, setValues] = useState<Record<string, string>>({});
  const [body, setBody] = useState(bodySchema ? JSON.stringify(exampleOf(doc, bodySchema), null, 2) : "");
  const [answer, setAnswer] = useState<string | null>(null);
  async function send(e: Event) {
    e.preventDefault();
    let url = API + path.replace(/\{(\w+)\}/g, (_, n) => encodeURIComponent(values[n] ?? ""));
    const q = new URLSearchParams(params.filter((p) => p.in === "query" && values[p.name]).map((p) => [p.name, values[p.name]]));
    if (q.size) url += `?${q}`;
    try {
      const res = await fetch(url, {
        method: method.toUpperCase(),
        headers: { ...authHeaders(), ...(body && method !== "get" ? { "content-type": "application/json" } : {}) },
        body: method !== "get" && method !== "delete" && body ? body : undefined,
      });
      const text = await res.text();
      let shown = text;
      try {
        shown = JSON.stringify(JSON.parse(text), null, 2);
      } catch {}
      setAnswer(`${res.status} ${res.statusText}\n\n${shown.slice(0, 20_000)}`);
    } catch (err) {
      setAnswer(String(err));
    }
  }
  const id = `${method}-${path}`.replace(/\W+/g, "-");
  return (
    <form class="try" onSubmit={send}>
      {params.map((p) => (
        <div class="field" key={p.name}>
          <label for={`${id}-${p.name}`}>
            {p.name} <span class="muted small">({p.in})</span>
          </label>
          <input id={`${id}-${p.name}`} value={values[p.name] ?? ""} onInput={(e) => setValues({ ...values, [p.name]: e.currentTarget.value })} />
        </div>
      ))}
      {bodySchema && (
        <div class="field">
          <label for={`${id}-body`}>Body (JSON)</label>
          <textarea id={`${id}-body`} rows={6} value={body} onInput={(e) => setBody(e.currentTarget.value)} spellcheck={false} />
        </div>
      )}
      <button type="submit">Send {method.toUpperCase()}</button>
      {answer !== null && <pre class="answer">{answer}</pre>}
    </form>
  );
}

/** The route as a curl command: path parameters as placeholders, required query parameters with an example value, the example body. */
function curlOf(doc: Doc, method: string, path: string, op: Operation): string {
  const query = (op.parameters ?? [])
    .filter((p) => p.in === "query" && p.required)
    .map((p) => `${p.name}=${encodeURIComponent(String(exampleOf(doc, p.schema)))}`)
    .join("&");
  const body = op.requestBody?.content?.["application/json"]?.schema;
  const lines = [
    `curl${method === "get" ? "" : ` -X ${method.toUpperCase()}`} "${window.location.origin}${API}${path.replace(/\{(\w+)\}/g, "<$1>")}${query ? `?${query}` : ""}"`,
  ];
  lines.push(`  -H "Authorization: Bearer $API_TOKEN"`);
  if (body) lines.push(`  -H "content-type: application/json"`, `  -d '${JSON.stringify(exampleOf(doc, body)).replace(/'/g, "'\\''")}'`);
  return lines.join(" \\\n");
}

function OperationView({ doc, method, path, op }: { doc: Doc; method: string; path: string; op: Operation }) {
  const body = op.requestBody?.content?.["application/json"]?.schema;
  const ok = Object.entries(op.responses ?? {}).find(([code]) => code.startsWith("2"));
  const okSchema = ok?.[1].content?.["application/json"]?.schema;
  return (
    <details class="op" id={`${method}-${path}`.replace(/\W+/g, "-")}>
      <summary>
        <span class={`method m-${method}`}>{method.toUpperCase()}</span> <code>/api/v1{path}</code> <span class="small">{op.summary}</span>
      </summary>
      {op.description && <p>{op.description}</p>}
      {!!op.parameters?.length && (
        <>
          <h4>Parameters</h4>
          <ul class="fields">
            {op.parameters.map((p) => (
              <li key={`${p.in}-${p.name}`}>
                <code>{p.name}</code> <span class="type">{typeOf(doc, p.schema)}</span> <span class="muted small">in {p.in}</span>
                {p.required && <span class="req"> required</span>}
                {(p.description ?? p.schema?.description) && <span class="small"> — {p.description ?? p.schema?.description}</span>}
              </li>
            ))}
          </ul>
        </>
      )}
      {body && (
        <>
          <h4>Request body</h4>
          <Fields doc={doc} schema={body} />
        </>
      )}
      <h4>Example</h4>
      <pre>{curlOf(doc, method, path, op)}</pre>
      <h4>Answers</h4>
      <ul class="fields">
        {Object.entries(op.responses ?? {}).map(([code, r]) => (
          <li key={code}>
            <strong>{code}</strong> {r.description}
          </li>
        ))}
      </ul>
      {okSchema && (
        <details>
          <summary>Fields of the {ok![0]} answer</summary>
          <Fields doc={doc} schema={okSchema} />
        </details>
      )}
      <h4>Try it</h4>
      <TryIt method={method} path={path} op={op} doc={doc} />
    </details>
  );
}

export function ApiReference() {
  const doc = useData((signal) => get<Doc>("/openapi.json", signal), []);
  if (doc.error) return <Failure error={doc.error} />;
  if (!doc.data) return <Loading what="Loading the API reference" />;
  const d = doc.data;
  const byTag = new Map<string, [string, string, Operation][]>();
  for (const [path, methods] of Object.entries(d.paths))
    for (const [method, op] of Object.entries(methods)) {
      const tag = op.tags?.[0] ?? "other";
      byTag.set(tag, [...(byTag.get(tag) ?? []), [method, path, op]]);
    }
  return (
    <section class="docs">
      <h1>
        {d.info.title} <small class="muted">{d.info.version}</small>
      </h1>
      <p>{d.info.description}</p>
      <p>
        Every route is under <code>/api/v1</code> and needs <code>Authorization: Bearer &lt;API_TOKEN&gt;</code>; "Try it" sends your signed-in token. Errors
        answer <code>{'{"error":{"code","message","requestId"}}'}</code>, the message naming each bad field. The machine-readable document:{" "}
        <code>GET /api/v1/openapi.json</code>.
      </p>
      <nav aria-label="Resources" class="filters">
        {[...byTag.keys()].map((t) => (
          <a key={t} href={`#tag-${t}`}>
            {t}
          </a>
        ))}
      </nav>
      {[...byTag.entries()].map(([tag, ops]) => (
        <section key={tag} id={`tag-${tag}`}>
          <h2>{tag}</h2>
          {ops.map(([method, path, op]) => (
            <OperationView key={`${method} ${path}`} doc={d} method={method} path={path} op={op} />
          ))}
        </section>
      ))}
      <h2>Schemas</h2>
      {Object.entries(d.components?.schemas ?? {}).map(([name, s]) => (
        <details key={name} class="op">
          <summary>
            <code>{name}</code>
          </summary>
          {s.description && <p>{s.description}</p>}
          <Fields doc={d} schema={s} />
        </details>
      ))}
    </section>
  );
}
