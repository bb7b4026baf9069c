/** Removes configured secret values from text that may reach the model, outputs, logs or API responses. */
import type { Env } from "../context";

const SECRET_NAME = /(KEY|SECRET|TOKEN|PASSWORD)$/;

export function redactSecrets(env: Env, text: string): string {
  let out = text;
  for (const [name, value] of Object.entries(env as unknown as Record<string, unknown>)) {
    if (SECRET_NAME.test(name) && typeof value === "string" && value.length >= 6) out = out.split(value).join("[redacted]");
  }
  return out;
}
