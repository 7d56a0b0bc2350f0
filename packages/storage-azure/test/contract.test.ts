import { runObjectStoreContract } from "@skyferry/storage/contract-suite";
import { createAzureStore } from "../src/index.ts";
import { adminService, azuriteOptions, createContainer, deleteContainer, issueSas, wrongKeyOptions } from "./support.ts";

const admin = adminService();

runObjectStoreContract("Azure Blob (Azurite)", () => createAzureStore(azuriteOptions()), {
  partSize: 1024 * 1024,
  keepsUploads: false,
  createBucket: (name) => createContainer(admin, name),
  deleteBucket: (name) => deleteContainer(admin, name),
  makeStoreWithWrongCredentials: () => createAzureStore(wrongKeyOptions()),
  // Real expiry: Azurite refuses an expired SAS, so the upload only completes if the adapter renews it.
  makeRenewingStore: (lifetimeMs) => {
    let calls = 0;
    const store = createAzureStore({
      accountUrl: azuriteOptions().accountUrl,
      auth: {
        kind: "sas",
        sas: async () => {
          calls += 1;
          return issueSas(lifetimeMs);
        },
      },
    });
    return { store, refreshes: () => calls };
  },
});
