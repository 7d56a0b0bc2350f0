import { AnonymousCredential, BlobServiceClient, StorageSharedKeyCredential, type StoragePipelineOptions } from "@azure/storage-blob";
import { classifyFailure } from "@skyferry/storage";
import { guardedPipeline } from "@skyferry/storage-azure";
import type { AzureCredentials } from "@skyferry/contracts";
import type { AccessCheck, ProviderSettings } from "../provider.ts";

/** A blob service client for issued Azure credentials (one try per request: a check, not a transfer). */
export function azureServiceClient(c: AzureCredentials, settings: Pick<ProviderSettings, "timeoutMs" | "outbound">): BlobServiceClient {
  const url = c.account_url.replace(/\/+$/, "");
  const options: StoragePipelineOptions = { retryOptions: { maxTries: 1, tryTimeoutInMs: settings.timeoutMs } };
  if (c.auth.type === "shared_key") return new BlobServiceClient(url, guardedPipeline(new StorageSharedKeyCredential(c.account, c.auth.account_key), options, settings.outbound));
  if (c.auth.type === "sas") return new BlobServiceClient(`${url}?${c.auth.sas.replace(/^\?/, "")}`, guardedPipeline(new AnonymousCredential(), options, settings.outbound));
  const token = c.auth.token;
  return new BlobServiceClient(url, guardedPipeline({ getToken: async () => ({ token, expiresOnTimestamp: Date.now() + 60_000 }) }, options, settings.outbound));
}

/**
 * Checks Azure credentials with one listing: the first blob of `bucket` (a container), or the first
 * container of the account. A listing's error body carries the service's code and reason.
 */
export async function checkAzureAccess(c: AzureCredentials, bucket: string | undefined, settings: Pick<ProviderSettings, "timeoutMs" | "outbound">): Promise<AccessCheck> {
  const checked = bucket === undefined ? "account" : "bucket";
  const svc = azureServiceClient(c, settings);
  try {
    if (bucket === undefined) await svc.listContainers().byPage({ maxPageSize: 1 }).next();
    else await svc.getContainerClient(bucket).listBlobsFlat().byPage({ maxPageSize: 1 }).next();
    return { ok: true, checked };
  } catch (err) {
    return { ok: false, checked, failure: classifyFailure(err) };
  }
}
