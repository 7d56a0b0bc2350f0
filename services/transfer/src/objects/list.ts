import type { Actor, RpcRequest, RpcResponse, TransferObjectsList } from "@skyferry/contracts";
import { malformedId } from "@skyferry/errors";
import type { ObjectStore } from "@skyferry/storage";
import { invalidBucket } from "../errors.ts";
import { bucketError } from "../get/errors.ts";
import type { JobDoc } from "../jobs/job-doc.ts";
import { bucketNameProblem } from "../send/bucket-name.ts";
import type { StoreFor } from "../worker/stores.ts";

export interface ObjectListerDeps {
  /** 404 unless the actor owns the authorization. */
  describeAuthz: (actor: Actor, authzId: string) => Promise<{ provider: JobDoc["provider"] }>;
  openStore: (who: StoreFor) => Promise<ObjectStore>;
  /** Page size when the caller gives none, and the most one page may hold. */
  defaultLimit: number;
  maxLimit: number;
}

const ID = /^[0-9a-f]{16}$/;

/** One page of a bucket: objects and common prefixes, with the cursor of the next page. */
export function createObjectLister(deps: ObjectListerDeps) {
  return async function listObjects(req: RpcRequest<typeof TransferObjectsList>): Promise<RpcResponse<typeof TransferObjectsList>> {
    if (!ID.test(req.authz_id)) throw malformedId("authz_id", req.authz_id);
    const { provider } = await deps.describeAuthz(req.actor, req.authz_id);
    const problem = bucketNameProblem(provider, req.bucket);
    if (problem) throw invalidBucket(req.bucket, problem);
    const store = await deps.openStore({ user_id: req.actor.user_id, authz_id: req.authz_id, actor: req.actor });
    try {
      const page = await store
        .list(req.bucket, {
          limit: Math.min(req.limit ?? deps.defaultLimit, deps.maxLimit),
          ...(req.prefix ? { prefix: req.prefix } : {}),
          ...(req.delimiter ? { delimiter: req.delimiter } : {}),
          ...(req.cursor ? { cursor: req.cursor } : {}),
        })
        .catch((err: unknown) => Promise.reject(bucketError(req.bucket, err)));
      return {
        bucket: req.bucket,
        objects: page.objects.map((o) => ({ key: o.key, size: o.size, last_modified: o.lastModified ? o.lastModified.toISOString() : null, etag: o.etag })),
        prefixes: page.prefixes,
        next_cursor: page.cursor ?? null,
      };
    } finally {
      await store.close();
    }
  };
}
