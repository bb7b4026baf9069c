/** Pieces of route definitions that several resources use. */
import { z } from "zod";
import { ErrorBody } from "./schemas";
import { jsonContent } from "./router";

export const IdParam = z.object({ id: z.string().min(1).max(100) });

export const errorResponses = {
  400: jsonContent(ErrorBody, "Invalid input: the message names each field"),
  401: jsonContent(ErrorBody, "Missing or wrong bearer token"),
  404: jsonContent(ErrorBody, "Not found"),
} as const;
