/** The page shell: skip link, navigation, sign-in gate, and the page for the current path. */
import { signOut, token } from "./lib/api";
import { location, match } from "./lib/router";
import { ApiReference } from "./pages/docs";
import { GoalDetail } from "./pages/goal-detail";
import { GoalForm } from "./pages/goal-form";
import { Goals } from "./pages/goals";
import { RunDetail } from "./pages/run-detail";
import { Runs } from "./pages/runs";
import { Server } from "./pages/server";
import { SignIn } from "./pages/sign-in";
import { UsagePage } from "./pages/usage";

const NAV: [string, string][] = [
  ["/", "Goals"],
  ["/runs", "Runs"],
  ["/usage", "Usage"],
  ["/server", "Server"],
  ["/docs", "API"],
];

function page() {
  let p: Record<string, string> | null;
  if (match("/") || match("/goals")) return <Goals />;
  if (match("/goals/new")) return <GoalForm />;
  if ((p = match("/goals/:id/edit"))) return <GoalForm id={p.id} />;
  if ((p = match("/goals/:id"))) return <GoalDetail key={p.id} id={p.id} />;
  if (match("/runs")) return <Runs />;
  if ((p = match("/runs/:id"))) return <RunDetail key={p.id} id={p.id} />;
  if (match("/usage")) return <UsagePage />;
  if (match("/server")) return <Server />;
  if (match("/docs")) return <ApiReference />;
  return (
    <section>
      <h1>Not found</h1>
      <p>
        Nothing here. <a href="/">Back to the goals</a>.
      </p>
    </section>
  );
}

export function App() {
  const path = location.value.pathname;
  const current = (href: string) => (href === "/" ? path === "/" || path.startsWith("/goals") : path.startsWith(href));
  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <a class="brand" href="/">
          async-agent
        </a>
        {token.value && (
          <nav aria-label="Main">
            {NAV.map(([href, label]) => (
              <a key={href} href={href} aria-current={current(href) ? "page" : undefined}>
                {label}
              </a>
            ))}
            <button type="button" class="link" onClick={() => signOut()}>
              Sign out
            </button>
          </nav>
        )}
      </header>
      <main id="main" tabIndex={-1}>
        {token.value ? page() : <SignIn />}
      </main>
    </>
  );
}
