import type { CloudProvider } from "@skyferry/contracts";
import { invalidField } from "@skyferry/errors";
import type { ProviderModule } from "../provider.ts";
import { awsProvider } from "./aws.ts";
import { azureProvider } from "./azure.ts";
import { s3Provider } from "./s3.ts";

/** The registered providers; adding one (e.g. Google Cloud Storage) is one module and one line here. */
const MODULES: readonly ProviderModule[] = [awsProvider, azureProvider, s3Provider];

export interface ProviderRegistry {
  /** The module for `name`; 400008 naming `provider` when none is registered. */
  get(name: string): ProviderModule;
  names(): CloudProvider[];
}

export function createProviderRegistry(modules: readonly ProviderModule[] = MODULES): ProviderRegistry {
  const byName = new Map(modules.map((m) => [m.name as string, m]));
  const names = () => modules.map((m) => m.name);
  return {
    get(name) {
      const m = byName.get(name);
      if (!m) throw invalidField("provider", `Unrecognized provider '${name.slice(0, 64)}'; the supported providers are: ${names().join(", ")}.`);
      return m;
    },
    names,
  };
}
