// A harness for the transfer pipeline (gateway → transfer service → workers → radosgw/Azurite)
// with stand-in responders for the authz and history RPCs: it lets the send path be tested against
// the real providers, NATS and MongoDB while those services are built in parallel. The seed
// end-to-end tests (test/e2e/send-*.test.ts) use the real services instead.
import { createReadStream } from "node:fs";
import { mkdir, mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { createHash, randomBytes } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Bus, createBus } from "@skyferry/bus";
import { loadConfig } from "@skyferry/config";
import { AuthzDescribe, AuthzIssueCredentials, AuthzResolveActor, HistoryDatasetsForSend, type ProviderCredentials, type SendableDataset } from "@skyferry/contracts";
import type { DatasetStore } from "@skyferry/dataset-store";
import { notFound, unauthorized } from "@skyferry/errors";
import { gatewayApp } from "@skyferry/gateway/app";
import { GatewayConfig } from "@skyferry/gateway/config";
import { type BuiltService, buildService } from "@skyferry/service-kit";
import { transferApp } from "@skyferry/transfer/app";
import { TransferConfig } from "@skyferry/transfer/config";
import { stackEnv } from "./stack-env.ts";
import { isolation, LogCapture } from "./system.ts";

export interface HarnessUser { id: string; apiKey: string }
export interface HarnessAuthz { id: string; user: string; provider: "s3" | "azure"; credentials: ProviderCredentials; ttlMs?: number; issued: number }

export interface Harness {
  url: string;
  namespace: string;
  db: string;
  logs: LogCapture;
  user(): HarnessUser;
  authz(user: HarnessUser, provider: "s3" | "azure", credentials?: ProviderCredentials, ttlMs?: number): HarnessAuthz;
  history(user: HarnessUser, name: string): { id: string; add(name: string, body: Buffer, extra?: Partial<SendableDataset>): Promise<SendableDataset> };
  datasetDir: string;
  close(): Promise<void>;
}

const hex = () => randomBytes(8).toString("hex");

export function s3Credentials(): ProviderCredentials {
  const { s3 } = stackEnv();
  return { kind: "s3", endpoint: s3.endpoint, region: s3.region, force_path_style: true, access_key_id: s3.accessKeyId, secret_access_key: s3.secretAccessKey };
}

export function azureCredentials(): ProviderCredentials {
  const { azure } = stackEnv();
  return { kind: "azure", account_url: azure.endpoint, account: azure.account, auth: { type: "shared_key", account_key: azure.key } };
}

/** A read-only file dataset store over one directory (the worker's source side). */
export function fileDatasets(dir: string): DatasetStore {
  const path = (key: string) => join(dir, key);
  return {
    kind: "file",
    read: async (key, range) => createReadStream(path(key), range ? { start: range.start, ...(range.end !== undefined ? { end: range.end } : {}) } : {}),
    stat: async (key) => stat(path(key)).then((s) => ({ size: s.size }), () => null),
    write: () => Promise.reject(new Error("read-only")),
    delete: () => Promise.reject(new Error("read-only")),
  };
}

export async function startHarness(options: { label: string; transferEnv?: Record<string, string>; workers?: boolean }): Promise<Harness> {
  const stack = stackEnv();
  const { namespace, db } = isolation(options.label);
  const logs = new LogCapture();
  const datasetDir = await mkdtemp(join(tmpdir(), "skyferry-datasets-"));
  await mkdir(datasetDir, { recursive: true });
  const users = new Map<string, HarnessUser>();
  const authzs = new Map<string, HarnessAuthz>();
  const histories = new Map<string, { id: string; user: string; name: string; datasets: SendableDataset[] }>();
  const stand = await createBus({ url: stack.natsUrl, namespace, service: "stand-in", logger: logs.logger("stand-in") });
  const subs = [
    stand.serve(AuthzResolveActor, async ({ api_key }) => {
      const u = [...users.values()].find((x) => x.apiKey === api_key);
      if (!u) throw unauthorized("AUTHZ_KEY_INVALID", "Provided API key is not valid.");
      return { user_id: u.id, email: `${u.id}@example.org`, via: "api_key" as const };
    }, { queue: "authz" }),
    stand.serve(AuthzDescribe, async ({ actor, authz_id }) => {
      const a = authzs.get(authz_id);
      if (!a || a.user !== actor.user_id) throw notFound("AUTHZ_NOT_FOUND", "An authorization configuration with given ID not found.");
      return { id: a.id, user_id: a.user, provider: a.provider, description: "" };
    }, { queue: "authz" }),
    stand.serve(AuthzIssueCredentials, async ({ actor, authz_id }) => {
      const a = authzs.get(authz_id);
      if (!a || a.user !== actor.user_id) throw notFound("AUTHZ_NOT_FOUND", "An authorization configuration with given ID not found.");
      a.issued++;
      return { authz_id, provider: a.provider, expires_at: a.ttlMs ? new Date(Date.now() + a.ttlMs).toISOString() : null, credentials: a.credentials };
    }, { queue: "authz" }),
    stand.serve(HistoryDatasetsForSend, async ({ actor, history_id, dataset_ids }) => {
      const h = histories.get(history_id);
      if (!h || h.user !== actor.user_id) throw notFound("HIST_NOT_FOUND", `History with ID '${history_id}' not found.`);
      const datasets = dataset_ids ? h.datasets.filter((d) => dataset_ids.includes(d.id)) : h.datasets.filter((d) => d.state === "ok" && !d.deleted && !d.purged);
      const missing = dataset_ids ? dataset_ids.filter((i) => !h.datasets.some((d) => d.id === i)) : [];
      return { history: { id: h.id, name: h.name }, datasets, missing };
    }, { queue: "history" }),
  ];
  const base = { SKYFERRY_NATS_URL: stack.natsUrl, MONGO_URL: stack.mongoUrl, MONGO_DB: db, SKYFERRY_NAMESPACE: namespace, PORT: "0" };
  const services: BuiltService<unknown>[] = [];
  const datasetStore = fileDatasets(datasetDir);
  try {
    const transfer = await buildService({
      name: "transfer",
      config: loadConfig(TransferConfig, { ...base, ...(options.workers === false ? { TRANSFER_WORKER_ENABLED: "false" } : {}), ...options.transferEnv }),
      plugin: (app, deps) => transferApp(app, { ...deps, datasetStore }),
      useMongo: true,
      logger: logs.logger("transfer"),
    });
    services.push(transfer as BuiltService<unknown>);
    const gateway = await buildService({ name: "gateway", config: loadConfig(GatewayConfig, base), plugin: gatewayApp, useMongo: false, logger: logs.logger("gateway") });
    services.push(gateway as BuiltService<unknown>);
    const url = await gateway.app.listen({ host: "127.0.0.1", port: 0 });
    return {
      url, namespace, db, logs, datasetDir,
      user() {
        const u = { id: hex(), apiKey: randomBytes(16).toString("hex") };
        users.set(u.id, u);
        return u;
      },
      authz(user, provider, credentials, ttlMs) {
        const a: HarnessAuthz = { id: hex(), user: user.id, provider, credentials: credentials ?? (provider === "s3" ? s3Credentials() : azureCredentials()), issued: 0, ...(ttlMs ? { ttlMs } : {}) };
        authzs.set(a.id, a);
        return a;
      },
      history(user, name) {
        const h = { id: hex(), user: user.id, name, datasets: [] as SendableDataset[] };
        histories.set(h.id, h);
        return {
          id: h.id,
          async add(dsName, body, extra = {}) {
            const key = `${h.id}/${hex()}`;
            await mkdir(join(datasetDir, h.id), { recursive: true });
            await writeFile(join(datasetDir, key), body);
            const d: SendableDataset = {
              id: hex(), hid: h.datasets.length + 1, name: dsName, extension: "dat", state: "ok", deleted: false, purged: false, file_size: body.length,
              hashes: { sha256: createHash("sha256").update(body).digest("hex"), md5: createHash("md5").update(body).digest("hex") }, store_key: key, ...extra,
            };
            h.datasets.push(d);
            return d;
          },
        };
      },
      async close() {
        for (const s of services.reverse()) await s.close();
        for (const s of subs) s.unsubscribe();
        await stand.drain();
        await rm(datasetDir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    for (const s of services.reverse()) await s.close().catch(() => undefined);
    await stand.drain();
    throw err;
  }
}

export type { Bus };
