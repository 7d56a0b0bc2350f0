import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import * as contracts from "../src/index.ts";
import { ANY_NAMESPACE, EVENT_GRANTS, IDENTITIES, permissionsFor, permissionTableMarkdown, RPC_GRANTS, SERVICE_IDENTITIES, STREAM_GRANTS } from "../src/index.ts";

/** Every RPC and event contract the package exports (SystemPing's are in an object). */
function exported(kind: "rpc" | "event"): Array<{ name: string; value: { kind: string } }> {
  const out: Array<{ name: string; value: { kind: string } }> = [];
  for (const [name, value] of Object.entries(contracts)) {
    if (value && typeof value === "object" && "kind" in value && value.kind === kind) out.push({ name, value: value as { kind: string } });
    else if (value && typeof value === "object" && !Array.isArray(value)) {
      for (const [k, v] of Object.entries(value)) if (v && typeof v === "object" && "kind" in v && v.kind === kind) out.push({ name: `${name}.${k}`, value: v as { kind: string } });
    }
  }
  return out;
}

const allow = (p: { allow: string[] } | { deny: string[] }) => ("allow" in p ? p.allow : []);

describe("the permission table", () => {
  test("every RPC contract has exactly one grant (one serving identity), every event and the work stream theirs: nothing new goes ungranted", () => {
    for (const { name, value } of exported("rpc")) {
      const grants = RPC_GRANTS.filter((g) => g.contract === value);
      assert.equal(grants.length, 1, `${name}: ${grants.length} grants (add it to RPC_GRANTS in permissions.ts)`);
      assert.ok(grants[0]!.callers.length > 0, `${name} has callers`);
    }
    const work = STREAM_GRANTS.map((g) => g.work);
    for (const { name, value } of exported("event")) {
      if (work.includes(value as never)) continue;
      assert.equal(EVENT_GRANTS.filter((g) => g.contract === value).length, 1, `${name}: add it to EVENT_GRANTS`);
    }
  });

  test("no identity but operator may publish everything, and only monitor and operator subscribe to everything", () => {
    for (const id of IDENTITIES) {
      const p = permissionsFor(id, "skyferry");
      assert.equal(allow(p.publish).includes(">"), id === "operator", `${id} publish >`);
      assert.equal(p.subscribe.allow.includes(">"), id === "operator" || id === "monitor", `${id} subscribe >`);
      for (const s of [...allow(p.publish), ...p.subscribe.allow]) {
        assert.ok(!/^\$JS\.API\.>$|^\$JS\.>$|^_INBOX\.>$/.test(s), `${id}: ${s} is too broad`);
        if (id !== "operator" && id !== "monitor" && s.startsWith("_INBOX.")) assert.equal(s, `_INBOX.${id}.>`, `${id} subscribes only its own inbox`);
      }
    }
  });

  test("the services: who serves and who calls (findings 1-6 of issue 18)", () => {
    const ns = "skyferry";
    const can = (id: (typeof IDENTITIES)[number], subject: string) => allow(permissionsFor(id, ns).publish).includes(subject);
    const serves = (id: (typeof IDENTITIES)[number], subject: string) => permissionsFor(id, ns).subscribe.allow.includes(subject);
    const issue = contracts.AuthzIssueCredentials.subject(ns);
    assert.deepEqual(SERVICE_IDENTITIES.filter((id) => can(id, issue)), ["transfer"], "credentials: transfer only");
    assert.deepEqual(SERVICE_IDENTITIES.filter((id) => serves(id, issue)), ["authz"], "authz alone serves it");
    const resolve = contracts.AuthzResolveActor.subject(ns);
    assert.deepEqual(SERVICE_IDENTITIES.filter((id) => can(id, resolve)), ["gateway"]);
    const apiKey = contracts.AuthzApiKeyCreate.subject(ns);
    assert.deepEqual(SERVICE_IDENTITIES.filter((id) => can(id, apiKey)), ["gateway"]);
    assert.deepEqual(SERVICE_IDENTITIES.filter((id) => can(id, contracts.HistoryList.subject(ns))), ["gateway"]);
    assert.deepEqual(SERVICE_IDENTITIES.filter((id) => can(id, contracts.TransferSend.subject(ns))), ["gateway"]);
    assert.deepEqual(SERVICE_IDENTITIES.filter((id) => can(id, contracts.TransferJobWork.pattern(ns))), ["transfer"], "only the planners queue work");
    assert.deepEqual(SERVICE_IDENTITIES.filter((id) => can(id, contracts.HistoryImportStart.subject(ns))), ["transfer"]);
    assert.deepEqual(permissionsFor("publisher-example", ns).publish, { allow: [contracts.PublicTransferSend.subject(ns)] }, "an external publisher reaches the gateway's public subjects alone");
    assert.deepEqual(SERVICE_IDENTITIES.filter((id) => serves(id, contracts.PublicTransferSend.subject(ns))), ["gateway"]);
    assert.deepEqual(SERVICE_IDENTITIES.filter((id) => serves(id, resolve)), ["authz"], "nobody else reads the keys and sessions resolved");
  });

  test("JetStream: transfer gets only pull consumption of its stream (no create or update of a stream or consumer); provisioner alone creates and updates them; nobody else any", () => {
    const stream = contracts.TransferJobsStream.name("skyferry");
    const js = (id: (typeof IDENTITIES)[number], ns = "skyferry") => allow(permissionsFor(id, ns).publish).filter((s) => s.startsWith("$JS."));
    assert.deepEqual(js("transfer").sort(), [
      `$JS.ACK.${stream}.transfer-workers.>`,
      `$JS.API.CONSUMER.INFO.${stream}.transfer-workers`,
      `$JS.API.CONSUMER.MSG.NEXT.${stream}.transfer-workers`,
      `$JS.API.STREAM.INFO.${stream}`,
    ]);
    assert.deepEqual(js("provisioner").sort(), [
      `$JS.API.CONSUMER.CREATE.${stream}.transfer-workers`,
      `$JS.API.CONSUMER.CREATE.${stream}.transfer-workers.>`,
      `$JS.API.CONSUMER.DURABLE.CREATE.${stream}.transfer-workers`,
      `$JS.API.CONSUMER.INFO.${stream}.transfer-workers`,
      `$JS.API.STREAM.CREATE.${stream}`,
      `$JS.API.STREAM.INFO.${stream}`,
      `$JS.API.STREAM.UPDATE.${stream}`,
    ]);
    assert.deepEqual(permissionsFor("provisioner", "skyferry").publish, { allow: js("provisioner") }, "the provisioner publishes nothing but the JetStream API of skyferry's streams");
    assert.deepEqual(permissionsFor("provisioner", "skyferry").subscribe, { allow: ["_INBOX.provisioner.>"] }, "and reads nothing but its inbox");
    for (const id of ["gateway", "authz", "history", "monitor", "publisher-example"] as const) assert.deepEqual(js(id), [], id);
    const changes = /^\$JS\.API\.(STREAM|CONSUMER)\.(CREATE|UPDATE|DURABLE\.CREATE|DELETE|PURGE)\b/;
    for (const ns of ["skyferry", ANY_NAMESPACE]) {
      for (const id of IDENTITIES.filter((i) => i !== "provisioner" && i !== "operator")) {
        assert.deepEqual(js(id, ns).filter((s) => changes.test(s)), [], `${id} may create or change no stream or consumer (${ns})`);
      }
      assert.ok(js("provisioner", ns).every((s) => !s.includes("DELETE") && !s.includes("PURGE")));
    }
    assert.ok(allow(permissionsFor("transfer", ANY_NAMESPACE).publish).includes("$JS.API.CONSUMER.MSG.NEXT.*.transfer-workers"), "any namespace: the stream is a wildcard token");
  });

  test("servers answer through allow_responses (several for a many-replies server); an identity that publishes nothing is denied everything, not left open", () => {
    assert.deepEqual(permissionsFor("authz", "skyferry").allow_responses, { max: 1, expires: "2m" });
    assert.equal(permissionsFor("history", "skyferry").allow_responses?.max, 100_000);
    assert.deepEqual(permissionsFor("gateway", "skyferry").allow_responses, { max: 1, expires: "2m" }, "the gateway serves the public send");
    assert.equal(permissionsFor("monitor", "skyferry").allow_responses, undefined);
    assert.deepEqual(permissionsFor("history", "skyferry").publish, { deny: [">"] });
  });

  test("the README's \"Trust\" table is this table", () => {
    const readme = readFileSync(join(import.meta.dirname, "../../../README.md"), "utf8");
    const copy = /<!-- permissions:begin -->\n([\s\S]*?)\n<!-- permissions:end -->/.exec(readme)?.[1];
    assert.equal(copy, permissionTableMarkdown(), "copy permissionTableMarkdown() into README.md (node --import tsx -e 'import(\"./packages/contracts/src/permissions.ts\").then(m => console.log(m.permissionTableMarkdown()))')");
  });
});
