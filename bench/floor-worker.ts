/**
 * The Worker the benches measure ours against: no framework and no code of ours on the request path.
 * - bench:api: it answers a bare request (its /health) and sends, through the raw D1 binding, exactly the
 *   statements our goal list and goal create send (taken from the same drizzle queries once at start-up, so they
 *   cannot drift apart). What it costs beyond its bare request is the local platform's cost of that one query: the
 *   D1 binding, the emulator and the response's bytes. Our handlers' cost beyond /health, less that, is our code:
 *   routing, the bearer check, validation and mapping.
 * - bench:agent: `POST /llm-loop` asks a model for `steps` chat completions in a row through the openai SDK (set up
 *   as worker/llm/openai-compatible.ts sets it up), answering each tool call with a fixed result, and does nothing
 *   else: the gap between its requests is the platform's and the SDK's part of a step. With `durable`, a Durable
 *   Object runs it and stores each step's messages before the next request (FloorLoop).
 */
import { DurableObject } from "cloudflare:workers";
import { drizzle } from "drizzle-orm/d1";
import OpenAI from "openai";
import type { ChatCompletionMessageParam, ChatCompletionTool } from "openai/resources/chat/completions";
import { goalListQuery } from "../worker/db/goals";
import { placeholders } from "../worker/db/client";
import { goals } from "../worker/db/schema";
import * as schema from "../worker/db/schema";

type Env = { DB: D1Database; FLOOR_LOOP: DurableObjectNamespace<FloorLoop> };
type LoopArgs = { baseURL: string; apiKey: string; prompt: string; steps: number; durable?: boolean };

const row = (now: number, id = "") => ({
  id,
  objective: "bench goal",
  status: "active",
  cron: "0 16 * * 5",
  timezone: "Europe/Berlin",
  nextRunAt: now + 3_600_000,
  webhookUrl: null,
  params: "{}",
  createdAt: now,
  updatedAt: now,
});

// The statements' text and their parameters' names, from the queries the API prepares (worker/db/goals.ts).
const db = drizzle({} as D1Database, { schema });
const list = goalListQuery(db, { status: false, cursor: false }).toSQL();
const insert = db
  .insert(goals)
  .values(placeholders(row(0)))
  .toSQL();
// A placeholder, or a column's encoder around one (the JSON column: `params` below is already its text).
type Bound = { name?: string; value?: { name: string } };
const names = (params: unknown[]) => params.map((p) => (p as Bound).name ?? (p as Bound).value?.name ?? "");
const [listParams, insertParams] = [names(list.params), names(insert.params)];

const WRITE_FILE: ChatCompletionTool = {
  type: "function",
  function: {
    name: "write_file",
    description: "Write a file",
    parameters: { type: "object", properties: { path: { type: "string" }, content: { type: "string" } }, required: ["path", "content"] },
  },
};

/**
 * `steps` completions in a row, the conversation growing by the model's call and its result each time; `onStep`
 * gets each step's new messages.
 */
async function llmLoop({ baseURL, apiKey, prompt, steps }: LoopArgs, onStep?: (added: ChatCompletionMessageParam[]) => void): Promise<void> {
  const client = new OpenAI({ apiKey, baseURL, maxRetries: 0, timeout: 60_000, defaultHeaders: { "User-Agent": "async-agent" } });
  const messages: ChatCompletionMessageParam[] = [{ role: "user", content: prompt }];
  for (let i = 0; i < steps; i++) {
    const res = await client.chat.completions.create({ model: "floor", messages, tools: [WRITE_FILE] });
    const msg = res.choices[0]?.message;
    const from = messages.length;
    messages.push({ role: "assistant", content: msg?.content ?? null, tool_calls: msg?.tool_calls });
    for (const call of msg?.tool_calls ?? []) messages.push({ role: "tool", tool_call_id: call.id, content: "wrote 5 bytes" });
    onStep?.(messages.slice(from));
  }
}

/**
 * The same loop in a Durable Object that stores each step's new messages in its SQLite before the next request:
 * the least a durable step writes (the storage commit, and its output gate holding the next request until then).
 */
export class FloorLoop extends DurableObject<Env> {
  async loop(args: LoopArgs): Promise<void> {
    const { sql } = this.ctx.storage;
    sql.exec("CREATE TABLE IF NOT EXISTS messages (run TEXT NOT NULL, seq INTEGER NOT NULL, body TEXT NOT NULL, PRIMARY KEY (run, seq))");
    let seq = 0;
    await llmLoop(args, (added) => {
      for (const m of added) sql.exec("INSERT INTO messages (run, seq, body) VALUES (?, ?, ?)", args.prompt, seq++, JSON.stringify(m));
    });
  }
}

export default {
  async fetch(req: Request, env: Env): Promise<Response> {
    const path = new URL(req.url).pathname;
    if (path === "/llm-loop" && req.method === "POST") {
      const args = (await req.json()) as LoopArgs;
      await (args.durable ? env.FLOOR_LOOP.get(env.FLOOR_LOOP.idFromName(args.prompt)).loop(args) : llmLoop(args));
      return Response.json({ ok: true });
    }
    if (path === "/goals" && req.method === "GET") {
      const values: Record<string, unknown> = { limit: 21 };
      const rows = await env.DB.prepare(list.sql)
        .bind(...listParams.map((n) => values[n]))
        .raw();
      return Response.json(rows);
    }
    if (path === "/goals" && req.method === "POST") {
      const now = Date.now();
      const r: Record<string, unknown> = row(now, `goal_${now.toString(32).padStart(10, "0")}${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`);
      await env.DB.prepare(insert.sql)
        .bind(...insertParams.map((n) => r[n]))
        .run();
      return Response.json(r, { status: 201 });
    }
    return Response.json({ status: "ok" });
  },
} satisfies ExportedHandler<Env>;
