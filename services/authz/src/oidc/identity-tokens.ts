import { isSkyferryError } from "@skyferry/errors";
import * as client from "openid-client";
import { identityNotFound, needsReauth, providerUnavailable } from "../errors.ts";
import type { Identities, IdentityDoc } from "../identities/identities-repo.ts";
import type { OidcProviders } from "./providers.ts";

/** An ID token this close to expiry is refreshed first (STS must accept it when it arrives). */
const EXPIRY_MARGIN_MS = 60_000;

export interface IdentityTokenSource {
  /**
   * The identity's current ID token (for STS AssumeRoleWithWebIdentity), refreshed with its
   * refresh token when it has expired or is about to.
   * @param identityId the `authn_id`.
   * @param options.userId when given, the identity must belong to this user (else 404).
   * @throws AUTHZ_IDENTITY_NOT_FOUND (404); AUTHZ_NEEDS_REAUTH (401) when the token cannot be
   *   renewed (no refresh token, refresh refused, or no new ID token returned on refresh);
   *   AUTHZ_PROVIDER_UNAVAILABLE (503, retryable) when the provider cannot be reached.
   */
  getFreshIdToken(identityId: string, options?: { userId?: string }): Promise<string>;
}

export function createIdentityTokens({ identities, oidc, now }: { identities: Identities; oidc: OidcProviders; now: () => Date }): IdentityTokenSource {
  // One refresh per identity at a time: providers that rotate refresh tokens reject the second.
  const inFlight = new Map<string, Promise<string>>();

  async function refresh(doc: IdentityDoc): Promise<string> {
    const { refreshToken } = identities.openTokens(doc);
    if (!refreshToken) throw needsReauth("no refresh token was issued at sign-in");
    if (!oidc.names().includes(doc.provider)) throw needsReauth(`the provider '${doc.provider}' is no longer configured`);
    const config = await oidc.configuration(doc.provider);
    let res: Awaited<ReturnType<typeof client.refreshTokenGrant>>;
    try {
      res = await client.refreshTokenGrant(config, refreshToken);
    } catch (err) {
      if (err instanceof TypeError) throw providerUnavailable(doc.provider, err);
      throw needsReauth("the provider refused the refresh token", err);
    }
    const claims = res.claims();
    if (!res.id_token || !claims) {
      // Some providers answer a refresh with an access token only. Keep a rotated refresh token.
      if (res.refresh_token) {
        const stale = identities.openTokens(doc);
        await identities.updateTokens(doc._id, { ...stale, refreshToken: res.refresh_token });
      }
      throw needsReauth("the provider returned no new ID token on refresh");
    }
    if (claims.sub !== doc.subject) throw needsReauth("the refreshed ID token names another subject");
    await identities.updateTokens(doc._id, { idToken: res.id_token, refreshToken: res.refresh_token ?? null, expiresAt: new Date(claims.exp * 1000) });
    return res.id_token;
  }

  return {
    async getFreshIdToken(identityId, options = {}) {
      const doc = await identities.get(identityId);
      if (!doc || (options.userId !== undefined && doc.user_id !== options.userId)) throw identityNotFound();
      if (doc.expires_at.getTime() - EXPIRY_MARGIN_MS > now().getTime()) return identities.openTokens(doc).idToken;
      let p = inFlight.get(identityId);
      if (!p) {
        p = refresh(doc).finally(() => inFlight.delete(identityId));
        inFlight.set(identityId, p);
      }
      try {
        return await p;
      } catch (err) {
        if (isSkyferryError(err)) throw err;
        throw needsReauth("the refresh failed", err);
      }
    },
  };
}
