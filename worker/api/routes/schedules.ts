/**
 * /api/v1/schedules/preview: what a cron in a zone means before it is saved — the next fire times and the
 * schedule in words — so a form can validate as the user types (a bad cron or zone is a 400 naming it).
 */
import { createRoute } from "@hono/zod-openapi";
import { cronInWords } from "../../domain/cron-words";
import { formatLocal, nextFireTimes } from "../../domain/next-fire";
import { iso } from "../../lib/iso";
import { errorResponses } from "../common";
import { jsonContent, newRouter } from "../router";
import { SchedulePreview, SchedulePreviewQuery } from "../schemas";

export const schedules = newRouter().openapi(
  createRoute({
    method: "get",
    path: "/preview",
    tags: ["goals"],
    summary: "Preview a schedule: its next fire times in the zone and in UTC, and the schedule in words",
    request: { query: SchedulePreviewQuery },
    responses: { 200: jsonContent(SchedulePreview, "The preview"), ...errorResponses },
  }),
  (c) => {
    const { cron, timezone, count } = c.req.valid("query");
    const fireTimes = nextFireTimes(cron, timezone, new Date(), count).map((d) => ({ utc: iso(d.getTime()), local: formatLocal(d, timezone) }));
    return c.json({ cron, timezone, description: cronInWords(cron), fireTimes }, 200);
  },
);
