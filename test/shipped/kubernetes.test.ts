import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, before, describe, test } from "node:test";
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import { streamToken, transferJobsConsumer, TransferJobsStream } from "@skyferry/contracts";
import { parseAllDocuments, parse as parseYaml } from "yaml";
import { imageEnv, type NativeService, runOneShot, startNative } from "./support/native-services.ts";
import { startNats } from "./support/trust.ts";

// deploy/k8s as shipped: rendered by kustomize, every object validated strictly and offline by
// kubeconform against the schemas PyPI's kubernetes-validate ships (and, for KEDA's ScaledObject, a
// schema derived from KEDA's own CRD), the promises of the manifests checked, and each of our
// services started natively with exactly the environment its Deployment gives it (the ConfigMap, its
// own `env`, the Secret keys it names), the cluster's host names mapped to the local stack.
// The tools install themselves: scripts/tools/k8s/install.sh.

const repo = resolve(import.meta.dirname, "../..");
const k8sDir = join(repo, "deploy/k8s");
const ours = ["authz", "history", "transfer", "gateway"] as const;
type Ours = (typeof ours)[number];

interface Probe { httpGet?: { path: string; port: string | number }; initialDelaySeconds?: number; periodSeconds?: number; failureThreshold?: number; timeoutSeconds?: number }
interface EnvVar { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string; optional?: boolean }; configMapKeyRef?: unknown } }
interface Container {
  name: string;
  image: string;
  ports?: Array<{ containerPort: number; name?: string }>;
  env?: EnvVar[];
  envFrom?: Array<{ configMapRef?: { name: string }; secretRef?: { name: string } }>;
  startupProbe?: Probe;
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  lifecycle?: { preStop?: { exec?: { command: string[] }; sleep?: { seconds: number } } };
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: Record<string, unknown> & { capabilities?: { drop?: string[]; add?: string[] } };
  volumeMounts?: Array<{ name: string; mountPath: string; readOnly?: boolean }>;
}
interface PodSpec {
  automountServiceAccountToken?: boolean;
  terminationGracePeriodSeconds?: number;
  securityContext?: Record<string, unknown> & { seccompProfile?: { type: string } };
  containers: Container[];
  initContainers?: Container[];
  volumes?: Array<Record<string, unknown> & { name: string; secret?: { secretName: string; defaultMode?: number; items?: Array<{ key: string; path: string }> }; projected?: { sources: Array<{ secret?: { name: string; items?: Array<{ key: string; path: string }> } }> } }>;
  hostNetwork?: boolean;
}
interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec?: Record<string, unknown>;
  data?: Record<string, string>;
}
interface Deployment extends K8sObject { spec: { replicas?: number; selector: { matchLabels: Record<string, string> }; template: { metadata: { labels: Record<string, string> }; spec: PodSpec } } }

/** KEY=value lines of scripts/tools/k8s/install.sh: the tools and schema folders. */
function installTools(): Record<string, string> {
  const out = execFileSync("bash", [join(repo, "scripts/tools/k8s/install.sh")], { encoding: "utf8", timeout: 900_000, stdio: ["ignore", "pipe", "inherit"] });
  return Object.fromEntries(out.trim().split("\n").map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]));
}

/** Any HTTP(S) request kubeconform tried would go to this closed port and fail: validation is offline. */
const OFFLINE = { HTTPS_PROXY: "http://127.0.0.1:9", HTTP_PROXY: "http://127.0.0.1:9", https_proxy: "http://127.0.0.1:9", http_proxy: "http://127.0.0.1:9", NO_PROXY: "" };

interface KubeconformResult { filename: string; kind: string; name: string; version: string; status: string; msg: string }
function kubeconform(tools: Record<string, string>, file: string): { resources: KubeconformResult[]; summary: Record<string, number> } {
  const out = spawnSync(
    tools.KUBECONFORM!,
    [
      "-strict", "-verbose", "-summary", "-output", "json",
      "-cache", tools.KUBECONFORM_CACHE!,
      "-schema-location", `${tools.K8S_SCHEMA_DIR}/{{ .ResourceKind }}{{ .KindSuffix }}.json`,
      "-schema-location", `${tools.KEDA_SCHEMA_DIR}/{{ .ResourceKind }}{{ .KindSuffix }}.json`,
      file,
    ],
    { encoding: "utf8", env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/root", ...OFFLINE }, timeout: 120_000 },
  );
  assert.ok(out.stdout, `kubeconform printed nothing: ${out.stderr}`);
  return JSON.parse(out.stdout) as { resources: KubeconformResult[]; summary: Record<string, number> };
}

/** Where the service's config reads its settings from: a key the manifests set must be named in one of these. */
function configSources(service: Ours): string {
  const files = ["packages/service-kit/src/base-config.ts", "packages/actor/src/config.ts", `services/${service}/src/config.ts`];
  if (service === "history" || service === "transfer") files.push("packages/dataset-store/src/config.ts");
  if (service === "authz" || service === "history" || service === "transfer") files.push("packages/outbound-policy/src/config.ts");
  if (service === "transfer") files.push("services/transfer/src/get/config.ts");
  return files.map((f) => readFileSync(join(repo, f), "utf8")).join("\n");
}

/**
 * The longest a service may wait for MongoDB before it listens (packages/db: `attempts` tries of up
 * to serverSelectionTimeoutMS each, with delays doubling from `delayMs` up to 5 s between them),
 * read from the source so the startupProbe check follows it.
 */
function mongoStartWaitSeconds(): number {
  const src = readFileSync(join(repo, "packages/db/src/index.ts"), "utf8");
  const attempts = Number(/options\.attempts \?\? (\d+)/.exec(src)?.[1]);
  const delay = Number(/options\.delayMs \?\? (\d+)/.exec(src)?.[1]);
  const selection = Number(/serverSelectionTimeoutMS: ([\d_]+)/.exec(src)?.[1]?.replace(/_/g, ""));
  const cap = Number(/Math\.min\(delay \* 2, ([\d_]+)\)/.exec(src)?.[1]?.replace(/_/g, ""));
  assert.ok(attempts > 0 && delay > 0 && selection > 0 && cap > 0, "packages/db's retry constants are found");
  let total = attempts * selection;
  for (let i = 1, d = delay; i < attempts; i++, d = Math.min(d * 2, cap)) total += d;
  return total / 1000;
}

/** Secret keys deploy/README.md documents: the first column (`KEY`) of its Secret table. */
function documentedSecretKeys(): string[] {
  const text = readFileSync(join(repo, "deploy/README.md"), "utf8");
  const section = text.slice(text.indexOf("## The Secret"));
  return [...section.matchAll(/^\| `([A-Z][A-Z0-9_]*)` \|/gm)].map((m) => m[1]!);
}

const probeBudget = (p: Probe) => (p.initialDelaySeconds ?? 0) + (p.periodSeconds ?? 10) * (p.failureThreshold ?? 3);
const preStopSeconds = (c: Container) => {
  const pre = c.lifecycle?.preStop;
  if (pre?.sleep) return pre.sleep.seconds;
  const cmd = pre?.exec?.command ?? [];
  return cmd[0] === "sleep" ? Number(cmd[1]) : NaN;
};
/** Kubernetes quantities to a number (cores or bytes). */
function quantity(q: string): number {
  const m = /^(\d+(?:\.\d+)?)(m|Ki|Mi|Gi)?$/.exec(q);
  assert.ok(m, `quantity ${q}`);
  const n = Number(m[1]);
  return m[2] === "m" ? n / 1000 : m[2] === "Ki" ? n * 1024 : m[2] === "Mi" ? n * 1024 ** 2 : m[2] === "Gi" ? n * 1024 ** 3 : n;
}

describe("deploy/k8s, rendered by kustomize", () => {
  let tools: Record<string, string> = {};
  let rendered = "";
  let objects: K8sObject[] = [];
  const find = <T extends K8sObject = K8sObject>(kind: string, name: string) => objects.find((o) => o.kind === kind && o.metadata.name === name) as T | undefined;
  const deployment = (name: Ours) => {
    const d = find<Deployment>("Deployment", name);
    assert.ok(d, `Deployment ${name}`);
    return d;
  };
  const container = (name: Ours) => deployment(name).spec.template.spec.containers[0]!;
  const configMap = () => find("ConfigMap", "skyferry-config")!.data!;

  before(() => {
    tools = installTools();
    const out = spawnSync(tools.KUSTOMIZE!, ["build", k8sDir], { encoding: "utf8", env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/root", ...OFFLINE } });
    assert.equal(out.status, 0, `kustomize build failed: ${out.stderr}`);
    rendered = join(repo, ".test-results", "k8s-rendered.yaml");
    mkdirSync(join(repo, ".test-results"), { recursive: true });
    writeFileSync(rendered, out.stdout);
    objects = parseAllDocuments(out.stdout).map((d) => d.toJS() as K8sObject);
  });

  test("every rendered object is valid against the Kubernetes v1.37 schemas (strict) and KEDA's CRD, offline; none skipped", () => {
    const result = kubeconform(tools, rendered);
    assert.equal(result.resources.length, objects.length, "kubeconform saw every object");
    for (const r of result.resources) assert.equal(r.status, "statusValid", `${r.kind} ${r.name}: ${r.status} ${r.msg}`);
    assert.deepEqual(result.summary, { valid: objects.length, invalid: 0, errors: 0, skipped: 0 });
    for (const kind of ["Namespace", "ConfigMap", "Deployment", "Job", "Service", "PodDisruptionBudget", "NetworkPolicy", "Ingress", "ScaledObject"]) {
      assert.ok(result.resources.some((r) => r.kind === kind), `${kind} validated`);
    }
  });

  test("the validation is strict: an unknown field or a wrong type fails, in a core object and in the ScaledObject", () => {
    const broken = readFileSync(rendered, "utf8")
      .replace(/^(\s+)(terminationGracePeriodSeconds: \d+)$/m, "$1$2\n$1terminationGraceSeconds: 10")
      .replace(/^(\s+)pollingInterval: \d+$/m, "$1pollingInterval: fifteen")
      .replace(/^(\s+)(maxUnavailable: 1)$/m, "$1$2\n$1maxUnavaliable: 1");
    const file = join(repo, ".test-results", "k8s-broken.yaml");
    writeFileSync(file, broken);
    const result = kubeconform(tools, file);
    const invalid = result.resources.filter((r) => r.status === "statusInvalid").map((r) => r.kind).sort();
    assert.deepEqual(invalid, ["Deployment", "PodDisruptionBudget", "ScaledObject"]);
  });

  test("images are set through kustomize `images:`, each pinned to a tag or a digest: no skyferry/*:latest", () => {
    const kustomization = parseYaml(readFileSync(join(k8sDir, "kustomization.yaml"), "utf8")) as { images?: Array<{ name: string; newName?: string; newTag?: string; digest?: string }> };
    for (const name of ours) {
      const entry = kustomization.images?.find((i) => i.name === `skyferry/${name}`);
      assert.ok(entry?.newName && (entry.newTag || entry.digest), `kustomization images: skyferry/${name}`);
      const image = container(name).image;
      assert.equal(image, entry.digest ? `${entry.newName}@${entry.digest}` : `${entry.newName}:${entry.newTag}`);
      assert.doesNotMatch(image, /:latest$|^skyferry\//, `${name}: ${image}`);
    }
  });

  test("Pod Security \"restricted\": non-root, RuntimeDefault seccomp, all capabilities dropped, no privilege escalation, read-only root, no service-account token; the namespace enforces it", () => {
    const ns = find("Namespace", "skyferry");
    assert.equal(ns?.metadata.labels?.["pod-security.kubernetes.io/enforce"], "restricted");
    for (const name of ours) {
      const pod = deployment(name).spec.template.spec;
      assert.equal(pod.automountServiceAccountToken, false, `${name}: no service-account token`);
      assert.equal(pod.securityContext?.runAsNonRoot, true, `${name}: runAsNonRoot`);
      assert.equal(pod.securityContext?.seccompProfile?.type, "RuntimeDefault", `${name}: seccomp`);
      assert.notEqual(pod.hostNetwork, true);
      for (const v of pod.volumes ?? []) assert.ok(!("hostPath" in v), `${name}: no hostPath volume`);
      for (const c of [...pod.containers, ...(pod.initContainers ?? [])]) {
        const sc = c.securityContext ?? {};
        assert.equal(sc.allowPrivilegeEscalation, false, `${name}/${c.name}: allowPrivilegeEscalation`);
        assert.deepEqual(sc.capabilities?.drop, ["ALL"], `${name}/${c.name}: drops ALL capabilities`);
        assert.equal(sc.capabilities?.add, undefined);
        assert.equal(sc.readOnlyRootFilesystem, true, `${name}/${c.name}: read-only root`);
        assert.notEqual(sc.privileged, true);
        assert.notEqual(sc.runAsUser, 0);
      }
    }
  });

  test("every container requests and limits CPU and memory (limits at or above requests)", () => {
    for (const name of ours) {
      const r = container(name).resources ?? {};
      for (const res of ["cpu", "memory"]) {
        assert.ok(r.requests?.[res] && r.limits?.[res], `${name}: ${res} request and limit`);
        assert.ok(quantity(r.limits[res]) >= quantity(r.requests[res]), `${name}: ${res} limit >= request`);
      }
    }
    // A transfer worker at its default concurrency peaks near 200 MiB RSS (README, bench:send).
    assert.ok(quantity(container("transfer").resources!.limits!.memory!) >= 384 * 1024 ** 2);
  });

  test("probes: a startupProbe outlasting the start-up wait for MongoDB, liveness on /healthz, readiness on /readyz, on the container port the service listens on", () => {
    const wait = mongoStartWaitSeconds();
    assert.ok(wait > 50 && wait < 70, `MongoDB start-up wait ${wait} s`);
    for (const name of ours) {
      const c = container(name);
      const port = c.env?.find((e) => e.name === "PORT")?.value;
      const http = c.ports?.find((p) => p.name === "http");
      assert.equal(String(http?.containerPort), port, `${name}: the http port is PORT`);
      assert.equal(c.startupProbe?.httpGet?.path, "/healthz", `${name}: startupProbe`);
      assert.ok(probeBudget(c.startupProbe) >= wait + 30, `${name}: startupProbe budget ${probeBudget(c.startupProbe)} s >= MongoDB wait ${wait} s + NATS + margin`);
      assert.equal(c.livenessProbe?.httpGet?.path, "/healthz", `${name}: livenessProbe`);
      assert.equal(c.readinessProbe?.httpGet?.path, "/readyz", `${name}: readinessProbe`);
      for (const p of [c.startupProbe, c.livenessProbe, c.readinessProbe]) assert.equal(p?.httpGet?.port, "http");
    }
  });

  test("metrics: every pod serves /metrics on a port of its own (the ConfigMap's SKYFERRY_METRICS_PORT), annotated for Prometheus, reachable only from the monitoring namespace", () => {
    const port = configMap().SKYFERRY_METRICS_PORT;
    assert.equal(port, "9464");
    for (const name of ours) {
      const c = container(name);
      assert.equal(String(c.ports?.find((p) => p.name === "metrics")?.containerPort), port, `${name}: a metrics containerPort`);
      assert.notEqual(c.env?.find((e) => e.name === "PORT")?.value, port, `${name}: not the service's own port`);
      const annotations = (deployment(name).spec.template as { metadata?: { annotations?: Record<string, string> } }).metadata?.annotations ?? {};
      assert.deepEqual([annotations["prometheus.io/scrape"], annotations["prometheus.io/port"], annotations["prometheus.io/path"]], ["true", port, "/metrics"], `${name}: scrape annotations`);
    }
    const policy = find("NetworkPolicy", "metrics-from-monitoring")?.spec as
      | { podSelector: { matchLabels: Record<string, string> }; ingress: Array<{ from: Array<{ namespaceSelector?: { matchLabels: Record<string, string> } }>; ports: Array<{ port: number }> }> }
      | undefined;
    assert.ok(policy, "a NetworkPolicy for the metrics port");
    assert.deepEqual(policy.podSelector.matchLabels, { "app.kubernetes.io/name": "skyferry" });
    assert.deepEqual(policy.ingress.map((i) => i.ports.map((p) => p.port)), [[9464]]);
    assert.deepEqual(policy.ingress[0]!.from[0]!.namespaceSelector?.matchLabels, { "kubernetes.io/metadata.name": "monitoring" });
  });

  test("stopping: a preStop, then a grace period covering the service's own shutdown; transfer's drain time is configuration aligned with it", () => {
    for (const name of ours) {
      const c = container(name);
      const pre = preStopSeconds(c);
      assert.ok(pre >= 2 && pre <= 15, `${name}: preStop pause (${pre} s)`);
      const grace = deployment(name).spec.template.spec.terminationGracePeriodSeconds ?? 30;
      // service-kit's graceful shutdown gives up after 30 s (transfer: drain + 8 s).
      const own = name === "transfer" ? Number(c.env?.find((e) => e.name === "TRANSFER_DRAIN_SECONDS")?.value) + 8 : 30;
      assert.ok(own > 0, `${name}: shutdown time`);
      assert.ok(grace >= pre + own + 2, `${name}: terminationGracePeriodSeconds ${grace} >= preStop ${pre} + shutdown ${own}`);
    }
    const drain = Number(container("transfer").env?.find((e) => e.name === "TRANSFER_DRAIN_SECONDS")?.value);
    const grace = deployment("transfer").spec.template.spec.terminationGracePeriodSeconds!;
    assert.ok(drain >= 60, `in-flight jobs get a real drain (${drain} s)`);
    assert.ok(grace >= preStopSeconds(container("transfer")) + drain + 10, "grace >= preStop + drain + 10");
    assert.match(configSources("transfer"), /\bTRANSFER_DRAIN_SECONDS:/, "the transfer service reads TRANSFER_DRAIN_SECONDS");
  });

  test("a PodDisruptionBudget for every Deployment, selecting exactly its pods and allowing one eviction at a time", () => {
    for (const name of ours) {
      const pdb = find("PodDisruptionBudget", name);
      assert.ok(pdb, `PDB ${name}`);
      const spec = pdb.spec as { maxUnavailable?: number; minAvailable?: number; selector: { matchLabels: Record<string, string> } };
      assert.deepEqual(spec.selector.matchLabels, deployment(name).spec.selector.matchLabels);
      const replicas = name === "transfer" ? ((find("ScaledObject", "transfer")?.spec as { minReplicaCount: number }).minReplicaCount) : (deployment(name).spec.replicas ?? 1);
      assert.ok(replicas >= 2, `${name}: at least 2 replicas, so an eviction never takes the last one`);
      if (spec.maxUnavailable !== undefined) assert.equal(spec.maxUnavailable, 1);
      else assert.ok(spec.minAvailable !== undefined && spec.minAvailable < replicas);
    }
  });

  test("transfer scales with a KEDA ScaledObject on its JetStream consumer's lag (nats-jetstream, counting ack-pending), not on CPU", () => {
    assert.equal(objects.filter((o) => o.kind === "HorizontalPodAutoscaler").length, 0, "no CPU HPA");
    const so = find("ScaledObject", "transfer");
    assert.ok(so);
    const spec = so.spec as {
      scaleTargetRef: { name: string; kind?: string };
      minReplicaCount: number;
      maxReplicaCount: number;
      cooldownPeriod?: number;
      pollingInterval?: number;
      advanced?: { horizontalPodAutoscalerConfig?: { behavior?: { scaleDown?: { stabilizationWindowSeconds?: number } } } };
      triggers: Array<{ type: string; metadata: Record<string, string> }>;
    };
    assert.equal(spec.scaleTargetRef.name, "transfer");
    assert.ok(spec.minReplicaCount >= 2 && spec.maxReplicaCount > spec.minReplicaCount, "min/max replicas");
    assert.ok((spec.cooldownPeriod ?? 0) >= 60, "a cooldown");
    assert.ok((spec.advanced?.horizontalPodAutoscalerConfig?.behavior?.scaleDown?.stabilizationWindowSeconds ?? 0) >= 60, "scale-down is paced above the minimum too");
    assert.equal(spec.triggers.length, 1);
    const trigger = spec.triggers[0]!;
    assert.equal(trigger.type, "nats-jetstream");
    const ns = configMap().SKYFERRY_NAMESPACE!;
    assert.equal(trigger.metadata.stream, TransferJobsStream.name(ns), "the stream the workers consume");
    assert.equal(trigger.metadata.stream, `${streamToken(ns)}_TRANSFER_JOBS`);
    assert.equal(trigger.metadata.consumer, transferJobsConsumer(30, 10).durable, "the workers' durable consumer");
    assert.equal(trigger.metadata.account, "$G");
    // One replica per TRANSFER_CONCURRENCY jobs waiting or running.
    assert.equal(trigger.metadata.lagThreshold, configMap().TRANSFER_CONCURRENCY ?? "24");
    // The monitoring port is cluster-internal: a Service name, and nothing here exposes 8222.
    assert.match(trigger.metadata.natsServerMonitoringEndpoint!, /^[a-z0-9-]+\.[a-z0-9-]+\.svc\.cluster\.local:8222$/);
    for (const o of objects) assert.doesNotMatch(JSON.stringify(o.kind === "ScaledObject" ? {} : o), /\b8222\b/, `${o.kind} ${o.metadata.name} does not expose NATS monitoring`);
  });

  test("NetworkPolicy: every pod denies ingress by default; only the ingress controller reaches the gateway, only the gateway reaches history (apart from the metrics port, above)", () => {
    const policies = objects.filter((o) => o.kind === "NetworkPolicy").map((o) => o.spec as { podSelector: { matchLabels?: Record<string, string> }; policyTypes: string[]; ingress?: Array<{ from?: unknown[]; ports?: Array<{ port: number }> }> });
    const deny = policies.find((p) => Object.keys(p.podSelector.matchLabels ?? {}).length === 0 && p.policyTypes.includes("Ingress") && !p.ingress);
    assert.ok(deny, "a default-deny ingress policy for every pod of the namespace");
    const servicePorts = (p: (typeof policies)[number]) => !(p.ingress ?? []).every((r) => r.ports?.every((port) => port.port === 9464));
    const allows = (name: Ours) => policies.filter((p) => p.ingress && servicePorts(p) && Object.entries(p.podSelector.matchLabels ?? {}).every(([k, v]) => deployment(name).spec.template.metadata.labels[k] === v));
    assert.deepEqual(allows("authz"), []);
    assert.deepEqual(allows("transfer"), []);
    const [gw] = allows("gateway");
    assert.equal(allows("gateway").length, 1);
    assert.deepEqual(gw!.ingress!.map((r) => r.ports?.map((p) => p.port)), [[8080]]);
    assert.ok(JSON.stringify(gw!.ingress![0]!.from).includes("namespaceSelector"), "from the ingress controller's namespace");
    const [hist] = allows("history");
    assert.deepEqual(hist!.ingress!.map((r) => r.ports?.map((p) => p.port)), [[8082]]);
    assert.deepEqual(hist!.ingress![0]!.from, [{ podSelector: { matchLabels: deployment("gateway").spec.template.metadata.labels } }]);
  });

  test("the gateway: the Ingress example serves SKYFERRY_PUBLIC_URL over TLS; trusted proxies are configured; readiness is on its own dependencies", () => {
    const cm = configMap();
    const publicUrl = new URL(cm.SKYFERRY_PUBLIC_URL!);
    assert.equal(publicUrl.protocol, "https:");
    const ingress = find("Ingress", "gateway");
    const spec = ingress?.spec as { tls: Array<{ hosts: string[] }>; rules: Array<{ host: string; http: { paths: Array<{ backend: { service: { name: string; port: { name?: string; number?: number } } } }> } }> };
    assert.equal(spec.rules[0]!.host, publicUrl.host);
    assert.ok(spec.tls[0]!.hosts.includes(publicUrl.host));
    const backend = spec.rules[0]!.http.paths[0]!.backend.service;
    assert.equal(backend.name, "gateway");
    const svc = find("Service", "gateway")!.spec as { ports: Array<{ name: string; port: number }> };
    assert.ok(svc.ports.some((p) => p.name === backend.port.name || p.port === backend.port.number));
    assert.match(cm.SKYFERRY_TRUSTED_PROXIES!, /^(\d+|[0-9a-f.:/]+(,[0-9a-f.:/]+)*)$/i, "a hop count or IPs/CIDRs");
    assert.match(configSources("gateway"), /\bSKYFERRY_TRUSTED_PROXIES:/);
    assert.match(configSources("gateway"), /\bSKYFERRY_PUBLIC_URL:/);
  });

  test("every setting a Deployment gives is one its service reads, and every ConfigMap key is read by some service", () => {
    const cmKeys = Object.keys(configMap());
    for (const name of ours) {
      const src = configSources(name);
      for (const e of container(name).env ?? []) assert.match(src, new RegExp(`\\b${e.name}:`), `${name} reads ${e.name}`);
      assert.deepEqual(container(name).envFrom, [{ configMapRef: { name: "skyferry-config" } }], `${name}: the ConfigMap, and Secret keys only one by one`);
    }
    for (const key of cmKeys) assert.ok(ours.some((n) => new RegExp(`\\b${key}:`).test(configSources(n))), `ConfigMap ${key} is read by a service`);
  });

  test("deploy/README.md lists every Secret key the Deployments take, and no other", () => {
    const used = new Set<string>();
    for (const name of ours) for (const e of container(name).env ?? []) if (e.valueFrom?.secretKeyRef) {
      assert.equal(e.valueFrom.secretKeyRef.name, "skyferry-secrets");
      assert.equal(e.valueFrom.secretKeyRef.key, e.name);
      used.add(e.name);
    }
    assert.deepEqual(documentedSecretKeys().sort(), [...used].sort());
    for (const key of Object.keys(configMap())) assert.doesNotMatch(key, /SECRET|TOKEN|PASSWORD|ENCRYPTION|ACCESS_KEY|OIDC_PROVIDERS|MONGO_URL/, `no secret in the ConfigMap: ${key}`);
    for (const key of ["SKYFERRY_ENCRYPTION_KEYS", "SKYFERRY_ENCRYPTION_KEY_ID", "SKYFERRY_OIDC_PROVIDERS", "SKYFERRY_INTERNAL_TOKEN", "MONGO_URL"]) assert.ok(used.has(key), key);
  });

  /** The provisioning Job (provision.yaml): a pod template like a Deployment's. */
  const job = () => {
    const j = find<Deployment>("Job", "provision");
    assert.ok(j, "Job provision");
    return j;
  };
  /** The Secret (and key) behind each file a service's container sees: mount path/file -> { secret, key }. */
  const secretFiles = (name: Ours | "provision"): Map<string, { secret: string; key: string }> => {
    const pod = (name === "provision" ? job() : deployment(name)).spec.template.spec;
    const out = new Map<string, { secret: string; key: string }>();
    for (const m of pod.containers[0]!.volumeMounts ?? []) {
      const v = pod.volumes?.find((x) => x.name === m.name);
      const sources = v?.secret ? [{ name: v.secret.secretName, items: v.secret.items }] : (v?.projected?.sources ?? []).flatMap((src) => (src.secret ? [src.secret] : []));
      for (const src of sources) for (const item of src.items ?? []) out.set(`${m.mountPath}/${item.path}`, { secret: src.name, key: item.key });
    }
    return out;
  };

  test("NATS: TLS, and each service's own NKey seed from its own Secret (0440, read-only); the CA and the actor public key for all; the actor signing key for the gateway alone", () => {
    const cm = configMap();
    assert.match(cm.SKYFERRY_NATS_URL!, /^tls:\/\//, "TLS only");
    const env = (name: Ours, key: string) => container(name).env?.find((e) => e.name === key)?.value ?? cm[key];
    for (const name of ours) {
      const files = secretFiles(name);
      assert.deepEqual(files.get(env(name, "SKYFERRY_NATS_NKEY_SEED_FILE")!), { secret: `skyferry-nats-${name}`, key: "seed.nk" }, `${name}: its own seed`);
      assert.deepEqual(files.get(env(name, "SKYFERRY_NATS_TLS_CA_FILE")!), { secret: "skyferry-nats-ca", key: "ca.pem" }, `${name}: the CA`);
      assert.deepEqual(files.get(env(name, "SKYFERRY_ACTOR_PUBLIC_KEY_FILE")!), { secret: "skyferry-actor-public", key: "actor.pub.pem" });
      const secrets = new Set([...files.values()].map((f) => f.secret));
      for (const other of ours) if (other !== name) assert.ok(!secrets.has(`skyferry-nats-${other}`), `${name} does not mount ${other}'s seed`);
      assert.equal(secrets.has("skyferry-actor-signing"), name === "gateway", `${name}: the signing key is the gateway's alone`);
      if (name === "gateway") assert.deepEqual(files.get(env(name, "SKYFERRY_ACTOR_SIGNING_KEY_FILE")!), { secret: "skyferry-actor-signing", key: "actor.pem" });
      // Secrets and the projected trust material are read-only; scratch emptyDirs (/tmp, the gateway's tus uploads) are not.
      const scratch = new Set(deployment(name).spec.template.spec.volumes!.filter((v) => "emptyDir" in v).map((v) => v.name));
      for (const m of container(name).volumeMounts ?? []) if (!scratch.has(m.name)) assert.equal(m.readOnly, true, `${name}: ${m.mountPath} read-only`);
      const seedVolume = deployment(name).spec.template.spec.volumes!.find((v) => v.secret?.secretName === `skyferry-nats-${name}`)!;
      assert.equal(seedVolume.secret!.defaultMode, 0o440, `${name}: the seed is 0440 (group: fsGroup)`);
    }
    const readme = readFileSync(join(repo, "deploy/README.md"), "utf8");
    for (const secret of ["skyferry-nats-ca", "skyferry-actor-public", "skyferry-actor-signing", "nats-server-tls", "skyferry-nats-provisioner", ...ours.map((n) => `skyferry-nats-${n}`)]) {
      assert.ok(readme.includes(`\`${secret}\``) || readme.includes(secret), `deploy/README.md says how to make ${secret}`);
    }
  });

  test("streams: the Job `provision` alone makes them, with the transfer image's provision command as the provisioner identity (its own Secret, mounted by nothing else); restricted like the Deployments; transfer's readiness waits for them", () => {
    const j = job() as unknown as Deployment & { spec: { backoffLimit?: number; ttlSecondsAfterFinished?: number } };
    const pod = j.spec.template.spec as Deployment["spec"]["template"]["spec"] & { restartPolicy?: string };
    const c = pod.containers[0]!;
    assert.equal(pod.containers.length, 1);
    assert.equal(c.image, container("transfer").image, "the transfer image (the same version as the workers)");
    assert.deepEqual((c as { command?: string[] }).command, ["node", "--enable-source-maps", "services/transfer/dist/provision.mjs"]);
    assert.equal(pod.restartPolicy, "OnFailure");
    assert.ok((j.spec.backoffLimit ?? 6) >= 6, "retries while NATS comes up");
    assert.ok(j.spec.ttlSecondsAfterFinished! > 0, "removes itself, so the next apply runs it again");
    assert.equal(j.spec.template.metadata.labels["app.kubernetes.io/name"], "skyferry", "NATS admits its pod");
    assert.equal(pod.automountServiceAccountToken, false);
    assert.equal(pod.securityContext?.runAsNonRoot, true);
    assert.equal(pod.securityContext?.seccompProfile?.type, "RuntimeDefault");
    assert.equal(c.securityContext?.allowPrivilegeEscalation, false);
    assert.deepEqual(c.securityContext?.capabilities?.drop, ["ALL"]);
    assert.equal(c.securityContext?.readOnlyRootFilesystem, true);
    assert.ok(c.resources?.requests?.cpu && c.resources?.limits?.memory);
    assert.deepEqual(c.envFrom, [{ configMapRef: { name: "skyferry-config" } }], "the same NATS URL, CA, namespace and consumer settings as transfer");
    const files = secretFiles("provision");
    const seed = c.env?.find((e) => e.name === "SKYFERRY_NATS_NKEY_SEED_FILE")?.value;
    assert.deepEqual(files.get(seed!), { secret: "skyferry-nats-provisioner", key: "seed.nk" });
    assert.deepEqual(files.get(configMap().SKYFERRY_NATS_TLS_CA_FILE!), { secret: "skyferry-nats-ca", key: "ca.pem" });
    assert.deepEqual([...new Set([...files.values()].map((f) => f.secret))].sort(), ["skyferry-nats-ca", "skyferry-nats-provisioner"], "nothing else: no actor key, no other seed");
    assert.ok(!(c.env ?? []).some((e) => e.valueFrom?.secretKeyRef), "no key of skyferry-secrets");
    for (const name of ours) assert.ok(![...secretFiles(name).values()].some((f) => f.secret === "skyferry-nats-provisioner"), `${name} does not mount the provisioner's seed`);
    assert.match(readFileSync(join(repo, "deploy/k8s/transfer.yaml"), "utf8"), /Ready: NATS connected, MongoDB reachable, its JetStream stream and consumer present/);
  });

  test("deploy/nats: valid, deny by default, and only skyferry's pods reach NATS's client port (KEDA its monitoring port, NATS its cluster port)", () => {
    const out = spawnSync(tools.KUSTOMIZE!, ["build", join(repo, "deploy/nats")], { encoding: "utf8", env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/root", ...OFFLINE } });
    assert.equal(out.status, 0, out.stderr);
    const file = join(repo, ".test-results", "k8s-nats-rendered.yaml");
    writeFileSync(file, out.stdout);
    const result = kubeconform(tools, file);
    assert.deepEqual(result.summary, { valid: 2, invalid: 0, errors: 0, skipped: 0 });
    const policies = parseAllDocuments(out.stdout).map((d) => d.toJS() as K8sObject & { spec: { podSelector: { matchLabels?: Record<string, string> }; policyTypes: string[]; ingress?: Array<{ from: Array<Record<string, { matchLabels: Record<string, string> }>>; ports: Array<{ port: number }> }> } });
    for (const p of policies) assert.equal(p.metadata.namespace, "nats");
    assert.ok(policies.some((p) => Object.keys(p.spec.podSelector.matchLabels ?? {}).length === 0 && !p.spec.ingress), "default deny");
    const rules = policies.flatMap((p) => p.spec.ingress ?? []);
    const client = rules.filter((r) => r.ports.some((x) => x.port === 4222));
    assert.equal(client.length, 1);
    assert.deepEqual(client[0]!.from, [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "skyferry" } }, podSelector: { matchLabels: { "app.kubernetes.io/name": "skyferry" } } }]);
    for (const name of ours) assert.equal(deployment(name).spec.template.metadata.labels["app.kubernetes.io/name"], "skyferry", `${name}'s pods carry the label NATS admits`);
    assert.deepEqual(rules.filter((r) => r.ports.some((x) => x.port === 8222)).map((r) => r.from), [[{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "keda" } } }]]);
  });

  describe("each of our services, started natively with the ConfigMap, its Deployment's env and the documented Secret keys", () => {
    const started: NativeService[] = [];
    const stack = process.env;
    // The cluster's host names, mapped to the local stack (its servers listen on 127.0.0.1 at
    // their default ports) and to our services (on 0.0.0.0 at the manifests' ports).
    // NATS: one this test starts on 127.0.0.2 with the config scripts/nats-config.mjs renders for the
    // Helm chart's namespace, its certificate and seeds made as deploy/README.md says (trust.sh keys).
    const hosts: Record<string, string> = {
      "nats.nats.svc.cluster.local": "127.0.0.2",
      "mongodb.mongodb.svc.cluster.local": "127.0.0.1",
      "rgw.storage.svc.cluster.local": "127.0.0.1",
      history: "127.0.0.1",
    };
    let secret: Record<string, string> = {};
    let trustDir = "";
    let natsClose: (() => Promise<void>) | undefined;
    /** The files of the Secrets the Deployments mount, by Secret name and key (made in before()). */
    let secretFileSources: Record<string, Record<string, string>> = {};

    /** What the kubelet gives the container: image ENV, then envFrom (the ConfigMap), then env (values and Secret keys). */
    const envOf = (name: Ours | "provision"): Record<string, string> => {
      const env: Record<string, string> = { ...imageEnv(name === "provision" ? "transfer" : name), ...configMap() };
      for (const e of (name === "provision" ? job() : deployment(name)).spec.template.spec.containers[0]!.env ?? []) {
        const ref = e.valueFrom?.secretKeyRef;
        if (ref) {
          const v = secret[ref.key];
          if (v === undefined) assert.ok(ref.optional, `Secret key ${ref.key} is required`);
          else env[e.name] = v;
        } else if (e.value !== undefined) env[e.name] = e.value;
      }
      // Files the kubelet mounts from Secrets: the same files, from where this test made them.
      const files = secretFiles(name);
      for (const [k, v] of Object.entries(env)) {
        const f = files.get(v);
        if (f) {
          const local = secretFileSources[f.secret]?.[f.key];
          assert.ok(local, `${name}: ${k} names ${v}, from Secret ${f.secret} key ${f.key}`);
          env[k] = local;
        }
      }
      // The manifests' 3 stream replicas need the 3-node cluster of deploy/nats/values.yaml; this
      // test's NATS is one node, which refuses more than 1 (a cluster at 3: test/scale, bench:scale).
      if (name === "provision") {
        assert.equal(env.TRANSFER_STREAM_REPLICAS, "3", "the production example keeps 3 copies of the work stream");
        env.TRANSFER_STREAM_REPLICAS = "1";
      }
      // The stack's MongoDB may run on another port than the manifests' (SKYFERRY_MONGO_PORT).
      const mongoPort = new URL(stack.MONGO_URL ?? "mongodb://127.0.0.1:27017").port || "27017";
      if (env.MONGO_URL) env.MONGO_URL = env.MONGO_URL.replace("mongodb.mongodb.svc.cluster.local:27017", `mongodb.mongodb.svc.cluster.local:${mongoPort}`);
      return env;
    };

    before(async () => {
      assert.ok(stack.S3_ENDPOINT && stack.S3_ACCESS_KEY_ID && stack.S3_SECRET_ACCESS_KEY, "the local stack's env (source .stack/env)");
      const s3Port = new URL(stack.S3_ENDPOINT).port;
      // The Secret as deploy/README.md describes it, values made for this run.
      secret = {
        MONGO_URL: "mongodb://mongodb.mongodb.svc.cluster.local:27017",
        SKYFERRY_ENCRYPTION_KEYS: JSON.stringify({ k1: randomBytes(32).toString("base64") }),
        SKYFERRY_ENCRYPTION_KEY_ID: "k1",
        SKYFERRY_OIDC_PROVIDERS: JSON.stringify([{ name: "local", issuer: "http://127.0.0.1:18090", client_id: "skyferry-local", client_secret: randomBytes(16).toString("hex"), allow_insecure_http: true }]),
        SKYFERRY_INTERNAL_TOKEN: randomBytes(32).toString("hex"),
        DATASET_STORE_S3_ENDPOINT: `http://rgw.storage.svc.cluster.local:${s3Port}`,
        DATASET_STORE_S3_ACCESS_KEY_ID: stack.S3_ACCESS_KEY_ID,
        DATASET_STORE_S3_SECRET_ACCESS_KEY: stack.S3_SECRET_ACCESS_KEY,
      };
      assert.deepEqual(Object.keys(secret).sort(), documentedSecretKeys().sort(), "the test's Secret has exactly the documented keys");
      // The trust material as deploy/README.md makes it, and NATS configured as its Helm values say.
      trustDir = mkdtempSync(join(tmpdir(), "skyferry-k8s-trust-"));
      const t = join(trustDir, "trust");
      execFileSync("bash", [join(repo, "scripts/stack/trust.sh"), "keys", t, ...ours, "provisioner", "monitor"], { cwd: repo, stdio: "pipe", timeout: 60_000 });
      execFileSync("bash", [join(repo, "scripts/stack/trust.sh"), "render", join(t, "seeds"), join(trustDir, "nats.conf"), "--namespace", configMap().SKYFERRY_NAMESPACE!,
        "--identities", [...ours, "provisioner", "monitor"].join(","), "--listen", "0.0.0.0:4222", "--http", "127.0.0.1:8222", "--store-dir", join(trustDir, "js"),
        "--tls-cert", join(t, "nats-server.pem"), "--tls-key", join(t, "nats-server-key.pem")], { cwd: repo, stdio: "pipe", timeout: 60_000 });
      const nats = await startNats({ conf: join(trustDir, "nats.conf"), paths: {}, host: hosts["nats.nats.svc.cluster.local"]!, dir: join(trustDir, "native") });
      natsClose = nats.close;
      secretFileSources = {
        "skyferry-nats-ca": { "ca.pem": join(t, "ca.pem") },
        "skyferry-actor-public": { "actor.pub.pem": join(t, "actor.pub.pem") },
        "skyferry-actor-signing": { "actor.pem": join(t, "actor.pem") },
        ...Object.fromEntries([...ours, "provisioner"].map((n) => [`skyferry-nats-${n}`, { "seed.nk": join(t, "seeds", `${n}.nk`) }])),
      };
      // The bucket must exist (config.yaml: DATASET_STORE_S3_BUCKET).
      const s3 = new S3Client({ endpoint: stack.S3_ENDPOINT, region: stack.S3_REGION ?? "us-east-1", forcePathStyle: true, credentials: { accessKeyId: stack.S3_ACCESS_KEY_ID, secretAccessKey: stack.S3_SECRET_ACCESS_KEY } });
      try {
        await s3.send(new CreateBucketCommand({ Bucket: configMap().DATASET_STORE_S3_BUCKET }));
      } catch (err) {
        if (!/BucketAlreadyOwnedByYou|BucketAlreadyExists/.test((err as Error).name)) throw err;
      } finally {
        s3.destroy();
      }
    });

    after(async () => {
      for (const s of started.reverse()) await s.close();
      await natsClose?.();
      if (trustDir) rmSync(trustDir, { recursive: true, force: true });
    });

    test("the Job provision runs to completion as provisioner (twice: idempotent), before transfer", async () => {
      const cmd = (job().spec.template.spec.containers[0] as { command?: string[] }).command!;
      for (let run = 1; run <= 2; run++) {
        const log = await runOneShot({ label: `k8s provision (run ${run})`, service: "transfer", args: cmd.slice(1), env: envOf("provision"), hosts });
        assert.match(log, /JetStream streams and consumers provisioned/);
      }
    });

    for (const name of ours) {
      test(`${name} becomes ready`, async () => {
        const env = envOf(name);
        assert.equal(env.HOST, "0.0.0.0");
        // Each pod has its own address; here each service's metrics listener gets a loopback
        // address of its own, on the manifests' port.
        const metricsHost = `127.0.1.${ours.indexOf(name) + 1}`;
        env.SKYFERRY_METRICS_HOST = metricsHost;
        const svc = await startNative({ service: name, env, hosts, label: `k8s ${name}`, timeoutMs: 90_000 });
        started.push(svc);
        const metrics = await fetch(`http://${metricsHost}:${env.SKYFERRY_METRICS_PORT}/metrics`);
        assert.equal(metrics.status, 200);
        const text = await metrics.text();
        assert.match(text, new RegExp(`^process_cpu_user_seconds_total\\{service="${name}"\\} `, "m"), "Node's process metrics, labelled with the service");
        assert.match(text, /^# TYPE skyferry_http_request_duration_seconds histogram$/m);
        // Not on the service's own port (the gateway answers its console there, any other service 404).
        assert.doesNotMatch(await (await fetch(`${svc.url}/metrics`)).text(), /^# TYPE /m, "no metrics on the service's own port");
        const ready = (await (await fetch(`${svc.url}/readyz`)).json()) as { status: string; service: string; checks: Record<string, boolean> };
        assert.equal(ready.status, "ready");
        assert.equal(ready.service, name);
        if (name === "gateway") assert.deepEqual(Object.keys(ready.checks), ["nats"], "the gateway is ready on its own dependency only");
        if (name === "transfer") assert.equal(ready.checks.streams, true, "its provisioned stream and consumer");
      });
    }

    test("through the gateway, every service answers (GET /api/status)", async () => {
      const gateway = started.find((s) => s.name === "gateway");
      assert.ok(gateway, "the gateway started");
      const res = await fetch(`${gateway.url}/api/status`);
      const body = (await res.json()) as { gateway: string; services: Record<string, { ok: boolean }> };
      assert.equal(body.gateway, "ok");
      for (const name of ours.filter((n) => n !== "gateway")) assert.equal(body.services[name]?.ok, true, `${name} answers: ${JSON.stringify(body)}`);
    });
  });
});
