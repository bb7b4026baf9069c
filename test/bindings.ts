/** Worker bindings for tests: secrets for the suite, and fake servers' URLs from global setup. */
export const TEST_API_TOKEN = "test-token-0123456789";
// Tools: provider keys the fakes check, and the webhook signing secret (whsec_ + base64 of 32 bytes).
export const TEST_BRAVE_KEY = "brave-test-key-7f3a9c";
export const TEST_TAVILY_KEY = "tvly-test-key-51be02";
export const TEST_RESEND_KEY = "re_test_key_93d1aa";
export const TEST_WEBHOOK_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLFSX2yzP/7cH1Tg=";

// The agent runtime: every provider points at the fake LLM (test/fakes/llm.ts).
export const TEST_OPENAI_KEY = "sk-fake-openai";
export const TEST_ACCESS = { id: "access-client.id", secret: "access-secret-value" };
// MCP servers' header values are sealed with this (base64 of 32 bytes); the fake MCP servers' control URL.
export const TEST_MCP_SECRETS_KEY = "2mbgGO8eZ6fNQy3Y4TsmKm8mVvB4mZsM0Wn3ChJ8cDI=";

export function testBindings(ports: Record<string, number>): Record<string, string> {
  const url = (name: string) => `http://127.0.0.1:${ports[name]}`;
  void url;
  return {
    API_TOKEN: TEST_API_TOKEN,
    ALLOW_PRIVATE_NETWORK: "true",
    SEARCH_PROVIDER: "searxng",
    SEARXNG_URL: url("searxng"),
    BRAVE_API_KEY: TEST_BRAVE_KEY,
    BRAVE_BASE_URL: url("brave"),
    TAVILY_API_KEY: TEST_TAVILY_KEY,
    TAVILY_BASE_URL: url("tavily"),
    RESEND_API_KEY: TEST_RESEND_KEY,
    RESEND_BASE_URL: url("resend"),
    WEBHOOK_SECRET: TEST_WEBHOOK_SECRET,
    EMAIL_FROM: "agent@async-agent.test",
    EMAIL_ALLOWED_RECIPIENTS: "team@example.com,@reports.example.com",
    TEST_PAGES_URL: url("pages"),
    TEST_WEBHOOK_RECEIVER_URL: url("webhooks"),
    LLM_PROVIDER: "openai",
    OPENAI_API_KEY: TEST_OPENAI_KEY,
    OPENAI_MODEL: "gpt-4.1-mini",
    OPENAI_BASE_URL: `${url("llm")}/v1`,
    OPENROUTER_API_KEY: TEST_OPENAI_KEY,
    OPENROUTER_MODEL: "openai/gpt-4.1-mini",
    OPENROUTER_BASE_URL: `${url("llm")}/openrouter/api/v1`,
    OLLAMA_BASE_URL: `${url("llm")}/ollama`,
    OLLAMA_MODEL: "qwen3:8b",
    CF_ACCESS_CLIENT_ID: TEST_ACCESS.id,
    CF_ACCESS_CLIENT_SECRET: TEST_ACCESS.secret,
    TEST_LLM_URL: url("llm"),
    MCP_SECRETS_KEY: TEST_MCP_SECRETS_KEY,
    TEST_MCP_URL: url("mcp"),
  };
}
