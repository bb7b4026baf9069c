/**
 * An MCP tool result as the model reads it: text blocks as they are, structured content as JSON (unless a
 * text block already carries the same JSON, as the spec asks servers to do), embedded text resources with
 * their URI, and a line for what is not text (images, audio, binary resources, resource links). All of it
 * is the server's, so all of it goes between the untrusted-content markers.
 */
import type { CallToolResult } from "@modelcontextprotocol/client";
import { wrapUntrusted } from "./untrusted";

type Block = CallToolResult["content"][number];

function renderBlock(b: Block): string {
  switch (b.type) {
    case "text":
      return b.text;
    case "image":
    case "audio":
      return `[${b.type} ${b.mimeType}, ${Math.floor((b.data.length * 3) / 4)} bytes: not shown]`;
    case "resource_link":
      return `[resource link: ${b.name}${b.description ? ` (${b.description})` : ""} ${b.uri}]`;
    case "resource": {
      const r = b.resource;
      if ("text" in r && typeof r.text === "string") return `[resource ${r.uri}${r.mimeType ? ` (${r.mimeType})` : ""}]\n${r.text}`;
      return `[resource ${r.uri}${r.mimeType ? ` (${r.mimeType})` : ""}: binary, not shown]`;
    }
    default:
      return `[content of type ${(b as { type: string }).type}: not shown]`;
  }
}

export function renderMcpResult(source: string, result: CallToolResult): string {
  const parts = (result.content ?? []).map(renderBlock);
  if (result.structuredContent !== undefined) {
    const json = JSON.stringify(result.structuredContent);
    const echoed = parts.some((p) => {
      try {
        return JSON.stringify(JSON.parse(p)) === json;
      } catch {
        return false;
      }
    });
    if (!echoed) parts.push(`structured content: ${json}`);
  }
  return wrapUntrusted(source, parts.join("\n\n") || "(the tool returned no content)");
}
