import { timingSafeEqual } from "node:crypto";
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "@sinclair/typebox";
import type { Bus } from "@skyferry/bus";
import { AuthzIdentitiesList, AuthzIdentityDisconnect, AuthzLoginBegin, AuthzLoginComplete, AuthzResolveActor, AuthzSessionLogout, IdentitySummary, ProviderName } from "@skyferry/contracts";
import { forbidden, unauthorized } from "@skyferry/errors";
import type { FastifyRequest } from "fastify";
import { actorOf, authenticated, credentialsOf, hashedCredentials, SESSION_COOKIE, sha256Hex } from "../plugins/auth.ts";

/** Binds a sign-in to the browser that started it (login CSRF): the callback's state must match. */
export const LOGIN_COOKIE = "skyferry_login_state";

export interface AuthnzRouteOptions {
  bus: Bus;
  timeoutMs: number;
  /** e.g. https://skyferry.example.org; empty: taken from the request. */
  publicUrl: string;
}

const ProviderParams = Type.Object({ provider: ProviderName });

/** Galaxy's OIDC web routes: `/authnz/{provider}/login|callback|disconnect/{email}`, `/authnz/`, `/authnz/logout`. */
export const authnzRoutes: FastifyPluginAsyncTypebox<AuthnzRouteOptions> = async (app, opts) => {
  const { bus, timeoutMs } = opts;
  const origin = (req: FastifyRequest) => opts.publicUrl || `${req.protocol}://${req.host}`;
  const secure = (req: FastifyRequest) => origin(req).startsWith("https://");

  app.get(
    "/authnz/:provider/login",
    {
      schema: {
        summary: "Start signing in with an OpenID Connect provider: `{redirect_uri}`, or a redirect for browsers",
        params: ProviderParams,
        querystring: Type.Object({ redirect: Type.Optional(Type.Boolean()), idphint: Type.Optional(Type.String({ maxLength: 256 })), key: Type.Optional(Type.String()) }),
        response: { 200: Type.Object({ redirect_uri: Type.String() }) },
      },
    },
    async (req, reply) => {
      const { provider } = req.params;
      const { redirect } = req.query;
      // A signed-in user who starts a sign-in connects the new identity to their account.
      const linkUserId = await signedInUser(bus, req, timeoutMs);
      const begun = await bus.request(
        AuthzLoginBegin,
        { provider, redirect_uri: `${origin(req)}/authnz/${provider}/callback`, ...(linkUserId ? { link_user_id: linkUserId } : {}) },
        { timeoutMs },
      );
      const maxAge = Math.max(1, Math.floor((Date.parse(begun.expires_at) - Date.now()) / 1000));
      void reply.setCookie(LOGIN_COOKIE, begun.state, { path: "/authnz", httpOnly: true, sameSite: "lax", secure: secure(req), maxAge });
      void reply.header("cache-control", "no-store");
      if (redirect || wantsHtml(req)) return reply.redirect(begun.authorization_url, 302);
      return { redirect_uri: begun.authorization_url };
    },
  );

  app.get(
    "/authnz/:provider/callback",
    { schema: { summary: "Where the provider sends the browser back; opens a session and redirects to /", params: ProviderParams } },
    async (req, reply) => {
      const { provider } = req.params;
      const query = req.url.includes("?") ? req.url.slice(req.url.indexOf("?") + 1) : "";
      const state = new URLSearchParams(query).get("state") ?? "";
      const bound = req.cookies[LOGIN_COOKIE] ?? "";
      if (!state || !bound || !sameText(state, bound)) {
        throw unauthorized("AUTHZ_LOGIN_FAILED", "Sign-in failed: the state does not match the sign-in this browser started; start again.");
      }
      const done = await bus.request(AuthzLoginComplete, { provider, query }, { timeoutMs });
      void reply.clearCookie(LOGIN_COOKIE, { path: "/authnz" });
      void reply.setCookie(SESSION_COOKIE, done.session_id, {
        path: "/",
        httpOnly: true,
        sameSite: "lax",
        secure: secure(req),
        expires: new Date(done.session_expires_at),
      });
      void reply.header("cache-control", "no-store");
      return reply.redirect("/", 302);
    },
  );

  await app.register(authenticated(identityRoutes), { bus, timeoutMs });

  app.get("/authnz/logout", async (req, reply) => {
    refuseCrossSite(req);
    const session = req.cookies[SESSION_COOKIE];
    if (session && session.length <= 256) await bus.request(AuthzSessionLogout, { session_id_sha256: sha256Hex(session) }, { timeoutMs });
    void reply.clearCookie(SESSION_COOKIE, { path: "/" });
    return { message: "You have been logged out." };
  });
};

/** The signed-in caller's identities: list them, disconnect one. */
const identityRoutes: FastifyPluginAsyncTypebox<{ bus: Bus; timeoutMs: number }> = async (app, { bus, timeoutMs }) => {
  for (const url of ["/authnz", "/authnz/"]) {
    app.get(
      url,
      { schema: { summary: "The caller's third-party identities; `id` is an `authn_id`", response: { 200: Type.Array(IdentitySummary) } } },
      async (req) => (await bus.request(AuthzIdentitiesList, { actor: actorOf(req) }, { timeoutMs })).identities,
    );
  }

  app.get(
    "/authnz/:provider/disconnect/:email",
    { schema: { summary: "Disconnect one of the caller's identities; redirects to /", params: Type.Object({ provider: ProviderName, email: Type.String({ minLength: 1, maxLength: 320 }) }) } },
    async (req, reply) => {
      refuseCrossSite(req);
      const { provider, email } = req.params;
      await bus.request(AuthzIdentityDisconnect, { actor: actorOf(req), provider, email }, { timeoutMs });
      return reply.redirect("/", 302);
    },
  );
};

/** The user behind the request's key or session, or undefined when there is none or it is invalid. */
async function signedInUser(bus: Bus, req: FastifyRequest, timeoutMs: number): Promise<string | undefined> {
  const creds = credentialsOf(req);
  if (!creds.api_key && !creds.session_id) return undefined;
  try {
    return (await bus.request(AuthzResolveActor, hashedCredentials(creds), { timeoutMs })).user_id;
  } catch {
    return undefined;
  }
}

function wantsHtml(req: FastifyRequest): boolean {
  return (req.headers.accept ?? "").includes("text/html");
}

/**
 * These routes change state on GET (Galaxy's shape), which SameSite=Lax cookies would allow from
 * another site's link; browsers say where a request came from in Sec-Fetch-Site.
 */
function refuseCrossSite(req: FastifyRequest): void {
  const site = req.headers["sec-fetch-site"];
  if (site === "cross-site" || site === "same-site") throw forbidden("AUTH_CROSS_SITE", "This request must come from this site.");
}

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

