import type { Bus } from "@skyferry/bus";
import {
  AuthzApiKeyCreate,
  AuthzApiKeyDelete,
  AuthzApiKeyDescribe,
  AuthzApiKeysRevoked,
  AuthzIdentitiesList,
  AuthzIdentityDisconnect,
  AuthzLoginBegin,
  AuthzLoginComplete,
  AuthzResolveActor,
  AuthzSessionLogout,
  AuthzUserGet,
} from "@skyferry/contracts";
import type { ApiKeys } from "../api-keys/api-keys-repo.ts";
import type { FailureLimiter } from "../auth-failures/failure-limiter.ts";
import { maskedKey } from "../api-keys/api-keys-repo.ts";
import { identityNotFound, keyInvalid, sessionInvalid, userNotFound } from "../errors.ts";
import type { Identities } from "../identities/identities-repo.ts";
import type { Login } from "../oidc/login.ts";
import type { Sessions } from "../sessions/sessions-repo.ts";
import { type Users, userView } from "../users/users-repo.ts";

export interface AccountDeps {
  bus: Bus;
  login: Login;
  users: Users;
  identities: Identities;
  sessions: Sessions;
  apiKeys: ApiKeys;
  failures: FailureLimiter;
  now: () => Date;
}

/** The NATS handlers for sign-in, sessions, identities, the current user and API keys. */
export function serveAccounts({ bus, login, users, identities, sessions, apiKeys, failures, now }: AccountDeps): Array<ReturnType<Bus["serve"]>> {
  const liveUser = async (userId: string) => {
    const user = await users.get(userId);
    if (!user) throw userNotFound();
    return user;
  };
  const announceRevoked = (userId: string) => bus.emit(AuthzApiKeysRevoked, [userId], { user_id: userId, time: now().toISOString() });

  return [
    // By hash only: the gateway never sends a key or a session id in clear.
    // Credentials are resolved first: a valid key or session is never throttled; only a failure
    // is counted (per client address and per credential) and, over the limit, answered 429.
    bus.serve(AuthzResolveActor, async ({ api_key_sha256, session_id_sha256, client }) => {
      if (api_key_sha256 !== undefined) {
        const owner = await apiKeys.resolveHash(api_key_sha256);
        const user = owner && (await users.get(owner.userId));
        if (!user) throw await failures.refuse({ client, credentialSha256: api_key_sha256 }, keyInvalid());
        return { user_id: user._id, email: user.email, via: "api_key" as const };
      }
      const session = session_id_sha256 === undefined ? null : await sessions.resolveHash(session_id_sha256);
      const user = session && (await users.get(session.userId));
      if (!user) throw await failures.refuse({ client, credentialSha256: session_id_sha256 ?? "none" }, sessionInvalid());
      return { user_id: user._id, email: user.email, via: "session" as const };
    }),

    bus.serve(AuthzLoginBegin, async ({ provider, redirect_uri, link_user_id }) => {
      const r = await login.begin({ provider, redirectUri: redirect_uri, linkUserId: link_user_id });
      return { authorization_url: r.authorizationUrl, state: r.state, expires_at: r.expiresAt.toISOString() };
    }),

    bus.serve(AuthzLoginComplete, async ({ provider, query }) => {
      const r = await login.complete(provider, query);
      return {
        session_id: r.sessionId,
        session_expires_at: r.sessionExpiresAt.toISOString(),
        user_id: r.userId,
        authn_id: r.identityId,
        email: r.email,
        new_user: r.newUser,
      };
    }),

    bus.serve(AuthzSessionLogout, async ({ session_id_sha256 }) => ({ ended: await sessions.endHash(session_id_sha256) })),

    bus.serve(AuthzIdentitiesList, async ({ actor }) => ({
      identities: (await identities.listByUser(actor.user_id)).map((i) => ({ id: i._id, provider: i.provider, email: i.email })),
    })),

    bus.serve(AuthzIdentityDisconnect, async ({ actor, provider, email }) => {
      const id = await identities.deleteOwned(actor.user_id, provider, email);
      if (!id) throw identityNotFound();
      await sessions.endForIdentity(id);
      return { disconnected: id };
    }),

    bus.serve(AuthzUserGet, async ({ actor }) => userView(await liveUser(actor.user_id))),

    bus.serve(AuthzApiKeyCreate, async ({ actor, only_if_none }) => {
      await liveUser(actor.user_id);
      if (only_if_none) {
        const existing = await apiKeys.current(actor.user_id);
        if (existing) return { created: false, key: null, create_time: existing.create_time.toISOString() };
      }
      const { key, createTime, revoked } = await apiKeys.create(actor.user_id);
      if (revoked > 0) announceRevoked(actor.user_id);
      return { created: true, key, create_time: createTime.toISOString() };
    }),

    bus.serve(AuthzApiKeyDescribe, async ({ actor }) => {
      const doc = await apiKeys.current(actor.user_id);
      return doc ? { key: maskedKey(doc), create_time: doc.create_time.toISOString() } : null;
    }),

    bus.serve(AuthzApiKeyDelete, async ({ actor }) => {
      const revoked = await apiKeys.revokeAll(actor.user_id);
      if (revoked > 0) announceRevoked(actor.user_id);
      return { revoked };
    }),
  ];
}
