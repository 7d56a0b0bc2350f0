import type { Bus } from "@skyferry/bus";
import {
  AuthzCloudCreate,
  AuthzCloudDelete,
  AuthzCloudGet,
  AuthzCloudList,
  AuthzCloudTest,
  AuthzCloudUpdate,
  AuthzDescribe,
  AuthzIssueCredentials,
} from "@skyferry/contracts";
import { unauthorized } from "@skyferry/errors";
import type { Grants } from "../crypto/grants.ts";
import { authzNotFound } from "./errors.ts";
import type { CloudAuthz } from "./cloud-authz-service.ts";

/** The NATS handlers for cloud authorizations and credential vending. */
export function serveCloudAuthz({ bus, cloud, grants }: { bus: Bus; cloud: CloudAuthz; grants: Grants }): Array<ReturnType<Bus["serve"]>> {
  return [
    bus.serve(AuthzCloudList, async ({ actor }) => cloud.list(actor.user_id)),
    bus.serve(AuthzCloudCreate, async ({ actor, input }) => cloud.create(actor.user_id, input)),
    bus.serve(AuthzCloudGet, async ({ actor, authz_id }) => cloud.get(actor.user_id, authz_id)),
    bus.serve(AuthzCloudUpdate, async ({ actor, authz_id, changes }) => cloud.update(actor.user_id, authz_id, changes)),
    bus.serve(AuthzCloudDelete, async ({ actor, authz_id }) => cloud.remove(actor.user_id, authz_id)),
    bus.serve(AuthzCloudTest, async ({ actor, authz_id, bucket }) => cloud.test(actor.user_id, authz_id, bucket)),
    // A request's verified actor (bus.serve checked its assertion), or a job's grant: authz's own
    // signature, for this authorization; `issue` still checks the authorization is the user's.
    bus.serve(AuthzIssueCredentials, async ({ actor, grant, authz_id }) => {
      if (actor) return cloud.issue(actor.user_id, authz_id);
      if (!grant) throw unauthorized("AUTHZ_GRANT_MISSING", "Credentials are issued for a signed actor or a job grant; the request has neither.");
      const granted = grants.verify(grant);
      if (granted.authz_id !== authz_id) throw authzNotFound();
      return cloud.issue(granted.user_id, authz_id);
    }),
    bus.serve(AuthzDescribe, async ({ actor, authz_id, with_grant }) => {
      const view = await cloud.describe(actor.user_id, authz_id);
      return with_grant ? { ...view, grant: grants.issue(actor.user_id, authz_id) } : view;
    }),
  ];
}
