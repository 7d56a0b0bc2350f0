import { loadConfig } from "@skyferry/config";
import { startService } from "@skyferry/service-kit";
import { transferApp } from "./app.ts";
import { shutdownTimeoutMs, TransferConfig } from "./config.ts";

const config = loadConfig(TransferConfig);
await startService({ name: "transfer", config, plugin: transferApp, useMongo: true, shutdownTimeoutMs: shutdownTimeoutMs(config) });
