import { randomUUID } from "node:crypto";
import type { ActorSigner } from "@skyferry/actor";
import type { Bus } from "@skyferry/bus";
import { AuthzResolveActor, joinSendResultPages, PublicTransferSend, TransferSendPaged } from "@skyferry/contracts";

/**
 * `<ns>.rpc.public.transfer.send.v1`: the seed's send for external NATS publishers (docs/trust.md).
 * A publisher proves who it acts for with the SHA-256 of the user's API key, never by naming a
 * user: the gateway resolves the hash through authz as for HTTP, signs the actor assertion, and
 * forwards the send to transfer; the answer is HTTP's (an unknown key: 401 AUTHZ_KEY_INVALID).
 */
export function servePublicTransferSend(deps: { bus: Bus; signer: ActorSigner; timeoutMs: number }): ReturnType<Bus["serve"]> {
  const { bus, signer, timeoutMs } = deps;
  return bus.serve(
    PublicTransferSend,
    async (req, ctx) => {
      const { api_key_sha256, ...body } = req;
      const who = await bus.request(AuthzResolveActor, { api_key_sha256 }, { timeoutMs });
      const request_id = ctx.messageId.slice(0, 128);
      const assertion = await signer.sign({ user_id: who.user_id, request_id });
      return joinSendResultPages(
        bus.requestMany(
          TransferSendPaged,
          { ...body, actor: { user_id: who.user_id, request_id, assertion }, idempotency_key: body.idempotency_key ?? randomUUID() },
          { timeoutMs: Math.max(timeoutMs, 120_000) },
        ),
      );
    },
    { concurrency: 16 },
  );
}
