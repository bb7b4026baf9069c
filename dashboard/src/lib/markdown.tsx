/**
 * The one place where HTML is built from data: a summary (model text, which may quote web pages) as markdown.
 * marked renders it and DOMPurify removes anything that could run (scripts, event handlers, javascript: URLs,
 * forms, styles); images are dropped too, so a summary cannot make the browser fetch a tracking pixel.
 * Everything else on the dashboard is rendered as text by Preact.
 */
import DOMPurify from "dompurify";
import { marked } from "marked";

DOMPurify.addHook("afterSanitizeAttributes", (node) => {
  // Links open elsewhere and tell the target nothing about the dashboard.
  if (node.tagName === "A") {
    node.setAttribute("target", "_blank");
    node.setAttribute("rel", "noopener noreferrer");
  }
});

export function renderMarkdown(text: string): string {
  const html = marked.parse(text, { async: false, gfm: true });
  return DOMPurify.sanitize(html, {
    FORBID_TAGS: ["img", "style", "form", "input", "button", "textarea", "select", "iframe", "video", "audio", "svg", "math"],
    FORBID_ATTR: ["style", "class", "id"],
    ALLOWED_URI_REGEXP: /^(?:https?:|mailto:|#)/i,
  });
}

export function Markdown({ text }: { text: string }) {
  // The only HTML made from data on the dashboard: marked's output after DOMPurify (above).
  return <div class="markdown" dangerouslySetInnerHTML={{ __html: renderMarkdown(text) }} />;
}
