import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { authzApp } from "@skyferry/authz/app";
import { AuthzConfig } from "@skyferry/authz/config";
import { loadConfig } from "@skyferry/config";
import { gatewayApp } from "@skyferry/gateway/app";
import { GatewayConfig } from "@skyferry/gateway/config";
import { historyApp } from "@skyferry/history/app";
import { HistoryConfig } from "@skyferry/history/config";
import { createLogger, type Logger } from "@skyferry/logger";
import { createBus } from "@skyferry/bus";
import { type BuiltService, buildService } from "@skyferry/service-kit";
import { transferApp } from "@skyferry/transfer/app";
import { TransferConfig } from "@skyferry/transfer/config";
import { provisionStreams, type TransferStreamSettings, transferStreams } from "@skyferry/transfer/streams";
import { natsCredentials, natsEnv, stackEnv, stackOutboundAllow } from "./stack-env.ts";

/** A fresh namespace and database per test file, so files run in parallel on one stack. */
export function isolation(label: string): { namespace: string; db: string } {
  const suffix = randomBytes(4).toString("hex");
  const clean = label.toLowerCase().replace(/[^a-z0-9]/g, "").slice(0, 20) || "t";
  return { namespace: `t-${clean}-${suffix}`, db: `t_${clean}_${suffix}` };
}

/** Captures every log line of the services a test starts (to search them for secrets, say). */
export class LogCapture {
  readonly lines: string[] = [];
  readonly stream = new Writable({
    write: (chunk: Buffer, _enc, cb) => {
      this.lines.push(...chunk.toString("utf8").split("\n").filter(Boolean));
      cb();
    },
  });
  logger(name: string): Logger {
    return createLogger({ name, level: process.env.SKYFERRY_TEST_LOG_LEVEL ?? "info", destination: this.stream });
  }
  text(): string {
    return this.lines.join("\n");
  }
}

export interface SystemOptions {
  label: string;
  /** Extra environment per service (config keys), on top of the stack's endpoints. */
  env?: Partial<Record<"gateway" | "authz" | "history" | "transfer" | "all", Record<string, string>>>;
  /** Which services to start; all four by default. */
  services?: Array<"gateway" | "authz" | "history" | "transfer">;
  logs?: LogCapture;
  /** Provision the namespace's streams before transfer starts, as deployments do (default true). */
  provision?: boolean;
  /** Another NATS than the stack's (a cluster of the test's own): its URL(s) and its CA. */
  nats?: NatsTarget;
}

/** A NATS the services connect to instead of the stack's: same identities (seeds), another URL and CA. */
export interface NatsTarget {
  url: string;
  caFile: string;
}

export interface System {
  namespace: string;
  db: string;
  /** The gateway's base URL, e.g. http://127.0.0.1:41234. */
  url: string;
  /** The file dataset store's directory (history writes, transfer reads), removed on close. */
  datasetDir: string;
  services: Partial<Record<"gateway" | "authz" | "history" | "transfer", BuiltService<unknown>>>;
  logs: LogCapture;
  close(): Promise<void>;
}

const apps = {
  authz: { plugin: authzApp, schema: AuthzConfig, useMongo: true },
  history: { plugin: historyApp, schema: HistoryConfig, useMongo: true },
  transfer: { plugin: transferApp, schema: TransferConfig, useMongo: true },
  gateway: { plugin: gatewayApp, schema: GatewayConfig, useMongo: false },
} as const;

/** Starts the services in this process against the real stack, each listening on a free port. */
export async function startSystem(options: SystemOptions): Promise<System> {
  const stack = stackEnv();
  const { namespace, db } = isolation(options.label);
  const logs = options.logs ?? new LogCapture();
  const wanted = options.services ?? ["authz", "history", "transfer", "gateway"];
  const services: System["services"] = {};
  const order = (["authz", "history", "transfer", "gateway"] as const).filter((s) => wanted.includes(s));
  let url = "";
  const kid = `k${randomBytes(2).toString("hex")}`;
  const encryptionEnv = {
    SKYFERRY_ENCRYPTION_KEYS: JSON.stringify({ [kid]: randomBytes(32).toString("base64") }),
    SKYFERRY_ENCRYPTION_KEY_ID: kid,
  };
  // One dataset store directory and one internal token per system (the gateway proxies uploads
  // and downloads to the history service's HTTP port, which it reaches via SKYFERRY_HISTORY_URL).
  const datasetDir = mkdtempSync(join(tmpdir(), "skyferry-datasets-"));
  const internalToken = randomBytes(24).toString("hex");
  let historyUrl = "http://127.0.0.1:9";
  try {
    for (const name of order) {
      const env = {
        // Each service as its own NATS identity, under the permissions it ships with.
        ...natsEnv(name),
        ...(options.nats ? { SKYFERRY_NATS_URL: options.nats.url, SKYFERRY_NATS_TLS_CA_FILE: options.nats.caFile } : {}),
        MONGO_URL: stack.mongoUrl,
        MONGO_DB: db,
        SKYFERRY_NAMESPACE: namespace,
        PORT: "0",
        // Every query's shape, for the index check that runs after the tests (test/indexes).
        ...(process.env.SKYFERRY_DB_QUERY_SHAPES ? { SKYFERRY_DB_QUERY_SHAPES: process.env.SKYFERRY_DB_QUERY_SHAPES } : {}),
        // A fresh encryption key per system: no secret is committed (services/authz/src/config.ts).
        ...(name === "authz" ? encryptionEnv : {}),
        ...(name === "history" || name === "transfer" ? { DATASET_STORE_DIR: datasetDir } : {}),
        ...(name === "history" || name === "gateway" ? { SKYFERRY_INTERNAL_TOKEN: internalToken } : {}),
        ...(name === "gateway" ? { SKYFERRY_HISTORY_URL: historyUrl } : {}),
        // The outbound policy refuses loopback: only the stack's own servers are allowlisted.
        ...(name === "authz" || name === "transfer" || name === "history" ? { SKYFERRY_OUTBOUND_ALLOW: stackOutboundAllow() } : {}),
        ...options.env?.all,
        ...options.env?.[name],
      };
      const def = apps[name];
      const config = loadConfig(def.schema, env) as never;
      // The services do not make their streams (docs/trust.md): the test provisions its namespace
      // as a deployment does, as the provisioner identity, with the transfer service's settings.
      // The NATS the services use: options.nats, or a URL given in their env (a test's private NATS), or the stack's.
      if (name === "transfer" && options.provision !== false) await provisionNamespace(namespace, config, logs, options.nats ?? { url: (env as Record<string, string>).SKYFERRY_NATS_URL });
      const built = await buildService({ name, config, plugin: def.plugin as never, useMongo: def.useMongo, logger: logs.logger(name) });
      services[name] = built as BuiltService<unknown>;
      const address = await built.app.listen({ host: "127.0.0.1", port: 0 });
      if (name === "gateway") url = address;
      if (name === "history") historyUrl = address;
    }
  } catch (err) {
    for (const s of Object.values(services).reverse()) await s.close().catch(() => undefined);
    rmSync(datasetDir, { recursive: true, force: true });
    throw err;
  }
  return {
    namespace,
    db,
    url,
    datasetDir,
    services,
    logs,
    async close() {
      for (const name of [...order].reverse()) await services[name]?.close();
      rmSync(datasetDir, { recursive: true, force: true });
    },
  };
}

/** What `provision.mjs` does for a deployment: this namespace's streams and consumers, as `provisioner`. */
export async function provisionNamespace(namespace: string, settings: TransferStreamSettings, logs = new LogCapture(), nats?: { url?: string | undefined; caFile?: string }): Promise<void> {
  const credentials = nats?.caFile ? { ...natsCredentials("provisioner"), tlsCaFile: nats.caFile } : natsCredentials("provisioner");
  const bus = await createBus({ url: nats?.url ?? stackEnv().natsUrl, namespace, service: "provision", identity: "provisioner", credentials, logger: logs.logger("provision") });
  try {
    await provisionStreams(bus, transferStreams(settings));
  } finally {
    await bus.drain();
  }
}
