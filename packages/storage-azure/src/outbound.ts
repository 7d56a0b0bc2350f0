import {
  type AnonymousCredential,
  newPipeline,
  type Pipeline,
  type RequestPolicy,
  type StoragePipelineOptions,
  type StorageSharedKeyCredential,
  type WebResource,
} from "@azure/storage-blob";
import type { TokenCredential } from "@azure/identity";
import { guardedAgents, type OutboundPolicy } from "@skyferry/outbound-policy";
import { inSpan, SpanKind } from "@skyferry/tracing";

const hostOf = (url: string): string => {
  try {
    return new URL(url).host;
  } catch {
    return "";
  }
};

/**
 * The SDK's default pipeline, plus (with a policy) a last step that hands each request an agent
 * whose connections pass the outbound policy first: the address actually connected to is checked,
 * after DNS, so a name that rebinds to a refused address fails before any byte is sent.
 */
export function guardedPipeline(credential: StorageSharedKeyCredential | AnonymousCredential | TokenCredential, options: StoragePipelineOptions, policy: OutboundPolicy | undefined, idleTimeoutMs?: number): Pipeline {
  const pipeline = newPipeline(credential, options);
  // Each request to Azure (each try) as a client span of the job's trace; the URL (the blob's name) is not recorded.
  pipeline.factories.push({
    create: (next: RequestPolicy): RequestPolicy => ({
      sendRequest: (request: WebResource) =>
        inSpan("skyferry-storage", `Azure Blob ${request.method}`, { "http.request.method": request.method, "server.address": hostOf(request.url) }, async (span) => {
          const response = await next.sendRequest(request);
          span.setAttribute("http.response.status_code", response.status);
          return response;
        }, { kind: SpanKind.CLIENT }),
    }),
  });
  if (!policy) return pipeline;
  // The SDK's tryTimeoutInMs only asks the service to give up (its `timeout` URL parameter): a
  // stalled connection would hang the try for good. The agents end one after idleTimeoutMs.
  const agents = guardedAgents(policy, { keepAlive: true }, idleTimeoutMs);
  pipeline.factories.push({
    create: (next: RequestPolicy): RequestPolicy => ({
      sendRequest: (request: WebResource) => {
        // The compat layer passes `agent` through to core-rest-pipeline's Node client.
        request.agent = request.url.startsWith("https:") ? agents.https : agents.http;
        return next.sendRequest(request);
      },
    }),
  });
  return pipeline;
}
