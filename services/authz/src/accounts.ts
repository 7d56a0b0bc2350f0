import type { Bus } from "@skyferry/bus";
import { AuthzProvidersList } from "@skyferry/contracts";
import { ensureIndexes } from "@skyferry/db";
import type { Db } from "mongodb";
import { createApiKeys, apiKeyIndexes } from "./api-keys/api-keys-repo.ts";
import type { AuthzConfig } from "./config.ts";
import type { SecretBox } from "./crypto/secret-box.ts";
import { serveAccounts } from "./handlers/accounts.ts";
import { authFailureIndexes, createFailureLimiter } from "./auth-failures/failure-limiter.ts";
import { createIdentities, identityIndexes } from "./identities/identities-repo.ts";
import { createIdentityTokens, type IdentityTokenSource } from "./oidc/identity-tokens.ts";
import { createLoginStates, loginStateIndexes } from "./oidc/login-states-repo.ts";
import { createLogin } from "./oidc/login.ts";
import { createOidcProviders } from "./oidc/providers.ts";
import { createSessions, sessionIndexes } from "./sessions/sessions-repo.ts";
import { createUsers, userIndexes } from "./users/users-repo.ts";

export interface Accounts {
  /** Current ID tokens of identities, for cloud authorizations (AWS web identity). */
  identityTokens: IdentityTokenSource;
  subscriptions: Array<ReturnType<Bus["serve"]>>;
}

/** Users, identities, sessions, API keys and OIDC sign-in: repositories, indexes and handlers. */
export async function createAccounts(deps: { config: AuthzConfig; bus: Bus; db: Db; box: SecretBox; now: () => Date }): Promise<Accounts> {
  const { config, bus, db, box, now } = deps;
  await ensureIndexes(db, { ...userIndexes, ...identityIndexes, ...sessionIndexes, ...apiKeyIndexes, ...loginStateIndexes, ...authFailureIndexes });
  const oidc = createOidcProviders(config.SKYFERRY_OIDC_PROVIDERS, { devInsecureIssuers: config.SKYFERRY_OIDC_DEV_INSECURE_ISSUERS });
  const users = createUsers({ db, now });
  const identities = createIdentities({ db, box, now });
  const sessions = createSessions({ db, now, ttlSeconds: config.SKYFERRY_SESSION_TTL_SECONDS });
  const apiKeys = createApiKeys({ db, now });
  const loginStates = createLoginStates({ db, box, now, ttlSeconds: config.SKYFERRY_LOGIN_STATE_TTL_SECONDS });
  const failures = createFailureLimiter({ db, limit: config.SKYFERRY_AUTH_FAILURE_LIMIT, windowMs: config.SKYFERRY_AUTH_FAILURE_WINDOW_MS, now });
  const login = createLogin({ providers: oidc, loginStates, identities, users, sessions });
  return {
    identityTokens: createIdentityTokens({ identities, oidc, now }),
    subscriptions: [
      ...serveAccounts({ bus, login, users, identities, sessions, apiKeys, failures, now }),
      bus.serve(AuthzProvidersList, async () => ({ providers: oidc.names().map((name) => ({ name })) })),
    ],
  };
}
