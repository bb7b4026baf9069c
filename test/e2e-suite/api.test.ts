/**
 * Scenarios 8 and 7, driven by the API's own OpenAPI document (`GET /api/v1/openapi.json`), so a route added
 * later is covered without touching this file:
 * - auth: every operation without a token, with a wrong one, with one differing in a single character → 401;
 *   no response and no line wrangler printed (the Worker's logs included) holds a configured secret;
 * - bad input: property-based fuzzing (fast-check) of every operation's path, query and body → never a 5xx,
 *   and a rejected request (4xx) changes nothing (the goals, runs and a seeded goal are as they were).
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TEST_API_TOKEN, TEST_WEBHOOK_SECRET } from "../bindings.ts";
import { record } from "./lib/report.ts";
import { ENDED, poll, type Res, startSystem, suiteVars, type System } from "./lib/system.ts";

type Operation = { method: string; path: string; params: { name: string; in: string; required?: boolean; schema?: { type?: string } }[]; hasBody: boolean };

const vars = suiteVars();
/** Every configured secret: the variables the Worker redacts (…KEY, …SECRET, …TOKEN, …PASSWORD), and the webhook key's base64 part. */
const SECRETS = [
  ...Object.entries(vars)
    .filter(([k, v]) => /(KEY|SECRET|TOKEN|PASSWORD)$/.test(k) && v.length >= 8)
    .map(([, v]) => v),
  TEST_WEBHOOK_SECRET.replace(/^whsec_/, ""),
];

let sys: System;
let ops: Operation[] = [];
/** Every response body and header the two scenarios received, for the secrets check. */
const seen: string[] = [];
const call = async (path: string, init: Parameters<System["api"]>[1] = {}): Promise<Res> => {
  const res = await sys.api(path, init);
  seen.push(typeof res.body === "string" ? res.body : JSON.stringify(res.body), JSON.stringify([...res.headers]));
  return res;
};

beforeAll(async () => {
  sys = await startSystem(vars, { logLevel: "log" });
  const doc = (await call("/openapi.json")).body as { paths: Record<string, Record<string, { parameters?: Operation["params"]; requestBody?: unknown }>> };
  ops = Object.entries(doc.paths).flatMap(([path, methods]) =>
    Object.entries(methods)
      .filter(([m]) => ["get", "post", "put", "patch", "delete"].includes(m))
      .map(([method, op]) => ({ method: method.toUpperCase(), path, params: op.parameters ?? [], hasBody: !!op.requestBody })),
  );
});
afterAll(() => sys?.stop());

/** The path with its {params} filled. */
const fill = (path: string, value: (name: string) => string) => path.replace(/\{(\w+)\}/g, (_, n: string) => encodeURIComponent(value(n)));

describe("scenario 8: auth", () => {
  it("every operation of the OpenAPI document answers 401 without a token, with a wrong one, and with one a character off", async () => {
    expect(ops.length).toBeGreaterThan(20);
    const oneOff = (i: number) => TEST_API_TOKEN.slice(0, i) + String.fromCharCode(TEST_API_TOKEN.charCodeAt(i) ^ 1) + TEST_API_TOKEN.slice(i + 1);
    const tokens: { what: string; token: string | null; scheme?: string }[] = [
      { what: "none", token: null },
      { what: "wrong", token: "not-the-token-at-all" },
      { what: "first character off", token: oneOff(0) },
      { what: "last character off", token: oneOff(TEST_API_TOKEN.length - 1) },
      { what: "middle character off", token: oneOff(TEST_API_TOKEN.length >> 1) },
      { what: "one character more", token: `${TEST_API_TOKEN}x` },
      { what: "one character less", token: TEST_API_TOKEN.slice(0, -1) },
    ];
    const wrong: string[] = [];
    let trials = 0;
    for (const op of ops) {
      const path = fill(op.path, () => "x1");
      for (const t of tokens) {
        trials++;
        const res = await call(path, { method: op.method, token: t.token, body: op.hasBody ? {} : undefined });
        if (res.status !== 401) wrong.push(`${op.method} ${op.path} with ${t.what} token: ${res.status}`);
      }
      // Another scheme carrying the right token is not a bearer token either.
      trials++;
      const basic = await call(path, {
        method: op.method,
        token: null,
        headers: { authorization: `Basic ${Buffer.from(`u:${TEST_API_TOKEN}`).toString("base64")}` },
      });
      if (basic.status !== 401) wrong.push(`${op.method} ${op.path} with Basic auth: ${basic.status}`);
    }
    record({ scenario: "8 auth", trials, passed: trials - wrong.length, figures: `${ops.length} operations × ${tokens.length + 1} credentials` });
    expect(wrong).toEqual([]);
  });
});

describe("scenario 7: bad input", () => {
  it("fuzzed paths, queries and bodies of every operation: never a 5xx, and a rejected request writes nothing", async () => {
    // A real goal and a finished run, so fuzzed requests also reach handlers (not only the 404 for unknown ids).
    const goal = (await call("/goals", { body: { objective: "Fuzz target", schedule: { cron: "0 9 * * 1", timezone: "Europe/Berlin" } } })).body;
    const run = (await call(`/goals/${goal.id}/run`, { method: "POST" })).body;
    await poll(async () => (ENDED.includes((await call(`/runs/${run.id}`)).body.status) ? true : undefined), { ms: 60_000, what: "the seeded run to end" });
    const ids: Record<string, string> = { id: goal.id, goalId: goal.id, runId: run.id };

    /**
     * What a rejected request must leave as it was: which goals, runs and MCP servers exist, the seeded goal's
     * settings, trigger and files, and the seeded run's status, steps and outputs.
     */
    const fingerprint = async () => {
      const ids = (path: string) =>
        sys.api(path).then((r) => (r.body.items as { id?: string; name?: string; path?: string }[]).map((x) => x.id ?? x.name ?? x.path).sort());
      const [goals, runs, mcp, files, steps, outputs] = await Promise.all([
        ids("/goals?limit=100"),
        ids("/runs?limit=100"),
        ids("/mcp-servers"),
        ids(`/goals/${goal.id}/files`),
        sys.api(`/runs/${run.id}/steps?limit=500`).then((r) => r.body.items.length),
        ids(`/runs/${run.id}/outputs`),
      ]);
      const g = (await sys.api(`/goals/${goal.id}`)).body;
      const trigger = (await sys.api(`/goals/${goal.id}/trigger`)).body;
      const r = (await sys.api(`/runs/${run.id}`)).body;
      return JSON.stringify({
        goals,
        runs,
        mcp,
        files,
        seeded: [g.objective, g.schedule, g.webhookUrl, g.params, g.status, trigger.enabled, trigger.url],
        run: [r.status, steps, outputs],
      });
    };

    const text = fc.oneof(
      fc.string(),
      fc.string({ unit: "binary", maxLength: 20 }),
      fc.constantFrom("", " ", "-1", "0", "1e309", "null", "../..", "%00", "a".repeat(300)),
    );
    const json = fc.oneof(
      fc.jsonValue({ maxDepth: 3 }),
      fc.dictionary(
        fc.constantFrom("objective", "schedule", "params", "webhookUrl", "input", "status", "decision", "cron", "timezone", "url"),
        fc.jsonValue({ maxDepth: 2 }),
      ),
      fc.record({ objective: text, schedule: fc.record({ cron: text, timezone: text }, { requiredKeys: [] }) }, { requiredKeys: [] }),
    );
    const body = fc.oneof(
      json.map((v) => ({ raw: JSON.stringify(v) ?? "null", type: "application/json" })),
      text.map((raw) => ({ raw, type: "application/json" })),
      json.map((v) => ({ raw: JSON.stringify(v) ?? "", type: "text/plain" })),
    );
    const failures: string[] = [];
    let trials = 0;
    let rejected = 0;
    const mutating = (m: string) => m !== "GET";
    for (const op of ops) {
      const query = op.params.filter((p) => p.in === "query").map((p) => p.name);
      // DELETE with the seeded ids would remove what the other requests aim at: only garbage ids there.
      const pathValue = (n: string) => (op.method === "DELETE" ? text : fc.oneof(fc.constant(ids[n] ?? "x"), text));
      const names = [...op.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
      const arb = fc.record({
        path: fc.tuple(...names.map(pathValue)),
        query: fc.array(fc.tuple(fc.constantFrom(...query, "limit", "cursor", "unknown"), text), { maxLength: 3 }),
        body: op.hasBody || mutating(op.method) ? fc.option(body, { nil: undefined }) : fc.constant(undefined),
      });
      const failedBefore = failures.length;
      await fc
        .assert(
          fc.asyncProperty(arb, async (input) => {
            trials++;
            const path = fill(op.path, (n) => input.path[names.indexOf(n)] ?? "x");
            const qs = new URLSearchParams(input.query).toString();
            const where = `${op.method} ${path}${qs ? `?${qs}` : ""} ${input.body?.type ?? ""} ${input.body?.raw.slice(0, 120) ?? ""}`;
            const before = mutating(op.method) ? await fingerprint() : null;
            const res = await call(`${path}${qs ? `?${qs}` : ""}`, {
              method: op.method,
              body: input.body?.raw,
              headers: input.body ? { "content-type": input.body.type } : {},
            }).catch((e: unknown) => {
              // No answer at all (a dropped connection, a timeout) is as bad as a 5xx.
              failures.push(`no answer for ${where}: ${e instanceof Error ? e.message : String(e)}`);
              return null;
            });
            if (!res) return false;
            if (res.status >= 500) failures.push(`${res.status} for ${where}: ${JSON.stringify(res.body).slice(0, 200)}`);
            if (res.status >= 400 && res.status < 500) {
              rejected++;
              if (res.status !== 404 && res.status !== 405 && !res.body?.error?.code) failures.push(`${res.status} without the error envelope for ${where}`);
              if (before !== null && (await fingerprint()) !== before) failures.push(`${res.status} but something changed after ${where}`);
            }
            return res.status < 500;
          }),
          { numRuns: mutating(op.method) ? 25 : 15, endOnFailure: true, interruptAfterTimeLimit: 30_000 },
        )
        .catch((e: unknown) => {
          // A false property is already in `failures` with its request; anything else thrown is recorded here.
          if (failures.length === failedBefore) failures.push(`${op.method} ${op.path}: ${String(e).slice(0, 300)}`);
        });
    }
    record({
      scenario: "7 bad input (fast-check)",
      trials,
      passed: trials - failures.length,
      figures: `${ops.length} operations, ${rejected} requests rejected with 4xx, 0 writes expected from them`,
    });
    expect(failures).toEqual([]);
  });
});

describe("secrets", () => {
  it("no response of scenarios 7 and 8, and no line wrangler printed, holds a configured secret", () => {
    const logs = sys.dev().logs();
    expect(logs.length).toBeGreaterThan(1000);
    const leaks = SECRETS.filter((s) => seen.some((t) => t.includes(s)) || logs.includes(s));
    expect(leaks.map((s) => `${s.slice(0, 4)}…`)).toEqual([]);
  });
});
