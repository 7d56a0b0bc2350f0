import { randomBytes } from "node:crypto";
import {
  AccountSASPermissions,
  AccountSASResourceTypes,
  AccountSASServices,
  BlobServiceClient,
  generateAccountSASQueryParameters,
  StorageSharedKeyCredential,
} from "@azure/storage-blob";
import { stackVar } from "@skyferry/storage/contract-suite";
import type { AzureStoreOptions, ExpiringSas } from "../src/index.ts";

/** The stack's Azurite with the shared key. */
export function azuriteOptions(): AzureStoreOptions {
  return {
    accountUrl: stackVar("AZURE_BLOB_ENDPOINT"),
    auth: { kind: "shared_key", accountName: stackVar("AZURE_STORAGE_ACCOUNT"), accountKey: stackVar("AZURE_STORAGE_KEY") },
  };
}

export function wrongKeyOptions(): AzureStoreOptions {
  return { ...azuriteOptions(), auth: { kind: "shared_key", accountName: stackVar("AZURE_STORAGE_ACCOUNT"), accountKey: randomBytes(64).toString("base64") }, maxTries: 1 };
}

/** A plain SDK client for setup and independent checks (not the adapter under test). */
export function adminService(): BlobServiceClient {
  const key = new StorageSharedKeyCredential(stackVar("AZURE_STORAGE_ACCOUNT"), stackVar("AZURE_STORAGE_KEY"));
  return new BlobServiceClient(stackVar("AZURE_BLOB_ENDPOINT"), key);
}

/** An account SAS (read/write/list/delete on blobs) that expires `lifetimeMs` from now (whole seconds). */
export function issueSas(lifetimeMs: number, permissions = "rwdlac"): ExpiringSas {
  const key = new StorageSharedKeyCredential(stackVar("AZURE_STORAGE_ACCOUNT"), stackVar("AZURE_STORAGE_KEY"));
  const expiresOn = new Date(Math.floor((Date.now() + lifetimeMs) / 1000) * 1000);
  const sas = generateAccountSASQueryParameters(
    {
      expiresOn,
      startsOn: new Date(Date.now() - 5 * 60_000),
      permissions: AccountSASPermissions.parse(permissions),
      resourceTypes: AccountSASResourceTypes.parse("sco").toString(),
      services: AccountSASServices.parse("b").toString(),
      version: "2025-11-05",
    },
    key,
  ).toString();
  return { sas, expiresAt: expiresOn };
}

export async function createContainer(svc: BlobServiceClient, name: string): Promise<void> {
  await svc.getContainerClient(name).create();
}

export async function deleteContainer(svc: BlobServiceClient, name: string): Promise<void> {
  await svc.getContainerClient(name).deleteIfExists();
}
