import type { Bus } from "@skyferry/bus";
import { ensureIndexes } from "@skyferry/db";
import type { Db } from "mongodb";
import type { Grants } from "../crypto/grants.ts";
import type { SecretBox } from "../crypto/secret-box.ts";
import { createIdentities } from "../identities/identities-repo.ts";
import type { IdentityTokenSource } from "../oidc/identity-tokens.ts";
import { cloudAuthzIndexes, createCloudAuthzRepo } from "./cloud-authz-repo.ts";
import { createCloudAuthz } from "./cloud-authz-service.ts";
import { serveCloudAuthz } from "./handlers.ts";
import type { ProviderSettings } from "./provider.ts";
import { createProviderRegistry } from "./providers/index.ts";

/** Cloud authorizations: indexes, the service and its NATS handlers. */
export async function createCloudAuthzModule(deps: {
  bus: Bus;
  db: Db;
  box: SecretBox;
  idTokens: IdentityTokenSource;
  settings: ProviderSettings;
  grants: Grants;
  now: () => Date;
}): Promise<{ subscriptions: Array<ReturnType<Bus["serve"]>> }> {
  const { bus, db, box, idTokens, settings, now, grants } = deps;
  await ensureIndexes(db, cloudAuthzIndexes);
  const cloud = createCloudAuthz({
    repo: createCloudAuthzRepo({ db }),
    box,
    providers: createProviderRegistry(),
    identities: createIdentities({ db, box, now }),
    idTokens,
    settings,
    now,
  });
  return { subscriptions: serveCloudAuthz({ bus, cloud, grants }) };
}
