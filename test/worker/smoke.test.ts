import { describe, expect, it } from "vitest";
import { api, call } from "./api";

describe("smoke", () => {
  it("health", async () => {
    const res = await call("GET", "/health");
    expect(res.status).toBe(200);
    expect(res.body.ok).toBe(true);
  });
  it("creates a goal", async () => {
    const res = await api.post("/goals", { objective: "x", schedule: { cron: "0 16 * * 5", timezone: "Europe/Berlin" } });
    expect(res.status).toBe(201);
    expect(res.body.nextFireTimes).toHaveLength(3);
  });
});
