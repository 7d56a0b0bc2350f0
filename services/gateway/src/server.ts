import { loadConfig } from "@skyferry/config";
import { startService } from "@skyferry/service-kit";
import { gatewayApp } from "./app.ts";
import { GatewayConfig } from "./config.ts";

const config = loadConfig(GatewayConfig);
await startService({ name: "gateway", config, plugin: gatewayApp, useMongo: false });
