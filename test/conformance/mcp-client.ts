/**
 * Our MCP client (worker/tools/mcp-client.ts over the guarded fetch) as the command the MCP conformance
 * suite drives: it runs the client scenarios that work offline (`initialize`, `tools_call`) against the
 * suite's own local server. Not part of `npm test` (the suite is not a dependency); run it with
 *   npx esbuild test/conformance/mcp-client.ts --bundle --platform=node --format=esm --outfile=/tmp/mcp-client.mjs
 *   npx @modelcontextprotocol/conformance client --command "node /tmp/mcp-client.mjs" --scenario initialize
 *   npx @modelcontextprotocol/conformance client --command "node /tmp/mcp-client.mjs" --scenario tools_call
 * The suite appends the server URL as the last argument and names the scenario in MCP_CONFORMANCE_SCENARIO.
 */
import { McpConnection } from "../../worker/tools/mcp-client";

const url = process.argv.at(-1) ?? "";
const scenario = process.env.MCP_CONFORMANCE_SCENARIO ?? "";
// The suite's server listens on localhost: the private-network rule is off here, as ALLOW_PRIVATE_NETWORK=true does.
const conn = await McpConnection.open({ name: "conformance", url, headers: {} }, { allowPrivate: true });
try {
  const tools = await conn.listTools();
  console.log(`${scenario}: ${tools.length} tools: ${tools.map((t) => t.tool).join(", ")}`);
  if (scenario === "tools_call") {
    const add = tools.find((t) => t.tool === "add_numbers");
    if (!add) throw new Error("the server offers no add_numbers tool");
    const result = await conn.callTool(add.tool, { a: 2, b: 3 }, AbortSignal.timeout(10_000), 10_000);
    console.log(JSON.stringify(result.content));
  }
} finally {
  await conn.close();
}
