import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { HistoryDatasetsForSend } from "@skyferry/contracts";
import { type MockOidc, oidcEnv, type SignedIn, signIn, startOidcProvider } from "../support/auth.ts";
import { call, Pattern, uploadMultipart } from "../support/history.ts";
import { startSystem, type System } from "../support/system.ts";
import { signedActor } from "@skyferry/actor/testing";

// Histories and datasets through the real gateway, authz and history services (metadata over
// NATS, uploads proxied over HTTP), against FerretDB and NATS. Field sets: reference §6.

const HISTORY_SUMMARY = ["id", "model_class", "name", "deleted", "purged", "archived", "count", "url", "published", "annotation", "tags", "update_time", "preferred_object_store_id"];
const HISTORY_DETAILED = [
  ...HISTORY_SUMMARY, "contents_url", "email_hash", "empty", "size", "user_id", "create_time", "importable", "slug", "username", "username_and_slug",
  "genome_build", "state", "state_details", "state_ids", "hid_counter",
];
const HDA_SUMMARY = [
  "id", "type_id", "name", "history_id", "hid", "history_content_type", "dataset_id", "genome_build", "state", "extension", "deleted", "purged",
  "visible", "tags", "type", "url", "create_time", "update_time", "object_store_id", "quota_source_label",
];
const HDA_DETAILED = [
  ...HDA_SUMMARY, "model_class", "hda_ldda", "accessible", "misc_info", "misc_blurb", "file_ext", "file_size", "resubmitted", "metadata_dbkey",
  "meta_files", "data_type", "peek", "creating_job", "rerunnable", "uuid", "permissions", "display_apps", "display_types", "validated_state",
  "validated_state_message", "download_url", "annotation", "api_type", "created_from_basename", "hashes", "sources", "drs_id",
];
const sorted = (o: object) => Object.keys(o).sort();

type Obj = Record<string, unknown>;

describe("history API: views, filters, ownership, bad input", () => {
  let oidc: MockOidc;
  let sys: System;
  let alice: SignedIn;
  let bob: SignedIn;
  const api = <T = Obj>(u: SignedIn, path: string, init?: { method?: string; body?: unknown }) => call<T>(sys.url, u.apiKey, path, init);
  const newHistory = async (u: SignedIn, name: string) => (await api(u, "/api/histories", { method: "POST", body: { name } })).body as Obj & { id: string };
  const upload = async (u: SignedIn, historyId: string, files: Array<[string, string]>, fields?: Array<[string, string]>) => {
    const r = await uploadMultipart(sys.url, u.apiKey, historyId, files.map(([name, text]) => ({ name, content: Buffer.from(text) })), fields ? { fields } : {});
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return r.body.outputs as Array<Obj & { id: string }>;
  };

  before(async () => {
    oidc = await startOidcProvider();
    sys = await startSystem({ label: "history-api", env: { authz: oidcEnv(oidc), history: { HISTORY_MAX_UPLOAD_BYTES: String(1024 * 1024) } } });
    alice = await signIn(sys, { email: "alice@example.org" });
    bob = await signIn(sys, { email: "bob@example.org" });
  });
  after(async () => {
    await sys?.close();
    await oidc?.close();
  });

  test("create, list (summary) and get (detailed) carry exactly the reference's fields", async () => {
    const created = await newHistory(alice, "rna-seq run 1");
    assert.deepEqual(sorted(created), [...HISTORY_DETAILED].sort());
    assert.equal(created.name, "rna-seq run 1");
    assert.equal(created.model_class, "History");
    assert.equal(created.url, `/api/histories/${created.id}`);
    assert.equal(created.state, "new");
    assert.equal(created.empty, true);
    assert.equal(created.user_id, alice.userId);
    assert.match(String(created.email_hash), /^[0-9a-f]{32}$/);
    const list = (await api<Obj[]>(alice, "/api/histories")).body;
    const mine = list.find((h) => h.id === created.id)!;
    assert.deepEqual(sorted(mine), [...HISTORY_SUMMARY].sort());
    const detailed = (await api<Obj[]>(alice, "/api/histories?view=detailed")).body.find((h) => h.id === created.id)!;
    assert.deepEqual(sorted(detailed), [...HISTORY_DETAILED].sort());
    const one = (await api(alice, `/api/histories/${created.id}`)).body;
    assert.deepEqual(sorted(one), [...HISTORY_DETAILED].sort());
    const summary = (await api(alice, `/api/histories/${created.id}?view=summary`)).body;
    assert.deepEqual(sorted(summary), [...HISTORY_SUMMARY].sort());
    const keys = (await api(alice, `/api/histories/${created.id}?keys=id,size,hid_counter`)).body;
    assert.deepEqual(keys, { id: created.id, size: 0, hid_counter: 1 });
    const viewPlusKeys = (await api(alice, `/api/histories/${created.id}?view=summary&keys=size`)).body;
    assert.deepEqual(sorted(viewPlusKeys), [...HISTORY_SUMMARY, "size"].sort());
  });

  test("name search (search= and q=name-contains), deleted filter, order, limit/offset", async () => {
    const a = await newHistory(alice, "Alpha ChIP");
    const b = await newHistory(alice, "beta chip");
    await newHistory(alice, "gamma");
    const names = (r: { body: Obj[] }) => r.body.map((h) => h.name);
    assert.deepEqual(names(await api<Obj[]>(alice, "/api/histories?search=chip&order=name-asc")), ["Alpha ChIP", "beta chip"]);
    assert.deepEqual(names(await api<Obj[]>(alice, "/api/histories?q=name-contains&qv=CHIP&order=name-dsc")), ["beta chip", "Alpha ChIP"]);
    assert.deepEqual(names(await api<Obj[]>(alice, "/api/histories?q=name&qv=gamma")), ["gamma"]);
    assert.equal((await api(alice, `/api/histories/${b.id}`, { method: "DELETE" })).status, 200);
    assert.deepEqual(names(await api<Obj[]>(alice, "/api/histories?search=chip")), ["Alpha ChIP"]);
    assert.deepEqual(names(await api<Obj[]>(alice, "/api/histories?deleted=true")), ["beta chip"]);
    assert.deepEqual(names(await api<Obj[]>(alice, "/api/histories?q=deleted&qv=true")), ["beta chip"]);
    const page = await api<Obj[]>(alice, "/api/histories?order=name-asc&limit=1&offset=1");
    assert.equal(page.body.length, 1);
    const all = names(await api<Obj[]>(alice, "/api/histories?order=name-asc"));
    assert.equal(page.body[0]!.name, all[1]);
    const undeleted = await api(alice, `/api/histories/${b.id}`, { method: "PUT", body: { deleted: false, name: "beta chip 2", annotation: "notes", tags: ["x"] } });
    assert.equal(undeleted.status, 200);
    assert.equal(undeleted.body.deleted, false);
    assert.equal(undeleted.body.name, "beta chip 2");
    assert.deepEqual(undeleted.body.tags, ["x"]);
    assert.ok(a.id);
  });

  test("contents: summary in hid order, details=all / ids= give the detailed view, deleted and visible filter", async () => {
    const h = await newHistory(alice, "contents");
    const [one, two] = await upload(alice, h.id, [["reads.fastq", "@r1\nACGT\n+\nIIII\n"], ["peaks.bed", "chr1\t10\t20\n"]]);
    const [three] = await upload(alice, h.id, [["table.txt", "a\tb\n1\t2\n"]], [["file_type", "tabular"]]);
    assert.deepEqual([one!.hid, two!.hid, three!.hid], [1, 2, 3]);
    assert.deepEqual(sorted(one!), [...HDA_DETAILED].sort());
    assert.equal(three!.extension, "tabular");
    const contents = (await api<Obj[]>(alice, `/api/histories/${h.id}/contents`)).body;
    assert.deepEqual(contents.map((d) => d.hid), [1, 2, 3]);
    for (const d of contents) assert.deepEqual(sorted(d), [...HDA_SUMMARY].sort());
    assert.equal(contents[0]!.type_id, `dataset-${one!.id}`);
    assert.equal(contents[0]!.url, `/api/histories/${h.id}/contents/${one!.id}`);
    const all = (await api<Obj[]>(alice, `/api/histories/${h.id}/contents?details=all`)).body;
    for (const d of all) assert.deepEqual(sorted(d), [...HDA_DETAILED].sort());
    const byIds = (await api<Obj[]>(alice, `/api/histories/${h.id}/contents?ids=${two!.id}`)).body;
    assert.deepEqual(byIds.map((d) => d.id), [two!.id]);
    assert.deepEqual(sorted(byIds[0]!), [...HDA_DETAILED].sort());
    const some = (await api<Obj[]>(alice, `/api/histories/${h.id}/contents?details=${three!.id}`)).body;
    assert.deepEqual(some.map((d) => Object.keys(d).length > HDA_SUMMARY.length), [false, false, true]);

    assert.equal((await api(alice, `/api/datasets/${two!.id}`, { method: "PUT", body: { visible: false, name: "renamed.bed", datatype: "interval" } })).status, 200);
    const hidden = (await api<Obj[]>(alice, `/api/histories/${h.id}/contents?visible=false`)).body;
    assert.deepEqual(hidden.map((d) => [d.id, d.name, d.extension]), [[two!.id, "renamed.bed", "interval"]]);
    const del = await api(alice, `/api/datasets/${one!.id}`, { method: "DELETE" });
    assert.deepEqual(del.body, { id: one!.id, deleted: true, purged: false });
    assert.deepEqual((await api<Obj[]>(alice, `/api/histories/${h.id}/contents?deleted=true`)).body.map((d) => d.id), [one!.id]);
    assert.deepEqual((await api<Obj[]>(alice, `/api/histories/${h.id}/contents?deleted=false&visible=true`)).body.map((d) => d.id), [three!.id]);

    const item = (await api(alice, `/api/histories/${h.id}/contents/${three!.id}`)).body;
    assert.deepEqual(sorted(item), [...HDA_DETAILED].sort());
    const ds = (await api(alice, `/api/datasets/${three!.id}`)).body;
    assert.deepEqual(sorted(ds), [...HDA_DETAILED].sort());
    assert.equal(ds.file_size, 8);
    assert.equal(ds.file_ext, "tabular");
    assert.equal(ds.state, "ok");
    const dsSummary = (await api(alice, `/api/datasets/${three!.id}?view=summary`)).body;
    assert.deepEqual(sorted(dsSummary), [...HDA_SUMMARY].sort());

    const hist = (await api(alice, `/api/histories/${h.id}`)).body as Obj & { state_details: Record<string, number>; state_ids: Record<string, string[]> };
    assert.equal(hist.count, 3);
    assert.equal(hist.hid_counter, 4);
    assert.equal(hist.state, "ok");
    assert.equal(hist.state_details.ok, 2);
    assert.deepEqual(hist.state_ids.ok, [two!.id, three!.id]);
  });

  test("another user's history or dataset is 404, never 403 or the data", async () => {
    const h = await newHistory(alice, "private");
    const [d] = await upload(alice, h.id, [["secret.txt", "s3cret\n"]]);
    for (const [method, path] of [
      ["GET", `/api/histories/${h.id}`], ["PUT", `/api/histories/${h.id}`], ["DELETE", `/api/histories/${h.id}`], ["GET", `/api/histories/${h.id}/contents`],
      ["GET", `/api/histories/${h.id}/contents/${d!.id}`], ["GET", `/api/datasets/${d!.id}`], ["PUT", `/api/datasets/${d!.id}`], ["DELETE", `/api/datasets/${d!.id}`],
      ["GET", `/api/datasets/${d!.id}/display`],
    ] as const) {
      const r = await api(bob, path, { method, ...(method === "PUT" ? { body: { name: "mine now" } } : {}) });
      assert.equal(r.status, 404, `${method} ${path}`);
      assert.equal(r.body.err_code, 404001, `${method} ${path}`);
    }
    const up = await uploadMultipart(sys.url, bob.apiKey, h.id, [{ name: "x", content: Buffer.from("x") }]);
    assert.equal(up.status, 404);
    assert.equal((await api<Obj[]>(bob, "/api/histories")).body.some((x) => x.id === h.id), false);
    const after = (await api(alice, `/api/datasets/${d!.id}`)).body;
    assert.equal(after.name, "secret.txt");
    assert.equal(after.deleted, false);
    const other = await newHistory(alice, "other");
    assert.equal((await api(alice, `/api/histories/${other.id}/contents/${d!.id}`)).status, 404, "an item of another history");
  });

  test("malformed ids are 400009; unknown fields, keys, filters and orders are 400 naming them; no auth is 401", async () => {
    for (const path of ["/api/histories/nothex", "/api/histories/nothex/contents", "/api/datasets/123", "/api/datasets/ZZZZZZZZZZZZZZZZ/display"]) {
      const r = await api(alice, path);
      assert.equal(r.status, 400, path);
      assert.equal(r.body.err_code, 400009, path);
    }
    const h = await newHistory(alice, "bad input");
    const cases: Array<[string, { method?: string; body?: unknown }, string]> = [
      [`/api/histories/${h.id}?keys=id,bogus`, {}, "keys"],
      ["/api/histories?q=owner-eq&qv=x", {}, "q"],
      ["/api/histories?q=name&q=deleted&qv=x", {}, "qv"],
      ["/api/histories?order=size-asc", {}, "order"],
      ["/api/histories?limit=0", {}, "limit"],
      [`/api/histories/${h.id}/contents?deleted=perhaps`, {}, "deleted"],
      [`/api/histories/${h.id}/contents?ids=abc`, {}, "ids"],
      [`/api/histories/${h.id}`, { method: "PUT", body: { name: "x", owner: "bob" } }, "owner"],
      [`/api/histories/${h.id}`, { method: "PUT", body: { name: "" } }, "name"],
      ["/api/histories", { method: "POST", body: { name: "x".repeat(300) } }, "name"],
    ];
    // Unknown query parameters are ignored, as Galaxy does (issue 20); known ones stay checked above.
    assert.equal((await api(alice, "/api/histories?frobnicate=1")).status, 200);
    for (const [path, init, field] of cases) {
      const r = await api(alice, path, init);
      assert.equal(r.status, 400, `${path} ${JSON.stringify(r.body)}`);
      assert.ok([400007, 400008, 400009].includes(Number(r.body.err_code)), path);
      assert.equal(r.body.field, field, `${path}: ${JSON.stringify(r.body)}`);
    }
    const [d] = await upload(alice, h.id, [["a.txt", "a\n"]]);
    const badType = await api(alice, `/api/datasets/${d!.id}`, { method: "PUT", body: { datatype: "../../etc" } });
    assert.equal(badType.status, 400);
    assert.equal(badType.body.field, "datatype");
    const badExt = await api(alice, `/api/datasets/${d!.id}/display?to_ext=a/b`);
    assert.equal(badExt.status, 400);
    const badUrl = await api(alice, `/api/histories/${h.id}/contents`, { method: "POST", body: { src: "url", url: "http://x", surprise: 1 } });
    assert.equal(badUrl.status, 400);
    assert.equal(badUrl.body.field, "surprise");
    const noFiles = await uploadMultipart(sys.url, alice.apiKey, h.id, [], { fields: [["file_type", "txt"]] });
    assert.equal(noFiles.status, 400);
    assert.equal(noFiles.body.field, "files");
    const unknownField = await uploadMultipart(sys.url, alice.apiKey, h.id, [{ name: "a", content: Buffer.from("a") }], { fields: [["dbkey_x", "hg19"]] });
    assert.equal(unknownField.status, 400);
    assert.equal(unknownField.body.field, "dbkey_x");
    const anon = await fetch(`${sys.url}/api/histories`);
    assert.equal(anon.status, 401);
    assert.equal(((await anon.json()) as Obj).err_code, 401001);
  });

  test("an upload over HISTORY_MAX_UPLOAD_BYTES answers 413 and leaves an error dataset without bytes", async () => {
    const h = await newHistory(alice, "too big");
    // Several at once: the 413 is given while the body is still arriving, and must reach every
    // client (not a reset, not the gateway's 503) — see packages/service-kit/src/early-reply.ts.
    const n = 8;
    const rs = await Promise.all(Array.from({ length: n }, () => uploadMultipart(sys.url, alice.apiKey, h.id, [{ name: "big.bin", content: new Pattern(3 * 1024 * 1024) }])));
    for (const r of rs) {
      assert.equal(r.status, 413, JSON.stringify(r.body));
      assert.equal(r.body.err_code, 413001);
    }
    const contents = (await api<Obj[]>(alice, `/api/histories/${h.id}/contents?details=all`)).body;
    assert.equal(contents.length, n);
    for (const item of contents) {
      assert.equal(item.state, "error");
      assert.match(String(item.misc_info), /size limit/);
      assert.equal((await api(alice, `/api/datasets/${String(item.id)}/display`)).status, 409);
    }
  });

  test("URL uploads of loopback addresses are refused unless HISTORY_ALLOW_PRIVATE_URLS is set", async () => {
    const h = await newHistory(alice, "ssrf");
    for (const url of ["http://127.0.0.1:9/x", "http://169.254.169.254/latest/meta-data/", "file:///etc/passwd"]) {
      const r = await api(alice, `/api/histories/${h.id}/contents`, { method: "POST", body: { src: "url", url } });
      assert.equal(r.status, 400, `${url}: ${JSON.stringify(r.body)}`);
    }
    assert.deepEqual((await api<Obj[]>(alice, `/api/histories/${h.id}/contents`)).body, [], "no dataset for a refused URL");
  });

  test("purging a history purges its datasets: display answers 409, the bytes are gone", async () => {
    const h = await newHistory(alice, "to purge");
    const [d] = await upload(alice, h.id, [["a.txt", "hello\n"]]);
    const before = await fetch(`${sys.url}/api/datasets/${d!.id}/display?key=${alice.apiKey}`);
    assert.equal(before.status, 200, await before.clone().text());
    assert.equal(await before.text(), "hello\n");
    const purged = await api(alice, `/api/histories/${h.id}?purge=true`, { method: "DELETE" });
    assert.equal(purged.status, 200);
    assert.equal(purged.body.deleted, true);
    assert.equal(purged.body.purged, true);
    const ds = (await api(alice, `/api/datasets/${d!.id}`)).body;
    assert.equal(ds.purged, true);
    assert.equal((await api(alice, `/api/datasets/${d!.id}/display`)).status, 409);
    const late = await uploadMultipart(sys.url, alice.apiKey, h.id, [{ name: "late.txt", content: Buffer.from("late") }]);
    assert.equal(late.status, 400);
    assert.equal(late.body.code, "HIST_HISTORY_PURGED");
  });

  /** Every page of a send's datasets, and the series' size in bytes as JSON. */
  const datasetsForSend = async (req: { actor: { user_id: string }; history_id: string; dataset_ids?: string[] }) => {
    // The send planner's request: transfer's identity is the one NATS lets ask for a send's datasets.
    const bus = sys.services.transfer!.deps.bus;
    const pages = [];
    for await (const page of bus.requestMany(HistoryDatasetsForSend, req)) pages.push(page);
    return {
      pages,
      history: pages[0]?.history,
      datasets: pages.flatMap((p) => p.datasets).sort((a, b) => a.hid - b.hid),
      missing: pages.flatMap((p) => p.missing),
      bytes: pages.reduce((n, p) => n + JSON.stringify(p).length, 0),
    };
  };

  test("HistoryDatasetsForSend: ok datasets, missing ids listed, another user's history 404", async () => {
    const h = await newHistory(alice, "for send");
    const ds = await upload(alice, h.id, [["1.bed", "chr1\t1\t2\n"], ["2.txt", "two\n"], ["3.txt", "three\n"]]);
    await api(alice, `/api/datasets/${ds[1]!.id}`, { method: "DELETE" });
    const all = await datasetsForSend({ actor: await signedActor(alice.userId, sys.namespace), history_id: h.id });
    assert.deepEqual(all.history, { id: h.id, name: "for send" });
    assert.deepEqual(all.datasets.map((d) => d.hid), [1, 3]);
    assert.deepEqual(all.missing, []);
    const first = all.datasets[0]!;
    assert.equal(first.store_key, `${first.id.slice(0, 2)}/${first.id.slice(2, 4)}/${first.id}`);
    assert.equal(first.file_size, 9);
    assert.match(first.hashes.sha256, /^[0-9a-f]{64}$/);
    // By HDA id or by dataset id; the same item named both ways is listed once.
    const picked = await datasetsForSend({
      actor: await signedActor(alice.userId, sys.namespace), history_id: h.id, dataset_ids: [ds[2]!.id, "0123456789abcdef", ds[0]!.id, String(ds[0]!.dataset_id), "junk"],
    });
    assert.deepEqual(picked.datasets.map((d) => d.hid), [1, 3]);
    assert.deepEqual(picked.missing, ["0123456789abcdef", "junk"]);
    await assert.rejects(datasetsForSend({ actor: await signedActor(bob.userId, sys.namespace), history_id: h.id }), (err: { status?: number }) => err.status === 404);
  });

  test("HistoryDatasetsForSend: a history larger than one NATS message comes whole, in pages, each dataset once", async () => {
    const h = await newHistory(alice, "large");
    const datasets = sys.services.history!.deps.mongo!.db.collection<{ _id: string } & Record<string, unknown>>("datasets");
    const [seed] = await upload(alice, h.id, [["seed.bed", "chr1\t1\t2\n"]]);
    const template = (await datasets.findOne({ _id: seed!.id }))!;
    const count = 4000; // and the uploaded one: hid 1
    const now = new Date();
    for (let at = 0; at < count; at += 500) {
      await datasets.insertMany(Array.from({ length: 500 }, (_, i) => {
        const hid = at + i + 2;
        const id = (0x1000_0000 + hid).toString(16).padStart(16, "a");
        return { ...template, _id: id, dataset_id: id.replace(/^a/, "b"), history_id: h.id, hid, name: `file-${hid}.bed`, store_key: `x/${id}`, create_time: now, update_time: now };
      }));
    }
    const all = await datasetsForSend({ actor: await signedActor(alice.userId, sys.namespace), history_id: h.id });
    const maxPayload = sys.services.gateway!.deps.bus.connection.info?.max_payload ?? 1024 * 1024;
    assert.ok(all.bytes > maxPayload, `${all.bytes} bytes fit one message of ${maxPayload}: the test proves nothing`);
    assert.ok(all.pages.length > 1);
    assert.deepEqual(all.datasets.map((d) => d.hid), Array.from({ length: count + 1 }, (_, i) => i + 1));
    for (const p of all.pages) assert.deepEqual(p.datasets.map((d) => d.hid), [...p.datasets.map((d) => d.hid)].sort((a, b) => a - b));
  });
});
