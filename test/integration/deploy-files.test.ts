import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { resolve } from "node:path";
import { describe, test } from "node:test";
import { parse, parseAllDocuments } from "yaml";

const repo = resolve(import.meta.dirname, "../..");
const compose = parse(readFileSync(resolve(repo, "docker-compose.yml"), "utf8"), { merge: true }) as {
  services: Record<string, { image?: string; build?: unknown; healthcheck?: { test?: unknown }; environment?: Record<string, string>; ports?: string[]; deploy?: { replicas?: number }; depends_on?: Record<string, unknown> }>;
};
const ours = ["gateway", "authz", "history", "transfer"];

// No Docker engine here: these tests check the structure users rely on.
describe("docker-compose.yml", () => {
  test("runs NATS, MongoDB, MinIO, Azurite, an OIDC provider and the four services", () => {
    for (const name of ["nats", "mongodb", "minio", "azurite", "oidc", ...ours]) assert.ok(compose.services[name], `service ${name}`);
  });

  test("every service has an image or a build, and a health check", () => {
    for (const [name, svc] of Object.entries(compose.services)) {
      assert.ok(svc.image || svc.build, `${name} has image or build`);
      assert.ok(Array.isArray(svc.healthcheck?.test) && (svc.healthcheck.test as unknown[]).length > 1, `${name} has a health check`);
    }
  });

  test("the services get the environment they need; transfer runs 3 replicas; NATS has JetStream on", () => {
    for (const name of ours) {
      const env = compose.services[name]!.environment ?? {};
      for (const key of ["SKYFERRY_NATS_URL", "MONGO_URL", "PORT", "HOST"]) assert.ok(env[key], `${name} sets ${key}`);
    }
    assert.ok(compose.services.authz!.environment!.SKYFERRY_ENCRYPTION_KEYS);
    assert.equal(compose.services.transfer!.deploy?.replicas, 3);
    assert.ok((compose.services.nats as { command?: string[] }).command?.includes("-js"));
  });

  test("every published port is bound to 127.0.0.1", () => {
    for (const [name, svc] of Object.entries(compose.services)) {
      for (const port of svc.ports ?? []) assert.match(port, /^127\.0\.0\.1:/, `${name} publishes ${port}`);
    }
  });

  test("no secret is written in the file: each comes from the environment", () => {
    const lines = readFileSync(resolve(repo, "docker-compose.yml"), "utf8").split("\n");
    const secretLines = lines.filter((l) => /^\s*[A-Z_]*(PASSWORD|SECRET|TOKEN|ENCRYPTION_KEYS?):\s*\S/.test(l) || /client_secret/.test(l));
    assert.ok(secretLines.length >= 4, "the secret settings are found");
    for (const line of secretLines) assert.match(line, /\$\{[A-Z_]+:\?/, `secret-like setting comes from the environment: ${line.trim()}`);
  });
});

describe("Dockerfile and Kubernetes manifests", () => {
  test("the Dockerfile is multi-stage and built from turbo prune", () => {
    const text = readFileSync(resolve(repo, "Dockerfile"), "utf8");
    assert.ok((text.match(/^FROM /gm) ?? []).length >= 3);
    assert.match(text, /turbo@2 prune/);
    assert.match(text, /^USER node$/m);
  });

  test("each service has a Deployment with probes and a Service; transfer scales horizontally", () => {
    const dir = resolve(repo, "deploy/k8s");
    const docs = readdirSync(dir)
      .filter((f) => f.endsWith(".yaml"))
      .flatMap((f) => parseAllDocuments(readFileSync(resolve(dir, f), "utf8")).map((d) => d.toJS() as { kind: string; metadata: { name: string }; spec?: Record<string, unknown> }));
    for (const name of ours) {
      const dep = docs.find((d) => d.kind === "Deployment" && d.metadata.name === name);
      assert.ok(dep, `Deployment ${name}`);
      const container = (dep.spec as { template: { spec: { containers: Array<Record<string, unknown>> } } }).template.spec.containers[0]!;
      assert.ok(container.readinessProbe && container.livenessProbe, `${name} probes`);
      assert.ok(docs.find((d) => d.kind === "Service" && d.metadata.name === name), `Service ${name}`);
    }
    const hpa = docs.find((d) => d.kind === "HorizontalPodAutoscaler");
    assert.equal((hpa?.spec as { scaleTargetRef: { name: string } }).scaleTargetRef.name, "transfer");
  });
});
