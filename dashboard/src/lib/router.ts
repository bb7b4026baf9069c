/**
 * Paths, not hashes: /goals/<id>, /runs/<id>, /docs ... are real URLs (the Worker's assets answer each with
 * the page shell), so they can be bookmarked and shared. Same-origin links are followed without a reload.
 */
import { signal } from "@preact/signals";

export const location = signal(new URL(window.location.href));

export function navigate(to: string, replace = false): void {
  const url = new URL(to, window.location.origin);
  if (replace) history.replaceState(null, "", url);
  else history.pushState(null, "", url);
  location.value = url;
  window.scrollTo(0, 0);
  // As after a page load, keyboard and screen-reader users continue from the new page's content, not the old link.
  queueMicrotask(() => document.getElementById("main")?.focus({ preventScroll: true }));
}

/** Updates the query string of the current page (filters) without a new history entry. */
export function setQuery(params: Record<string, string | undefined>): void {
  const url = new URL(location.value);
  for (const [k, v] of Object.entries(params)) v ? url.searchParams.set(k, v) : url.searchParams.delete(k);
  history.replaceState(null, "", url);
  location.value = url;
}

window.addEventListener("popstate", () => (location.value = new URL(window.location.href)));

document.addEventListener("click", (e) => {
  if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  const a = (e.target as Element).closest?.("a");
  if (!a || a.target || a.hasAttribute("download")) return;
  const url = new URL(a.href, window.location.href);
  if (url.origin !== window.location.origin || url.pathname.startsWith("/api/")) return;
  // An anchor on this page (#step-3): the browser scrolls to it.
  if (url.pathname === window.location.pathname && url.search === window.location.search && url.hash) return;
  e.preventDefault();
  navigate(url.pathname + url.search + url.hash);
});

/** The parameters of `pattern` ("/goals/:id") in the current path, or null. */
export function match(pattern: string, path = location.value.pathname): Record<string, string> | null {
  const names: string[] = [];
  const re = new RegExp(`^${pattern.replace(/:(\w+)/g, (_, n) => (names.push(n), "([^/]+)"))}/?$`);
  const m = re.exec(path);
  if (!m) return null;
  return Object.fromEntries(names.map((n, i) => [n, decodeURIComponent(m[i + 1])]));
}
