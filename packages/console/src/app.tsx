import type { UserView } from "@skyferry/contracts";
import { useEffect, useRef } from "preact/hooks";
import { ok } from "@skyferry/client/browser";
import { forgetCsrf, sky, UNAUTHORIZED_EVENT } from "./api/client.ts";
import { ApiKeyPage } from "./pages/api-key/api-key-page.tsx";
import { CloudAuthzPage } from "./pages/cloud-authz/cloud-authz-page.tsx";
import { GetPage } from "./pages/get/get-page.tsx";
import { HistoriesPage } from "./pages/histories/histories-page.tsx";
import { HistoryContentsPage } from "./pages/histories/history-contents-page.tsx";
import { JobsPage } from "./pages/jobs/jobs-page.tsx";
import { SendPage } from "./pages/send/send-page.tsx";
import { SignInPage } from "./pages/signin/signin-page.tsx";
import { type Route, useRoute } from "./route.ts";
import { ErrorBox, Loading } from "./ui/messages.tsx";
import { useLoad } from "./ui/use-load.ts";

const PAGES = [
  { id: "histories", label: "Histories" },
  { id: "send", label: "Send" },
  { id: "get", label: "Get from cloud" },
  { id: "jobs", label: "Jobs" },
  { id: "authz", label: "Cloud authorizations" },
  { id: "key", label: "API key" },
] as const;

/** The signed-in user, or null when the session is missing or expired. */
async function currentUser(): Promise<UserView | null> {
  // Not through call(): its 401 event would ask for this very check again.
  const result = await sky.api.GET("/api/users/current");
  if (result.response.status === 401 || result.response.status === 403) return null;
  return ok(result);
}

export function App() {
  const route = useRoute();
  const user = useLoad(currentUser);
  const main = useRef<HTMLElement>(null);
  const page = route.path[0] ?? "histories";

  // Move focus to the page on navigation so keyboard and screen-reader users land on it (not on
  // the first load: there focus starts at the top, with the skip link).
  const navigated = useRef(false);
  useEffect(() => {
    if (navigated.current) main.current?.focus({ preventScroll: true });
    navigated.current = true;
    const label = PAGES.find((p) => p.id === page)?.label;
    document.title = label ? `${label} · skyferry` : "skyferry";
  }, [page]);

  // A 401 while signed in: look at the session again (the sign-in page if it has ended).
  const signedIn = !!user.data;
  useEffect(() => {
    if (!signedIn) return;
    addEventListener(UNAUTHORIZED_EVENT, user.reload);
    return () => removeEventListener(UNAUTHORIZED_EVENT, user.reload);
  }, [signedIn, user.reload]);

  const signOut = async () => {
    await fetch("/authnz/logout", { credentials: "same-origin" }).catch(() => undefined);
    forgetCsrf();
    user.reload();
  };

  return (
    <>
      <a class="skip-link" href="#main" onClick={(e) => { e.preventDefault(); main.current?.focus(); }}>
        Skip to content
      </a>
      <header class="topbar">
        <a class="brand" href="#/histories">skyferry</a>
        {user.data ? (
          <nav aria-label="Main">
            <ul class="nav">
              {PAGES.map((p) => (
                <li key={p.id}>
                  <a href={`#/${p.id}`} aria-current={page === p.id ? "page" : undefined}>
                    {p.label}
                  </a>
                </li>
              ))}
            </ul>
          </nav>
        ) : null}
        {user.data ? (
          <div class="who">
            <span class="muted" data-testid="user-email">{user.data.email}</span>
            <button type="button" class="link" onClick={() => void signOut()}>
              Sign out
            </button>
          </div>
        ) : null}
      </header>
      <main id="main" ref={main} tabIndex={-1}>
        {user.loading && user.data === undefined ? <Loading what="your session" /> : null}
        <ErrorBox error={user.error} title="Could not check your session" />
        {!user.loading && user.data === null ? <SignInPage /> : null}
        {user.data ? <Page route={route} page={page} /> : null}
      </main>
    </>
  );
}

function Page({ route, page }: { route: Route; page: string }) {
  switch (page) {
    case "key":
      return <ApiKeyPage />;
    case "authz":
      return <CloudAuthzPage />;
    case "histories":
      return route.path[1] ? <HistoryContentsPage historyId={route.path[1]} /> : <HistoriesPage />;
    case "send":
      return <SendPage initialHistoryId={route.params.get("history") ?? undefined} />;
    case "get":
      return <GetPage params={route.params} />;
    case "jobs":
      return <JobsPage ids={route.params.get("ids")?.split(",").filter(Boolean)} />;
    default:
      return (
        <section>
          <h1>Page not found</h1>
          <p>
            There is no page <code>{page}</code>. Go to <a href="#/histories">your histories</a>.
          </p>
        </section>
      );
  }
}
