import { call, sky } from "../../api/client.ts";
import { ErrorBox, Loading } from "../../ui/messages.tsx";
import { useLoad } from "../../ui/use-load.ts";

const label = (name: string) => (name === "google" ? "Google" : name.charAt(0).toUpperCase() + name.slice(1));

/** One button per configured OpenID Connect provider (`GET /authnz/providers`). */
export function SignInPage() {
  const providers = useLoad(() => call(() => sky.api.GET("/authnz/providers")));
  return (
    <section class="narrow" aria-labelledby="signin-title">
      <h1 id="signin-title">Sign in</h1>
      <p>
        Sign in to copy datasets from your histories to your own S3 or Azure storage. Scripts use an API key instead, which you can
        create once signed in.
      </p>
      {providers.loading ? <Loading what="sign-in providers" /> : null}
      <ErrorBox error={providers.error} title="Could not list the sign-in providers" />
      {providers.data && providers.data.length === 0 ? (
        <p class="alert alert-error" role="alert">
          No sign-in provider is configured on this server (SKYFERRY_OIDC_PROVIDERS).
        </p>
      ) : null}
      <ul class="stack">
        {(providers.data ?? []).map((p) => (
          <li key={p.name}>
            {/* A plain navigation: the gateway redirects to the provider, which redirects back. */}
            <a class="button button-primary button-wide" href={p.login_url}>
              Sign in with {label(p.name)}
            </a>
          </li>
        ))}
      </ul>
      {(providers.data ?? []).some((p) => p.name === "local") ? (
        <p class="muted" data-testid="local-provider-hint">
          The local provider of the development stack (<code>npm start</code>) asks for a user name: any name works, and each name is
          a user of its own. To work as a second user, sign out and sign in with another name, or use a private window.
        </p>
      ) : null}
    </section>
  );
}
