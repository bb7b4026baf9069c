/** /api/v1/llm/validate: can the configured (or given) provider and model do tool calling? */
import { createRoute } from "@hono/zod-openapi";
import { validateLlm } from "../../llm/validate";
import { errorResponses } from "../common";
import { jsonContent, newRouter } from "../router";
import { LlmValidateRequest, LlmValidation } from "../schemas";

export const llm = newRouter().openapi(
  createRoute({
    method: "post",
    path: "/validate",
    tags: ["llm"],
    summary: "Check the LLM setup (cached for a few minutes): provider, model, ok, reason",
    request: { body: { content: { "application/json": { schema: LlmValidateRequest } }, required: false } },
    responses: { 200: jsonContent(LlmValidation, "The result of the check"), ...errorResponses },
  }),
  async (c) => {
    // The body is optional: without one the deployment's configuration is checked.
    const body = (c.req.valid("json") as LlmValidateRequest | undefined) ?? {};
    return c.json(await validateLlm(c.env, null, body), 200);
  },
);
