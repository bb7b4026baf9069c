/**
 * Debian's Chromium driven by playwright-core (it cannot download a browser here; .ci/run installs the package).
 * Each page records every dialog (alert/confirm/prompt) so a test can assert that nothing from data ran, and
 * every uncaught page error and Content-Security-Policy violation. Screenshots go to .artifacts/browser/
 * (gitignored) for a person to look at.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";
import { TEST_API_TOKEN } from "../bindings.ts";

export const ARTIFACTS = new URL("../../.artifacts/browser/", import.meta.url).pathname;
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

export async function launch(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    // Without the background-networking flags Chromium keeps calling hosts this network refuses (PLATFORM.md).
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
  });
}

export type Watched = { page: Page; dialogs: string[]; errors: string[] };

export async function openPage(browser: Browser, opts: { width?: number; height?: number; colorScheme?: "light" | "dark" } = {}): Promise<Watched> {
  const context = await browser.newContext({
    viewport: { width: opts.width ?? 1280, height: opts.height ?? 860 },
    colorScheme: opts.colorScheme ?? "light",
    acceptDownloads: true,
  });
  const page = await context.newPage();
  const dialogs: string[] = [];
  const errors: string[] = [];
  page.on("dialog", (d) => {
    dialogs.push(`${d.type()}: ${d.message()}`);
    void d.dismiss();
  });
  page.on("pageerror", (e) => errors.push(e.message));
  // A Content-Security-Policy violation means the page tried something its headers forbid: a bug either way.
  page.on("console", (m) => m.type() === "error" && /Content Security Policy/i.test(m.text()) && errors.push(m.text()));
  return { page, dialogs, errors };
}

/** Signs in through the form, as a person does. */
export async function signIn(page: Page, url: string, token = TEST_API_TOKEN): Promise<void> {
  await page.goto(url);
  await page.getByLabel("API token").fill(token);
  await page.getByRole("button", { name: "Sign in" }).click();
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const path = join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/** Scripts the fake LLM for objectives carrying `[script:<key>]` (test/fakes/llm.ts). */
export async function scriptLlm(llmPort: number, key: string, script: unknown): Promise<void> {
  const res = await fetch(`http://127.0.0.1:${llmPort}/__scripts`, { method: "POST", body: JSON.stringify({ key, script }) });
  if (!res.ok) throw new Error(`scripting the fake LLM: ${res.status}`);
}
