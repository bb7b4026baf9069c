/**
 * The one client for the Worker's API. Every failure leaves here as a typed error: an ApiError
 * unwrapped from the envelope, or a NetworkError when the server cannot be reached.
 */
import type { z } from "zod";
import type {
  Answer,
  ApprovalDecision,
  CreateGoal,
  ErrorBody,
  Goal,
  GoalFile,
  Health,
  LlmValidation,
  Output,
  Page,
  Ready,
  Run,
  RunGoalRequest,
  Step,
  ToolInfo,
  CreateMcpServer,
  McpServerInfo,
  InboundTrigger,
  InboundTriggerWithSecret,
  UpdateGoal,
  Usage,
} from "../../worker/api/schemas";
import { ApiError, NetworkError, UsageError } from "./errors";
import { hint } from "./invocation";

export const API_PREFIX = "/api/v1";
const TIMEOUT_MS = 15_000;
/** Seconds an idempotent request waits, at most, for the first attempt with its key to finish on the server. */
const IN_USE_WAITS = 30;

type Query = Record<string, string | number | undefined>;
type RequestOpts = {
  body?: unknown;
  query?: Query;
  auth?: boolean;
  accept?: number[];
  headers?: Record<string, string>;
  signal?: AbortSignal;
  timeoutMs?: number | null;
  /** Send a fresh Idempotency-Key, and retry once with it when no answer came back (the server runs it at most once). */
  idempotent?: boolean;
};

export const unreachable = (url: string) => `cannot reach ${url}: is \`npm run dev\` running?`;
export const tokenRejected = () => `token rejected: run \`${hint("init")}\``;

export class ApiClient {
  constructor(
    readonly baseUrl: string,
    private readonly token: string | undefined,
  ) {}

  /** A raw request: resolves with the Response when its status is ok (or listed in `accept`). */
  async fetch(method: string, path: string, opts: RequestOpts = {}): Promise<Response> {
    const url = new URL(this.baseUrl + path);
    for (const [k, v] of Object.entries(opts.query ?? {})) if (v !== undefined && v !== "") url.searchParams.set(k, String(v));
    const headers: Record<string, string> = { accept: "application/json", ...opts.headers };
    if (opts.auth !== false) {
      if (!this.token) throw new UsageError(`no API token: run \`${hint("init")}\`, or pass --token / set ASYNC_AGENT_TOKEN`);
      headers.authorization = `Bearer ${this.token}`;
    }
    if (opts.body !== undefined) headers["content-type"] = "application/json";
    if (opts.idempotent) headers["idempotency-key"] = crypto.randomUUID();
    // Our own retry can reach the server while the first request still runs: then wait for its answer, same key.
    for (let waited = 0; ; waited++) {
      let res: Response | undefined;
      for (let attempt = 1; !res; attempt++) {
        const signals = [opts.signal, opts.timeoutMs === null ? undefined : AbortSignal.timeout(opts.timeoutMs ?? TIMEOUT_MS)];
        try {
          res = await fetch(url, {
            method,
            headers,
            body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
            signal: AbortSignal.any(signals.filter((s): s is AbortSignal => !!s)),
          });
        } catch (e) {
          if (opts.signal?.aborted) throw e;
          // The request may have been done without its answer reaching us: with its key, asking again is safe.
          if (opts.idempotent && attempt === 1) continue;
          if (e instanceof Error && e.name === "TimeoutError")
            throw new NetworkError(`${this.baseUrl} did not answer within ${(opts.timeoutMs ?? TIMEOUT_MS) / 1000}s`);
          throw new NetworkError(unreachable(this.baseUrl));
        }
      }
      if (res.ok || opts.accept?.includes(res.status)) return res;
      const error = await toApiError(res);
      if (!(opts.idempotent && error.code === "idempotency_key_in_use" && waited < IN_USE_WAITS)) throw error;
      await new Promise((r) => setTimeout(r, 1000));
    }
  }

  async json<T>(method: string, path: string, opts: RequestOpts = {}): Promise<T> {
    const res = await this.fetch(method, path, opts);
    if (res.status === 204) return undefined as T;
    try {
      return (await res.json()) as T;
    } catch {
      throw new ApiError(res.status, "bad_response", `${method} ${path} answered ${res.status} with a body that is not JSON`);
    }
  }

  private api = <T>(method: string, path: string, opts?: RequestOpts) => this.json<T>(method, API_PREFIX + path, opts);
  private id = (id: string) => encodeURIComponent(id);

  health = () => this.json<z.infer<typeof Health>>("GET", "/health", { auth: false });
  /** 503 is an answer here (a check failed), not an error. */
  ready = () => this.json<z.infer<typeof Ready>>("GET", "/health/ready", { auth: false, accept: [503] });

  createGoal = (body: CreateGoal) => this.api<Goal>("POST", "/goals", { body, idempotent: true });
  listGoals = (query: Query = {}) => this.api<Page<Goal>>("GET", "/goals", { query });
  getGoal = (id: string) => this.api<Goal>("GET", `/goals/${this.id(id)}`);
  updateGoal = (id: string, body: UpdateGoal) => this.api<Goal>("PATCH", `/goals/${this.id(id)}`, { body });
  deleteGoal = (id: string) => this.api<void>("DELETE", `/goals/${this.id(id)}`);
  pauseGoal = (id: string) => this.api<Goal>("POST", `/goals/${this.id(id)}/pause`);
  resumeGoal = (id: string) => this.api<Goal>("POST", `/goals/${this.id(id)}/resume`);
  runGoal = (id: string, body?: RunGoalRequest) => this.api<Run>("POST", `/goals/${this.id(id)}/run`, { body, idempotent: true });

  getTrigger = (id: string) => this.api<InboundTrigger>("GET", `/goals/${this.id(id)}/trigger`);
  enableTrigger = (id: string) => this.api<InboundTriggerWithSecret>("POST", `/goals/${this.id(id)}/trigger`);
  disableTrigger = (id: string) => this.api<void>("DELETE", `/goals/${this.id(id)}/trigger`);

  listRuns = (query: Query = {}) => this.api<Page<Run>>("GET", "/runs", { query });
  getRun = (id: string) => this.api<Run>("GET", `/runs/${this.id(id)}`);
  cancelRun = (id: string) => this.api<Run>("POST", `/runs/${this.id(id)}/cancel`, { idempotent: true });
  listOutputs = (id: string) => this.api<Page<Output>>("GET", `/runs/${this.id(id)}/outputs`);
  /** Sent once, never retried: these routes keep no Idempotency-Key, and a repeat is a 409 ("decided already"). */
  decideApproval = (id: string, body: z.infer<typeof ApprovalDecision>) => this.api<Run>("POST", `/runs/${this.id(id)}/approval`, { body });
  answerRun = (id: string, body: z.infer<typeof Answer>) => this.api<Run>("POST", `/runs/${this.id(id)}/answer`, { body });

  /** Every step of a run, in order. */
  allSteps = async (id: string): Promise<Step[]> =>
    (await this.allPages((cursor) => this.api<Page<Step>>("GET", `/runs/${this.id(id)}/steps`, { query: { limit: 500, cursor } }))).items;

  /** Follows `nextCursor` from the first page to the last. */
  async allPages<T>(page: (cursor?: string) => Promise<Page<T>>): Promise<Page<T>> {
    const items: T[] = [];
    let cursor: string | undefined;
    do {
      const p = await page(cursor);
      items.push(...p.items);
      cursor = p.nextCursor ?? undefined;
    } while (cursor);
    return { items, nextCursor: null };
  }

  listFiles = (goalId: string, query: Query = {}) => this.api<Page<GoalFile>>("GET", `/goals/${this.id(goalId)}/files`, { query });
  /** One file's bytes, as stored (each path segment encoded: the server decodes the path once). */
  async downloadFile(goalId: string, path: string): Promise<{ bytes: Uint8Array; contentType: string | null }> {
    const rel = path.replace(/^\/+/, "").split("/").map(encodeURIComponent).join("/");
    const res = await this.fetch("GET", `${API_PREFIX}/goals/${this.id(goalId)}/files/${rel}`, { headers: { accept: "*/*" } });
    return { bytes: new Uint8Array(await res.arrayBuffer()), contentType: res.headers.get("content-type") };
  }

  usage = (query: Query) => this.api<Usage>("GET", "/usage", { query });
  listTools = () => this.api<{ items: ToolInfo[] }>("GET", "/tools");

  addMcpServer = (body: CreateMcpServer) => this.api<McpServerInfo>("POST", "/mcp-servers", { body });
  listMcpServers = () => this.api<{ items: McpServerInfo[] }>("GET", "/mcp-servers");
  getMcpServer = (name: string) => this.api<McpServerInfo>("GET", `/mcp-servers/${this.id(name)}`);
  refreshMcpServer = (name: string) => this.api<McpServerInfo>("POST", `/mcp-servers/${this.id(name)}/refresh`);
  removeMcpServer = (name: string) => this.api<void>("DELETE", `/mcp-servers/${this.id(name)}`);
  validateLlm = () => this.api<LlmValidation>("POST", "/llm/validate");
}

async function toApiError(res: Response): Promise<ApiError> {
  const text = await res.text().catch(() => "");
  // Typed as the API's envelope, but read defensively: a proxy in front may answer with anything.
  let envelope: Partial<ErrorBody> | undefined;
  try {
    envelope = JSON.parse(text);
  } catch {
    envelope = undefined;
  }
  const e: Partial<ErrorBody["error"]> | undefined = envelope?.error;
  const code = typeof e?.code === "string" ? e.code : `http_${res.status}`;
  const requestId = typeof e?.requestId === "string" ? e.requestId : (res.headers.get("x-request-id") ?? undefined);
  if (res.status === 401) return new ApiError(401, code, tokenRejected(), requestId);
  const message = typeof e?.message === "string" ? e.message : `HTTP ${res.status} ${res.statusText}`.trim();
  return new ApiError(res.status, code, message, requestId, e?.details);
}
