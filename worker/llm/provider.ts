/**
 * `providerFor(env, goal)`: picks the provider explicitly from configuration (LLM_PROVIDER, or the goal's
 * params.provider/params.model) and builds it. There is no fallback: a missing key or model is an error
 * the run reports. The contracts are in types.ts, the error in errors.ts.
 */
import type { GoalRow } from "../db/schema";
import { PROVIDER_ENV, PROVIDERS } from "../domain/vocabulary";
import type { Env } from "../lib/env";
import { LlmError } from "./errors";
import { OllamaProvider } from "./ollama";
import { OpenAICompatibleProvider } from "./openai-compatible";
import type { LlmProvider, ProviderConfig, ProviderName } from "./types";

/** The provider and model a goal runs with: its params override the deployment's LLM_PROVIDER. */
export function configFor(env: Env, goal?: Pick<GoalRow, "params"> | null, override?: Partial<ProviderConfig>): ProviderConfig {
  const raw = override?.provider ?? goal?.params.provider ?? env.LLM_PROVIDER;
  if (!(PROVIDERS as readonly string[]).includes(raw))
    throw new LlmError(`LLM_PROVIDER "${raw}" is not one of ${PROVIDERS.join(", ")}: set LLM_PROVIDER`, true);
  const provider = raw as ProviderName;
  const envModel = env[PROVIDER_ENV[provider].model];
  const model = override?.model ?? goal?.params.model ?? envModel;
  if (!model) throw new LlmError(`${provider}: no model configured: set ${PROVIDER_ENV[provider].model}`, true);
  return { provider, model };
}

export function providerFor(env: Env, goal?: Pick<GoalRow, "params"> | null, override?: Partial<ProviderConfig>): LlmProvider {
  const { provider, model } = configFor(env, goal, override);
  if (provider === "ollama") return new OllamaProvider(env, model);
  return new OpenAICompatibleProvider(env, provider, model);
}
