import { loadConfig } from "@skyferry/config";
import { startService } from "@skyferry/service-kit";
import { authzApp } from "./app.ts";
import { AuthzConfig } from "./config.ts";

const config = loadConfig(AuthzConfig);
await startService({ name: "authz", config, plugin: authzApp, useMongo: true });
