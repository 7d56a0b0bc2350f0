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
import type { CloudAuthz } from "./cloud-authz-service.ts";

/** The NATS handlers for cloud authorizations and credential vending. */
export function serveCloudAuthz({ bus, cloud }: { bus: Bus; cloud: CloudAuthz }): Array<ReturnType<Bus["serve"]>> {
  return [
    bus.serve(AuthzCloudList, async ({ actor }) => cloud.list(actor.user_id)),
    bus.serve(AuthzCloudCreate, async ({ actor, input }) => cloud.create(actor.user_id, input)),
    bus.serve(AuthzCloudGet, async ({ actor, authz_id }) => cloud.get(actor.user_id, authz_id)),
    bus.serve(AuthzCloudUpdate, async ({ actor, authz_id, changes }) => cloud.update(actor.user_id, authz_id, changes)),
    bus.serve(AuthzCloudDelete, async ({ actor, authz_id }) => cloud.remove(actor.user_id, authz_id)),
    bus.serve(AuthzCloudTest, async ({ actor, authz_id, bucket }) => cloud.test(actor.user_id, authz_id, bucket)),
    bus.serve(AuthzIssueCredentials, async ({ actor, authz_id }) => cloud.issue(actor.user_id, authz_id)),
    bus.serve(AuthzDescribe, async ({ actor, authz_id }) => cloud.describe(actor.user_id, authz_id)),
  ];
}
