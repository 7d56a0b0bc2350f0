// The authz service's MongoDB indexes, by collection, for tools that check its data model (the
// index check of the tests, test/indexes).
import type { IndexDescription } from "mongodb";
import { apiKeyIndexes } from "./api-keys/api-keys-repo.ts";
import { authFailureIndexes } from "./auth-failures/failure-limiter.ts";
import { cloudAuthzIndexes } from "./cloud-authz/cloud-authz-repo.ts";
import { identityIndexes } from "./identities/identities-repo.ts";
import { loginStateIndexes } from "./oidc/login-states-repo.ts";
import { sessionIndexes } from "./sessions/sessions-repo.ts";
import { userIndexes } from "./users/users-repo.ts";

export const AUTHZ_INDEXES: Record<string, IndexDescription[]> = {
  ...userIndexes,
  ...identityIndexes,
  ...sessionIndexes,
  ...apiKeyIndexes,
  ...loginStateIndexes,
  ...cloudAuthzIndexes,
  ...authFailureIndexes,
};
