import { loadConfig } from "@skyferry/config";
import { startService } from "@skyferry/service-kit";
import { historyApp } from "./app.ts";
import { HistoryConfig } from "./config.ts";

const config = loadConfig(HistoryConfig);
await startService({ name: "history", config, plugin: historyApp, useMongo: true });
