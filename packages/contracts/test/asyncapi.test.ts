import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { DiagnosticSeverity, Parser } from "@asyncapi/parser";
import { allContracts, buildAsyncApi, contractId, subjectParams } from "../src/asyncapi.ts";
import { ASYNCAPI_FILE } from "../src/write-asyncapi.ts";

const SRC = fileURLToPath(new URL("../src/", import.meta.url));

/** Call sites of defineRpc/defineEvent in the contract modules: counted independently of the generator's export walk. */
function definitionsInSource(): { rpc: number; event: number } {
  let rpc = 0;
  let event = 0;
  for (const file of readdirSync(SRC).filter((f) => f.endsWith(".ts") && f !== "define.ts")) {
    const text = readFileSync(`${SRC}${file}`, "utf8");
    rpc += text.match(/\bdefineRpc\(/g)?.length ?? 0;
    event += text.match(/\bdefineEvent\(/g)?.length ?? 0;
  }
  return { rpc, event };
}

interface Doc {
  channels: Record<string, { address: string | null; parameters?: Record<string, unknown>; messages: Record<string, { $ref: string }> }>;
  operations: Record<string, { action: string; channel: { $ref: string }; reply?: unknown }>;
  components: { messages: Record<string, { payload: { properties?: Record<string, { const?: string }> } }> };
}

describe("the AsyncAPI document of the NATS interface", () => {
  const doc = buildAsyncApi() as unknown as Doc;

  test("@asyncapi/parser validates it with no errors and no warnings", async () => {
    const { document, diagnostics } = await new Parser().parse(JSON.stringify(doc));
    const problems = diagnostics.filter((d) => d.severity === DiagnosticSeverity.Error || d.severity === DiagnosticSeverity.Warning);
    assert.deepEqual(problems.map((d) => `${d.code}: ${d.message} at ${d.path.join("/")}`), []);
    assert.ok(document, "the parser returns a document");
    assert.equal(document.operations().length, allContracts().length);
  });

  test("the same validation refuses a broken copy (an operation on a missing channel, a bad action)", async () => {
    const broken = structuredClone(doc) as unknown as { operations: Record<string, Record<string, unknown>> };
    const first = Object.values(broken.operations)[0]!;
    first.channel = { $ref: "#/channels/no-such-channel" };
    first.action = "publish";
    const { diagnostics } = await new Parser().parse(JSON.stringify(broken));
    assert.ok(diagnostics.some((d) => d.severity === DiagnosticSeverity.Error));
  });

  test("every defineRpc and defineEvent in the sources is in it, as a channel and an operation", () => {
    const contracts = allContracts();
    const inSource = definitionsInSource();
    assert.equal(contracts.filter((c) => c.kind === "rpc").length, inSource.rpc, "every defineRpc is exported and found");
    assert.equal(contracts.filter((c) => c.kind === "event").length, inSource.event, "every defineEvent is exported and found");
    for (const c of contracts) {
      const id = contractId(c);
      const channel = doc.channels[id];
      assert.ok(channel, `channel ${id}`);
      assert.equal(doc.operations[id]?.channel.$ref, `#/channels/${id}`);
      if (c.kind === "rpc") {
        assert.equal(channel.address, c.subject("{namespace}"));
        assert.equal(doc.operations[id]?.action, "receive");
        assert.ok(doc.operations[id]?.reply, `${id} has a reply`);
        assert.equal(doc.components.messages[c.requestType]?.payload.properties?.type?.const, c.requestType);
      } else {
        assert.equal(doc.operations[id]?.action, "send");
        assert.equal(doc.components.messages[c.type]?.payload.properties?.type?.const, c.type);
      }
    }
  });

  test("subjects carry the namespace and the subject's ids as parameters, matching the subscription pattern", () => {
    const events = allContracts().filter((c) => c.kind === "event");
    assert.ok(events.length > 0);
    for (const c of events) {
      const channel = doc.channels[contractId(c)]!;
      const params = subjectParams(c);
      assert.deepEqual(Object.keys(channel.parameters ?? {}), ["namespace", ...params]);
      for (const p of params) assert.match(p, /^[a-z][a-z0-9_]*$/, `${c.type}: parameter ${p} is named from the subject builder`);
      const asPattern = params.reduce((address, p) => address.replace(`{${p}}`, "*"), channel.address!);
      assert.equal(asPattern, c.pattern("{namespace}"), `${c.type}: address with ids as wildcards is the subscription pattern`);
    }
    const progress = allContracts().find((c) => c.kind === "event" && c.type === "skyferry.transfer.job.progress.v1");
    assert.equal(progress && doc.channels[contractId(progress)]?.address, "{namespace}.transfer.job.{job_id}.progress");
  });

  test("docs/asyncapi.json is the generator's current output (run `npm run asyncapi -w @skyferry/contracts` when this fails)", () => {
    const committed = readFileSync(ASYNCAPI_FILE, "utf8");
    const current = `${JSON.stringify(doc, null, 2)}\n`;
    if (committed === current) return;
    // Name what differs rather than printing two 400 kB documents.
    const old = JSON.parse(committed) as Doc;
    const stale = [
      ...differing(old.channels, doc.channels).map((k) => `channel ${k}`),
      ...differing(old.components.messages, doc.components.messages).map((k) => `message ${k}`),
    ];
    assert.fail(`docs/asyncapi.json is stale (${stale.slice(0, 10).join(", ") || "formatting or info"}${stale.length > 10 ? ", ..." : ""}): run \`npm run asyncapi -w @skyferry/contracts\``);
  });
});

function differing(a: Record<string, unknown>, b: Record<string, unknown>): string[] {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k])).sort();
}
