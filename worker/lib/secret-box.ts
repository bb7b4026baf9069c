/**
 * Encryption at rest for values we must send but never show (an MCP server's header values): AES-GCM
 * (WebCrypto) with a 256-bit key from the MCP_SECRETS_KEY secret. Each value gets a fresh 96-bit IV, and
 * the row's name is bound in as additional data, so a sealed value copied onto another row does not open.
 * Sealed form: `v1.<iv base64>.<ciphertext+tag base64>`.
 */
import type { Env } from "./env";

const VERSION = "v1";
export const SECRETS_KEY_VAR = "MCP_SECRETS_KEY";

const b64 = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes));
const unb64 = (text: string) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));

/** Why the key cannot be used (naming the variable), or null when it can. */
export function secretsKeyProblem(env: Env): string | null {
  const raw = env.MCP_SECRETS_KEY;
  if (!raw) return `${SECRETS_KEY_VAR} is not set`;
  try {
    if (unb64(raw).length === 32) return null;
  } catch {
    /* not base64: said below */
  }
  return `${SECRETS_KEY_VAR} must be the base64 of 32 random bytes (openssl rand -base64 32)`;
}

const keys = new Map<string, Promise<CryptoKey>>();
function keyOf(env: Env): Promise<CryptoKey> {
  const problem = secretsKeyProblem(env);
  if (problem) return Promise.reject(new Error(problem));
  const raw = env.MCP_SECRETS_KEY;
  let key = keys.get(raw);
  if (!key) {
    key = crypto.subtle.importKey("raw", unb64(raw), "AES-GCM", false, ["encrypt", "decrypt"]);
    keys.set(raw, key);
  }
  return key;
}

/** Encrypts `plain` for the row `context` (its primary key). Throws when the key is missing or malformed. */
export async function seal(env: Env, context: string, plain: string): Promise<string> {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const additionalData = new TextEncoder().encode(context);
  const sealed = await crypto.subtle.encrypt({ name: "AES-GCM", iv, additionalData }, await keyOf(env), new TextEncoder().encode(plain));
  return `${VERSION}.${b64(iv)}.${b64(new Uint8Array(sealed))}`;
}

/** Decrypts what `seal` made for the same `context`. Throws, saying why, on a wrong key, context or a damaged value. */
export async function open(env: Env, context: string, sealed: string): Promise<string> {
  const [version, iv, data] = sealed.split(".");
  if (version !== VERSION || !iv || !data) throw new Error("the stored secret is not in a known format");
  const additionalData = new TextEncoder().encode(context);
  try {
    const plain = await crypto.subtle.decrypt({ name: "AES-GCM", iv: unb64(iv), additionalData }, await keyOf(env), unb64(data));
    return new TextDecoder().decode(plain);
  } catch (e) {
    if (e instanceof Error && e.message.startsWith(SECRETS_KEY_VAR)) throw e;
    throw new Error(`the stored secret does not open with this ${SECRETS_KEY_VAR} (was the key changed? register the server again)`);
  }
}
