/** Sign-in with the API token: checked against the API before it is kept (session storage, this tab only). */
import { useState } from "preact/hooks";
import { api, messageOf, signIn, signOutReason } from "../lib/api";

export function SignIn() {
  const [value, setValue] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  async function submit(e: Event) {
    e.preventDefault();
    const t = value.trim();
    if (!t) return setError("Paste the API token (API_TOKEN of the Worker).");
    setBusy(true);
    setError(null);
    try {
      await api("GET", "/goals?limit=1", { token: t });
      signIn(t);
    } catch (err) {
      setError(`That token was not accepted: ${messageOf(err)}`);
    } finally {
      setBusy(false);
    }
  }
  return (
    <section class="narrow">
      <h1>Sign in</h1>
      <p>
        Paste the Worker's API token (<code>API_TOKEN</code>; under <code>npm run dev</code> it is in <code>.dev.vars</code>). It stays in this tab only, until
        you sign out or close the tab.
      </p>
      {signOutReason.value && (
        <p class="error" role="status">
          {signOutReason.value}
        </p>
      )}
      <form onSubmit={submit}>
        <div class="field">
          <label for="token">API token</label>
          <input
            id="token"
            type="password"
            autoComplete="current-password"
            value={value}
            onInput={(e) => setValue(e.currentTarget.value)}
            aria-describedby={error ? "token-error" : undefined}
            aria-invalid={error ? true : undefined}
          />
        </div>
        {error && (
          <p id="token-error" class="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" disabled={busy}>
          {busy ? "Checking…" : "Sign in"}
        </button>
      </form>
    </section>
  );
}
