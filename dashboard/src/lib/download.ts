/** Downloads a goal's file: fetched with the token (a plain link cannot send it), saved by the browser, never opened here. */
import { API, authHeaders, errorOf } from "./api";

export async function downloadFile(goalId: string, path: string): Promise<void> {
  const url = `${API}/goals/${encodeURIComponent(goalId)}/files/${path.split("/").map(encodeURIComponent).join("/")}`;
  const res = await fetch(url, { headers: authHeaders() });
  if (!res.ok) throw await errorOf(res);
  // As octet-stream: whatever the file claims to be (HTML from a web page, say), this page never renders it.
  const blob = new Blob([await res.arrayBuffer()], { type: "application/octet-stream" });
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = path.split("/").at(-1) || "file";
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
}
