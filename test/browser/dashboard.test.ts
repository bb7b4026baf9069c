/**
 * The dashboard in a real browser (Debian's Chromium) against a real Worker (wrangler dev with the fake LLM and
 * web): sign-in, goals, schedules, live runs, files, actions, escaping of data, phone width. A screenshot of each
 * main page lands in .artifacts/browser/.
 */
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { TEST_API_TOKEN } from "../bindings";
import { MARKUP_TEXT } from "../fakes/pages";
import { launch, openPage, screenshot, scriptLlm, signIn, type Watched } from "./browser";

const url = inject("dashboardUrl");
const ports = inject("fakePorts");
const pages = `http://127.0.0.1:${ports.pages}`;

async function apiCall<T = any>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
  const res = await fetch(`${url}/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${TEST_API_TOKEN}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

/** Nothing on the page is wider than the viewport (no horizontal scroll). */
const horizontalOverflow = (page: Page) => page.evaluate<number>("document.documentElement.scrollWidth - document.documentElement.clientWidth");

let browser: Browser;
beforeAll(async () => {
  browser = await launch();
});
afterAll(async () => {
  await browser?.close();
});

describe("sign-in", () => {
  it("refuses a wrong token saying so, signs in with the right one, and signs out", async () => {
    const { page, errors } = await openPage(browser);
    await page.goto(url);
    await expect.poll(() => page.getByRole("heading", { name: "Sign in" }).isVisible()).toBe(true);
    // Keyboard first: the first Tab reaches the skip link, and focus is visible (an outline).
    await page.keyboard.press("Tab");
    expect(await page.evaluate<string>("document.activeElement.textContent")).toBe("Skip to content");
    expect(await page.evaluate<string>("getComputedStyle(document.activeElement).outlineStyle")).toBe("solid");
    await screenshot(page, "sign-in");
    await signIn(page, url, "wrong-token");
    await expect.poll(() => page.getByRole("alert").textContent()).toMatch(/not accepted: invalid bearer token/);
    await expect.poll(() => page.evaluate(() => sessionStorage.length)).toBe(0);
    await signIn(page, url);
    await expect.poll(() => page.getByRole("heading", { name: "Goals" }).isVisible()).toBe(true);
    expect(await page.evaluate(() => sessionStorage.getItem("async-agent.token"))).toBe(TEST_API_TOKEN);
    await page.getByRole("button", { name: "Sign out" }).click();
    await expect.poll(() => page.getByRole("heading", { name: "Sign in" }).isVisible()).toBe(true);
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
    expect(errors).toEqual([]);
    await page.context().close();
  });
});

describe("goals and runs", () => {
  let w: Watched;
  beforeAll(async () => {
    w = await openPage(browser);
    await signIn(w.page, url);
    await w.page.getByRole("heading", { name: "Goals" }).waitFor();
  });
  afterAll(async () => {
    expect(w.errors).toEqual([]);
    await w.page.context().close();
  });

  it("creates a goal with a schedule, showing the schedule in words and its next 5 fire times as it is typed", async () => {
    const { page } = w;
    await page.getByRole("link", { name: "New goal" }).click();
    await page.getByLabel("Objective").fill("Weekly digest of the fake web");
    await page.getByLabel("Cron (minute hour day month weekday)").fill("0 16 * * 6");
    await page.getByLabel("Time zone").selectOption("Europe/Berlin");
    const preview = page.locator("#schedule-preview");
    await expect.poll(() => preview.textContent()).toContain("Saturdays at 16:00, Europe/Berlin");
    // An invalid cron says what is wrong, as the API does.
    await page.getByLabel("Cron (minute hour day month weekday)").fill("0 16 * *");
    await expect.poll(() => preview.textContent()).toMatch(/cron: expected 5 fields/);
    await page.getByLabel("Cron (minute hour day month weekday)").fill("0 16 * * 5");
    await expect.poll(() => preview.locator("li").count()).toBe(5);
    expect(await preview.textContent()).toContain("Fridays at 16:00");
    for (const li of await preview.locator("li").allTextContents())
      expect(li).toMatch(/^Fri \d{4}-\d\d-\d\d 16:00 \S+ \((in \d+ hours|tomorrow|in \d+ days)\)$/);
    await screenshot(page, "goal-form");
    await page.getByRole("button", { name: "Create goal" }).click();
    await expect.poll(() => page.getByRole("heading", { name: "Weekly digest of the fake web" }).isVisible()).toBe(true);
    await expect.poll(() => page.locator(".fire-times li").count()).toBe(3);
    expect(await page.textContent("main")).toContain("Fridays at 16:00, Europe/Berlin");
    const goalId = page.url().split("/goals/")[1];
    const stored = await apiCall("GET", `/goals/${goalId}`);
    expect(stored.body.schedule).toEqual({ cron: "0 16 * * 5", timezone: "Europe/Berlin" });

    // Edit: the form starts from the goal; params it does not show (fetchPolicy here) are kept.
    await apiCall("PATCH", `/goals/${goalId}`, { params: { fetchPolicy: "any", stepBudget: 5 } });
    await page.getByRole("link", { name: "Edit" }).click();
    await expect.poll(() => page.getByLabel("Steps per run").inputValue()).toBe("5");
    await page.getByLabel("Steps per run").fill("7");
    await page.locator('input[name="allowedTools"][value="fetch_page"]').check();
    await page.locator('input[name="allowedTools"][value="finish"]').check();
    await page.getByRole("button", { name: "Save" }).click();
    await page.waitForURL(`${url}/goals/${goalId}`);
    const edited = (await apiCall("GET", `/goals/${goalId}`)).body;
    expect(edited.params).toEqual({ fetchPolicy: "any", stepBudget: 7, allowedTools: ["fetch_page", "finish"] });
    expect(edited.schedule).toEqual({ cron: "0 16 * * 5", timezone: "Europe/Berlin" });
    // A value the API refuses comes back as its message, naming the field; nothing changes.
    await page.getByRole("link", { name: "Edit" }).click();
    await page.getByLabel("Steps per run").fill("500");
    await page.getByRole("button", { name: "Save" }).click();
    await expect.poll(() => page.getByRole("alert").textContent()).toMatch(/^params\.stepBudget: /);
    expect((await apiCall("GET", `/goals/${goalId}`)).body.params.stepBudget).toBe(7);
  });

  it("runs a goal: steps appear live, then the timeline, the summary as markdown, and its file downloads", async () => {
    const { page } = w;
    const report = "# Report\n\nAlpha released.\n";
    await scriptLlm(ports.llm, "dash-live", {
      turns: [
        // The first reply comes late, so the run page is open (with no steps) before step 1 exists.
        { delayMs: 1500, text: "Reading the notes first.", toolCalls: [{ name: "fetch_page", arguments: { url: `${pages}/notes.txt` } }] },
        // A slow second turn: the first step is on screen, live, while the run is still going.
        { delayMs: 2500, toolCalls: [{ name: "write_file", arguments: { path: "reports/today.md", content: report } }] },
        { toolCalls: [{ name: "finish", arguments: { summary: "## Done\n\n- read **the notes**\n- wrote `reports/today.md`" } }] },
      ],
    });
    const goal = (await apiCall("POST", "/goals", { objective: `[script:dash-live] Summarise ${pages}/notes.txt` })).body;
    await page.goto(`${url}/goals/${goal.id}`);
    await page.getByRole("button", { name: "Run now" }).click();
    await page.getByRole("button", { name: "Start run" }).click();
    await page.waitForURL(/\/runs\/run_/);
    const steps = page.getByTestId("steps").locator("> li");
    await expect.poll(() => page.locator(".live").textContent()).toBe("live");
    await expect.poll(() => steps.count(), { timeout: 20_000 }).toBeGreaterThanOrEqual(1);
    // Step 1 is shown while the run still goes (its second turn is delayed): it came over the live stream.
    expect(await page.locator("h1 .badge").textContent()).toMatch(/running|pending/);
    expect(await steps.first().textContent()).toContain("plain text notes");
    await expect.poll(() => page.locator("h1 .badge").textContent(), { timeout: 30_000 }).toBe("completed");
    await expect.poll(() => steps.count()).toBe(3);
    expect(await page.locator(".lanes > li").count()).toBe(3);
    expect(await page.locator(".bar.model").count()).toBeGreaterThanOrEqual(1);
    const summary = page.locator(".summary .markdown");
    expect(await summary.locator("h2").textContent()).toBe("Done");
    expect(await summary.locator("strong").textContent()).toBe("the notes");
    await screenshot(page, "run-detail");

    const download = page.waitForEvent("download");
    await page.getByRole("button", { name: "reports/today.md" }).first().click();
    const file = await download;
    expect(file.suggestedFilename()).toBe("today.md");
    const stream = await file.createReadStream();
    let text = "";
    for await (const chunk of stream) text += chunk;
    expect(text).toBe(report);

    await page.goto(`${url}/goals/${goal.id}`);
    await expect.poll(() => page.locator(".runs tbody tr").count()).toBe(1);
    expect(await page.locator(".files").textContent()).toContain("reports/today.md");
    await screenshot(page, "goal-detail");
  });

  it("after the run's stream drops, reconnects with Last-Event-ID and still shows every step", async () => {
    const { page } = w;
    await scriptLlm(ports.llm, "dash-drop", {
      turns: [
        { delayMs: 1500, toolCalls: [{ name: "fetch_page", arguments: { url: `${pages}/notes.txt` } }] },
        { toolCalls: [{ name: "finish", arguments: { summary: "Read it." } }] },
      ],
    });
    const goal = (await apiCall("POST", "/goals", { objective: `[script:dash-drop] read ${pages}/notes.txt` })).body;
    const run = (await apiCall("POST", `/goals/${goal.id}/run`, {})).body;
    // The first connection delivers run.started (id 0) and then ends, as a dropped connection does; later ones go through.
    const asked: (string | null)[] = [];
    await page.route(`**/api/v1/runs/${run.id}/stream`, async (route) => {
      asked.push(route.request().headers()["last-event-id"] ?? null);
      if (asked.length > 1) return route.continue();
      await route.fulfill({ status: 200, contentType: "text/event-stream", body: `retry: 200\n\nevent: run.started\nid: 0\ndata: ${JSON.stringify(run)}\n\n` });
    });
    await page.goto(`${url}/runs/${run.id}`);
    await expect.poll(() => page.locator("h1 .badge").textContent(), { timeout: 30_000 }).toBe("completed");
    await expect.poll(() => page.getByTestId("steps").locator("> li").count()).toBe(2);
    expect(asked.slice(0, 2)).toEqual([null, "0"]);
    await page.unroute(`**/api/v1/runs/${run.id}/stream`);
  });

  it("pauses and resumes a goal, enables and disables its inbound webhook, and deletes it (after a confirmation)", async () => {
    const { page } = w;
    const goal = (await apiCall("POST", "/goals", { objective: "Pause me", schedule: { cron: "0 * * * *" } })).body;
    await page.goto(`${url}/goals/${goal.id}`);
    await page.getByRole("button", { name: "Pause" }).click();
    await expect.poll(() => page.locator("main .badge").first().textContent()).toBe("paused");
    expect((await apiCall("GET", `/goals/${goal.id}`)).body.status).toBe("paused");
    await page.getByRole("button", { name: "Resume" }).click();
    await expect.poll(() => page.locator("main .badge").first().textContent()).toBe("active");
    expect((await apiCall("GET", `/goals/${goal.id}`)).body.status).toBe("active");
    // The inbound webhook: enabled with its secret shown once, then disabled.
    await page.getByRole("button", { name: "Enable" }).click();
    await expect.poll(() => page.getByRole("status").textContent()).toMatch(/^Secret \(shown only now\): whsec_/);
    expect(await page.locator("main").textContent()).toContain(`${url}/hooks/`);
    expect((await apiCall("GET", `/goals/${goal.id}/trigger`)).body.enabled).toBe(true);
    await page.getByRole("button", { name: "Disable" }).click();
    await expect.poll(() => page.getByText("Off: other services cannot start this goal.").isVisible()).toBe(true);
    expect((await apiCall("GET", `/goals/${goal.id}/trigger`)).body.enabled).toBe(false);
    await page.getByRole("button", { name: "Delete" }).click();
    await page.getByRole("button", { name: "Keep it" }).click();
    expect((await apiCall("GET", `/goals/${goal.id}`)).status).toBe(200);
    await page.getByRole("button", { name: "Delete" }).click();
    await page.getByRole("button", { name: "Delete goal" }).click();
    await page.waitForURL(`${url}/`);
    await expect.poll(async () => (await apiCall("GET", `/goals/${goal.id}`)).status).toBe(404);
    await page.getByRole("heading", { name: "Goals" }).waitFor();
    await page.waitForLoadState("networkidle");
    await screenshot(page, "goals");
  });

  it("shows an objective, a page observation and a summary that look like HTML as text, and runs none of it", async () => {
    const { page, dialogs } = w;
    const objective = `<img src=x onerror=alert(1)> [script:dash-xss] read ${pages}/markup.txt`;
    await scriptLlm(ports.llm, "dash-xss", {
      turns: [
        { toolCalls: [{ name: "fetch_page", arguments: { url: `${pages}/markup.txt` } }] },
        {
          toolCalls: [
            {
              name: "finish",
              arguments: { summary: 'Found <script>alert("summary")</script> and <img src=x onerror=alert("summary-img")> [x](javascript:alert(5))' },
            },
          ],
        },
      ],
    });
    const goal = (await apiCall("POST", "/goals", { objective })).body;
    const run = (await apiCall("POST", `/goals/${goal.id}/run`, {})).body;
    await page.goto(`${url}/goals`);
    await expect.poll(() => page.getByRole("link", { name: objective }).count()).toBe(1);
    const res = await page.goto(`${url}/goals/${goal.id}`);
    // Behind the escaping, the page's own policy allows no script but its bundle.
    expect(res?.headers()["content-security-policy"]).toContain("script-src 'self'");
    await page.locator("h1.objective").waitFor();
    expect(await page.locator("h1.objective").textContent()).toBe(objective);
    await page.goto(`${url}/runs/${run.id}`);
    await expect.poll(() => page.locator("h1 .badge").textContent(), { timeout: 30_000 }).toBe("completed");
    const observation = await page.getByTestId("steps").locator("li").first().locator("pre").last().textContent();
    expect(observation).toContain(MARKUP_TEXT.slice(0, 40));
    expect(await page.locator("main").textContent()).toContain('<script>alert("from-page")</script>');
    // Nothing from data became an element: no script or image in the page body, no javascript: link.
    expect(await page.locator("main script, main img, main iframe").count()).toBe(0);
    expect(await page.locator('main a[href^="javascript"]').count()).toBe(0);
    await screenshot(page, "run-xss");
    expect(dialogs).toEqual([]);
  });
});

describe("people in the loop", () => {
  it("shows a call waiting for approval with its input, and approving it there lets the run go on and finish", async () => {
    const { page, errors, dialogs } = await openPage(browser);
    await signIn(page, url);
    await page.getByRole("heading", { name: "Goals" }).waitFor();
    await scriptLlm(ports.llm, "dash-approve", {
      turns: [
        {
          text: "Writing the note needs a yes.",
          toolCalls: [{ name: "write_file", arguments: { path: "notes/approved.md", content: "approved <b>text</b>" } }],
        },
        { toolCalls: [{ name: "finish", arguments: { summary: "Wrote the note once approved." } }] },
      ],
    });
    const goal = (await apiCall("POST", "/goals", { objective: "[script:dash-approve] write a note", params: { requireApproval: ["write_file"] } })).body;
    const run = (await apiCall("POST", `/goals/${goal.id}/run`, {})).body;
    await page.goto(`${url}/runs/${run.id}`);
    const panel = page.locator("section.waiting");
    await expect.poll(() => panel.isVisible(), { timeout: 30_000 }).toBe(true);
    expect(await page.locator("h1 .badge").textContent()).toBe("waiting");
    expect(await panel.getByRole("heading").textContent()).toBe("Waiting for your approval");
    expect(await panel.locator("code").textContent()).toBe("write_file");
    expect(await panel.locator("pre").textContent()).toContain('"content": "approved <b>text</b>"');
    await screenshot(page, "run-waiting");
    await panel.getByLabel("Note for the agent (optional)").fill("fine by me");
    await panel.getByRole("button", { name: "Approve" }).click();
    await expect.poll(() => page.locator("h1 .badge").textContent(), { timeout: 30_000 }).toBe("completed");
    expect(await page.locator("section.waiting").count()).toBe(0);
    const files = (await apiCall("GET", `/goals/${goal.id}/files`)).body.items.map((f: { path: string }) => f.path);
    expect(files).toEqual(["notes/approved.md"]);
    expect(dialogs).toEqual([]);
    expect(errors).toEqual([]);
    await page.context().close();
  });
});

describe("people in the loop: questions", () => {
  it("shows the agent's question with its choices as text, and a click on a choice answers it", async () => {
    const { page, errors, dialogs } = await openPage(browser);
    await signIn(page, url);
    await page.getByRole("heading", { name: "Goals" }).waitFor();
    await scriptLlm(ports.llm, "dash-ask", {
      turns: [
        { toolCalls: [{ name: "ask_user", arguments: { question: "Which region <b>first</b>?", choices: ["EU", "US"] } }] },
        { toolCalls: [{ name: "finish", arguments: { summary: "Started with the answer." } }] },
      ],
    });
    const goal = (await apiCall("POST", "/goals", { objective: "[script:dash-ask] ask first", params: { allowedTools: ["ask_user", "finish"] } })).body;
    const run = (await apiCall("POST", `/goals/${goal.id}/run`, {})).body;
    await page.goto(`${url}/runs/${run.id}`);
    const panel = page.locator("section.waiting");
    await expect.poll(() => panel.isVisible(), { timeout: 30_000 }).toBe(true);
    expect(await panel.getByRole("heading").textContent()).toBe("Waiting for your answer");
    expect(await panel.locator(".question").textContent()).toBe("Which region <b>first</b>?");
    await panel.getByRole("button", { name: "EU" }).click();
    await expect.poll(() => page.locator("h1 .badge").textContent(), { timeout: 30_000 }).toBe("completed");
    const steps = (await apiCall("GET", `/runs/${run.id}/steps`)).body.items;
    expect(steps[0]).toMatchObject({ toolName: "ask_user" });
    expect(steps[0].observation).toContain("EU");
    expect(dialogs).toEqual([]);
    expect(errors).toEqual([]);
    await page.context().close();
  });
});

describe("other pages", () => {
  it("renders the API reference with fields and an example, and 'Try it' sends the signed-in token", async () => {
    const { page, errors } = await openPage(browser);
    await signIn(page, url);
    await page.getByRole("heading", { name: "Goals" }).waitFor();
    await page.getByRole("link", { name: "API" }).click();
    await page.getByRole("heading", { name: /async-agent API/ }).waitFor();
    const create = page.locator("details.op", { hasText: "Create a goal" }).first();
    await create.locator("> summary").click();
    expect(await create.textContent()).toMatch(/objective\s*string.*required/);
    const preview = page.locator("details.op", { hasText: "Preview a schedule" }).first();
    await preview.locator("> summary").click();
    await preview.getByLabel(/^cron/).fill("0 9 * * 1");
    await preview.getByRole("button", { name: "Send GET" }).click();
    await expect.poll(() => preview.locator("pre.answer").textContent()).toMatch(/^200 OK[\s\S]*Mondays at 09:00/);
    await screenshot(page, "api-reference");
    // A plain load of /docs (a bookmark) gets the same page.
    await page.goto(`${url}/docs`);
    await page.getByRole("heading", { name: /async-agent API/ }).waitFor();
    // A registered MCP server shows on the Server page with its status, tools and header names (never values).
    const mcp = (await (await fetch(`http://127.0.0.1:${ports.mcp}/servers`, { method: "POST", body: JSON.stringify({ token: "mcp-secret-1" }) })).json()) as {
      url: string;
    };
    const registered = await apiCall("POST", "/mcp-servers", { name: "facts", url: `${mcp.url}/mcp`, headers: { Authorization: "Bearer mcp-secret-1" } });
    expect(registered.status).toBe(201);
    for (const [link, heading, ready] of [
      ["Usage", "Usage", "main p strong"],
      ["Server", "Server", "ul.mcp li"],
      ["Runs", "Runs", 'table.runs tbody tr, p:has-text("No runs")'],
    ]) {
      await page.getByRole("link", { name: link, exact: true }).click();
      await page.getByRole("heading", { name: heading, exact: true }).waitFor();
      await page.locator(ready).first().waitFor();
      await screenshot(page, heading.toLowerCase());
    }
    // Usage against the budgets: a goal with a monthly budget shows this month's spending beside it.
    const budgeted = (await apiCall("POST", "/goals", { objective: "Budgeted goal", params: { monthlyBudgetUsd: 5 } })).body;
    await page.getByRole("link", { name: "Usage", exact: true }).click();
    const row = page.locator("tr", { hasText: "Budgeted goal" });
    await expect.poll(() => row.count()).toBe(1);
    expect(await row.textContent()).toMatch(/\$0 · 0 tokens.*\$5\.00/);
    expect(await row.locator("meter").getAttribute("max")).toBe("5");
    expect(await page.locator("main").textContent()).toContain("(no MONTHLY_BUDGET_USD)");
    await screenshot(page, "usage");
    await apiCall("DELETE", `/goals/${budgeted.id}`);

    await page.getByRole("link", { name: "Server", exact: true }).click();
    const server = page.locator("ul.mcp li", { hasText: "facts" });
    await expect.poll(() => server.textContent()).toMatch(/facts\s*ready/);
    expect(await server.textContent()).toContain("facts__lookup");
    expect(await server.textContent()).toContain("Headers: Authorization");
    expect(await page.locator("main").textContent()).not.toContain("mcp-secret-1");
    expect(errors).toEqual([]);
    await page.context().close();
  });

  it("fits a phone's width on every main page (no horizontal scroll), in dark mode too", async () => {
    const { page, errors } = await openPage(browser, { width: 390, height: 844, colorScheme: "dark" });
    await signIn(page, url);
    await page.getByRole("heading", { name: "Goals" }).waitFor();
    const goals = (await apiCall("GET", "/goals?limit=1")).body.items;
    const runs = (await apiCall("GET", "/runs?status=completed&limit=1")).body.items;
    const paths = ["/", "/goals/new", "/runs", "/usage", "/server", "/docs"];
    if (goals[0]) paths.push(`/goals/${goals[0].id}`);
    if (runs[0]) paths.push(`/runs/${runs[0].id}`);
    for (const path of paths) {
      await page.goto(url + path);
      await page.waitForLoadState("networkidle");
      expect(await horizontalOverflow(page), path).toBeLessThanOrEqual(0);
    }
    if (runs[0]) {
      await page.goto(`${url}/runs/${runs[0].id}`);
      await page.waitForLoadState("networkidle");
      await screenshot(page, "phone-run-detail");
    }
    await page.goto(url);
    await page.waitForLoadState("networkidle");
    await screenshot(page, "phone-goals");
    expect(errors).toEqual([]);
    await page.context().close();
  });
});
