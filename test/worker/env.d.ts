import type { D1Migration } from "cloudflare:test";

declare global {
  namespace Cloudflare {
    interface Env {
      TEST_MIGRATIONS: D1Migration[];
      /** Base URLs of the page fake and the webhook receiver fake (tools tests). */
      TEST_PAGES_URL: string;
      TEST_WEBHOOK_RECEIVER_URL: string;
      /** The control URL of the fake MCP servers (test/fakes/mcp.ts). */
      TEST_MCP_URL: string;
    }
  }
}
