import { isDuplicateKeyError } from "@skyferry/db";
import { isSkyferryError, truncate } from "@skyferry/errors";
import * as client from "openid-client";
import { identityTaken, loginFailed, providerUnavailable } from "../errors.ts";
import type { Identities, IdentityTokens } from "../identities/identities-repo.ts";
import type { Sessions } from "../sessions/sessions-repo.ts";
import type { Users } from "../users/users-repo.ts";
import type { LoginStates } from "./login-states-repo.ts";
import type { OidcProviders } from "./providers.ts";

export interface LoginBegin {
  provider: string;
  redirectUri: string;
  linkUserId?: string;
}

export interface LoginResult {
  sessionId: string;
  sessionExpiresAt: Date;
  userId: string;
  identityId: string;
  email: string;
  newUser: boolean;
}

export interface Login {
  begin(input: LoginBegin): Promise<{ authorizationUrl: string; state: string; expiresAt: Date }>;
  /** Verifies the callback (state, code with PKCE, ID token) and opens a session. */
  complete(provider: string, query: string): Promise<LoginResult>;
}

export interface LoginDeps {
  providers: OidcProviders;
  loginStates: LoginStates;
  identities: Identities;
  users: Users;
  sessions: Sessions;
}

/** Authorization code flow with PKCE, state and nonce (openid-client does the protocol checks). */
export function createLogin({ providers, loginStates, identities, users, sessions }: LoginDeps): Login {
  return {
    async begin({ provider, redirectUri, linkUserId }) {
      const settings = providers.settings(provider);
      const config = await providers.configuration(provider);
      const codeVerifier = client.randomPKCECodeVerifier();
      const state = client.randomState();
      const nonce = client.randomNonce();
      const expiresAt = await loginStates.put(state, { provider, codeVerifier, nonce, redirectUri, linkUserId: linkUserId ?? null });
      const url = client.buildAuthorizationUrl(config, {
        ...settings.params,
        redirect_uri: redirectUri,
        scope: settings.scopes,
        response_type: "code",
        code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
        code_challenge_method: "S256",
        state,
        nonce,
      });
      return { authorizationUrl: url.href, state, expiresAt };
    },

    async complete(provider, query) {
      providers.settings(provider);
      const params = new URLSearchParams(query);
      const state = params.get("state");
      if (!state) throw loginFailed("the callback carries no state.");
      const started = await loginStates.take(state);
      if (!started || started.provider !== provider) throw loginFailed("unknown or expired sign-in state; start the sign-in again.");
      const error = params.get("error");
      if (error) throw loginFailed(`the provider answered '${truncate(error, 64)}'.`);
      const config = await providers.configuration(provider);
      const currentUrl = new URL(started.redirectUri);
      currentUrl.search = params.toString();
      let tokens: Awaited<ReturnType<typeof client.authorizationCodeGrant>>;
      try {
        tokens = await client.authorizationCodeGrant(config, currentUrl, {
          pkceCodeVerifier: started.codeVerifier,
          expectedState: state,
          expectedNonce: started.nonce,
          idTokenExpected: true,
        });
      } catch (err) {
        throw exchangeError(provider, err);
      }
      const claims = tokens.claims();
      if (!claims || !tokens.id_token) throw loginFailed("the provider returned no ID token.");
      const email = typeof claims.email === "string" ? claims.email : await userinfoEmail(config, tokens.access_token, claims.sub);
      if (!email) throw loginFailed("the provider did not share an email address (scope 'email').");
      const identityTokens: IdentityTokens = {
        idToken: tokens.id_token,
        refreshToken: tokens.refresh_token ?? null,
        expiresAt: new Date(claims.exp * 1000),
      };
      const { userId, identityId, newUser } = await attach(provider, claims.sub, email, identityTokens, started.linkUserId);
      await users.touchLogin(userId);
      const session = await sessions.create(userId, identityId);
      return { sessionId: session.sessionId, sessionExpiresAt: session.expiresAt, userId, identityId, email, newUser };
    },
  };

  /** Finds the identity by (provider, subject) or creates it, with a new user unless linking. */
  async function attach(provider: string, subject: string, email: string, tokens: IdentityTokens, linkUserId: string | null) {
    for (let attempt = 0; attempt < 2; attempt++) {
      const existing = await identities.findBySubject(provider, subject);
      if (existing) {
        if (linkUserId && existing.user_id !== linkUserId) throw identityTaken();
        await identities.updateTokens(existing._id, tokens, email);
        return { userId: existing.user_id, identityId: existing._id, newUser: false };
      }
      const userId = linkUserId ?? (await users.create(email))._id;
      try {
        const doc = await identities.insert({ userId, provider, subject, email, tokens });
        return { userId, identityId: doc._id, newUser: !linkUserId };
      } catch (err) {
        // A concurrent first sign-in of the same account won; use its identity.
        if (!isDuplicateKeyError(err)) throw err;
      }
    }
    throw loginFailed("the identity could not be stored; try again.");
  }
}

async function userinfoEmail(config: client.Configuration, accessToken: string, subject: string): Promise<string | undefined> {
  try {
    const info = await client.fetchUserInfo(config, accessToken, subject);
    return typeof info.email === "string" ? info.email : undefined;
  } catch {
    return undefined;
  }
}

/** Refusals by the provider or failed checks are 401s; an unreachable provider is a 503. */
function exchangeError(provider: string, err: unknown): Error {
  if (isSkyferryError(err)) return err;
  if (err instanceof client.ResponseBodyError) return loginFailed(`the provider refused the code (${truncate(err.error, 64)}).`, err);
  if (err instanceof client.AuthorizationResponseError) return loginFailed(`the provider answered '${truncate(err.error, 64)}'.`, err);
  if (err instanceof client.ClientError) {
    const claim = failedClaim(err);
    const what = claim ? `the ID token's '${claim}' claim` : "the provider's answer";
    return loginFailed(`${what} did not verify (${truncate(err.message, 160)}).`, err);
  }
  return providerUnavailable(provider, err);
}

/** The JWT claim a failed check names (oauth4webapi puts it in the error's cause), e.g. `aud`, `exp`, `nonce`. */
function failedClaim(err: Error): string | undefined {
  let cause: unknown = err;
  for (let depth = 0; depth < 3 && cause && typeof cause === "object"; depth++) {
    const claim = (cause as { claim?: unknown }).claim;
    if (typeof claim === "string" && /^[\w.]{1,32}$/.test(claim)) return claim;
    cause = (cause as { cause?: unknown }).cause;
  }
  return undefined;
}
