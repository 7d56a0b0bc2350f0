import {
  AnonymousCredential,
  BlobServiceClient,
  StorageSharedKeyCredential,
  type ContainerClient,
  type StoragePipelineOptions,
} from "@azure/storage-blob";
import type { TokenCredential } from "@azure/identity";
import { createRenewer } from "@skyferry/storage";
import { guardedPipeline } from "./outbound.ts";
import type { AzureStoreOptions, ExpiringToken } from "./options.ts";

const FIVE_MINUTES = 5 * 60_000;

/** Hands out container clients; with a renewing SAS each call may carry a fresher SAS. */
export interface AzureClients {
  container(name: string): Promise<ContainerClient>;
}

const stripSas = (sas: string): string => sas.replace(/^\?/, "");

/** Builds the clients for a store from its auth option. Sends no request. */
export function createAzureClients(options: AzureStoreOptions): AzureClients {
  const url = options.accountUrl.replace(/\/+$/, "");
  const margin = options.refreshMarginMs ?? FIVE_MINUTES;
  const tryTimeoutMs = options.tryTimeoutMs ?? 120_000;
  const pipelineOptions: StoragePipelineOptions = {
    retryOptions: { maxTries: options.maxTries ?? 3, tryTimeoutInMs: tryTimeoutMs },
  };
  const fixed = (svc: BlobServiceClient): AzureClients => ({ container: async (name) => svc.getContainerClient(name) });
  const auth = options.auth;
  if (auth.kind === "shared_key") {
    return fixed(new BlobServiceClient(url, guardedPipeline(new StorageSharedKeyCredential(auth.accountName, auth.accountKey), pipelineOptions, options.outbound, tryTimeoutMs)));
  }
  if (auth.kind === "bearer") {
    const credential = typeof auth.token === "function" ? renewingTokenCredential(auth.token, margin) : auth.token;
    return fixed(new BlobServiceClient(url, guardedPipeline(credential, pipelineOptions, options.outbound, tryTimeoutMs)));
  }
  const pipeline = guardedPipeline(new AnonymousCredential(), pipelineOptions, options.outbound, tryTimeoutMs);
  const source = auth.sas;
  if (typeof source === "string") return fixed(new BlobServiceClient(`${url}?${stripSas(source)}`, pipeline));
  const current = createRenewer(async () => {
    const got = await source();
    return { value: stripSas(got.sas), expiresAt: got.expiresAt };
  }, margin);
  let last: { sas: string; svc: BlobServiceClient } | undefined;
  return {
    container: async (name) => {
      const { value } = await current();
      if (last?.sas !== value) last = { sas: value, svc: new BlobServiceClient(`${url}?${value}`, pipeline) };
      return last.svc.getContainerClient(name);
    },
  };
}

/**
 * A TokenCredential over a token function. The SDK asks for a token on every request once expiry
 * is near; the renewer answers from its cache and calls the function once per renewal.
 */
export function renewingTokenCredential(fn: () => Promise<ExpiringToken>, marginMs: number): TokenCredential {
  const current = createRenewer(async () => {
    const t = await fn();
    return { value: t.token, expiresAt: t.expiresAt };
  }, marginMs);
  return {
    getToken: async () => {
      const t = await current();
      return { token: t.value, expiresOnTimestamp: t.expiresAt };
    },
  };
}
