import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { type MockOidc, oidcEnv, type SignedIn, signIn, startOidcProvider } from "../support/auth.ts";
import { api } from "../support/send.ts";
import { startSystem, type System } from "../support/system.ts";

// Galaxy's HTTP API as its clients use it, on the real services: query strings tolerated, bodies
// strict, trailing slashes, version and configuration, /api/datasets, the history-scoped display,
// purge in the DELETE body, and the tus / fetch / upload1 uploads' refusals (ownership, size, expiry,
// malformed input): always a 4xx in Galaxy's error body, never a 500.

type Obj = Record<string, unknown>;
type Err = { err_msg: string; err_code: number };
const TUS_MAX = 64 * 1024;
const TUS = "/api/upload/resumable_upload/";

describe("Galaxy's API for its clients: tolerant queries, strict bodies, uploads and their refusals", () => {
  let oidc: MockOidc;
  let sys: System;
  let alice: SignedIn;
  let bob: SignedIn;
  let tusDir: string;
  const as = <T = Obj>(u: SignedIn, path: string, init: { method?: string; body?: unknown } = {}) => api<T>(sys.url, path, { key: u.apiKey, ...init });
  const tus = (u: SignedIn, path: string, method: string, headers: Record<string, string> = {}, body?: Buffer) =>
    fetch(`${sys.url}${path}`, { method, headers: { "x-api-key": u.apiKey, "tus-resumable": "1.0.0", ...headers }, ...(body ? { body } : {}) });
  const newSession = async (u: SignedIn, size: number) => {
    const r = await tus(u, TUS, "POST", { "upload-length": String(size) });
    assert.equal(r.status, 201, await r.text());
    return r.headers.get("location")!;
  };
  const paste = async (u: SignedIn, historyId: string, content: string, extra: Obj = {}) => {
    const r = await as<{ outputs: Array<Obj & { id: string }>; jobs: Array<Obj & { id: string }> }>(u, "/api/tools/fetch", {
      method: "POST",
      body: { history_id: historyId, targets: [{ destination: { type: "hdas" }, elements: [{ src: "pasted", paste_content: content, ...extra }] }] },
    });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return r.body;
  };

  before(async () => {
    oidc = await startOidcProvider();
    tusDir = mkdtempSync(join(tmpdir(), "skyferry-tus-"));
    sys = await startSystem({
      label: "galaxy-api",
      env: { authz: oidcEnv(oidc), gateway: { SKYFERRY_TUS_DIR: tusDir, SKYFERRY_TUS_MAX_BYTES: String(TUS_MAX), SKYFERRY_TUS_EXPIRY_SECONDS: "1" } },
    });
    [alice, bob] = await Promise.all([signIn(sys), signIn(sys)]);
  });
  after(async () => {
    await sys?.close();
    await oidc?.close();
    rmSync(tusDir, { recursive: true, force: true });
  });

  test("unknown query parameters are ignored; known ones are still checked; bodies stay strict", async () => {
    const h = await as<{ id: string }>(alice, "/api/histories", { method: "POST", body: { name: "q" } });
    const shown = await as<Obj>(alice, `/api/histories/${h.body.id}?hda_ldda=hda&whatever=1&keys=id,name`);
    assert.deepEqual([shown.status, Object.keys(shown.body).sort()], [200, ["id", "name"]]);
    const badView = await as<Err>(alice, `/api/histories/${h.body.id}?view=nonsense`);
    assert.deepEqual([badView.status, badView.body.err_code], [400, 400008]);
    const jobs = await as<unknown[]>(alice, "/api/jobs?order_by=update_time&limit=5&offset=0&state=ok&view=collection");
    assert.deepEqual([jobs.status, jobs.body], [200, []]);
    const badOrder = await as<Err>(alice, "/api/jobs?order_by=nonsense");
    assert.equal(badOrder.status, 400);
    const extra = await as<Err>(alice, "/api/histories", { method: "POST", body: { name: "x", surprise: 1 } });
    assert.deepEqual([extra.status, extra.body.err_code], [400, 400008]);
  });

  test("trailing-slash forms of collection routes answer like the bare path", async () => {
    for (const path of ["/api/cloud/authz/", "/api/histories/", "/api/jobs/", "/api/datasets/"]) {
      const r = await as<unknown[]>(alice, path);
      assert.equal(r.status, 200, `${path}: ${JSON.stringify(r.body)}`);
      assert.ok(Array.isArray(r.body), path);
    }
  });

  test("version and configuration: public, Galaxy-shaped, the configured release", async () => {
    const v = await api<Obj>(sys.url, "/api/version");
    assert.deepEqual(v.body, { version_major: "23.1", version_minor: "0", extra: {} });
    const c = await api<Obj>(sys.url, "/api/configuration");
    assert.equal(c.body.version_major, "23.1");
    assert.equal(c.body.tus_upload_url, TUS);
  });

  test("GET /api/datasets: the caller's datasets, filtered by history, ordered and paged; another user's history is not shown", async () => {
    const h1 = (await as<{ id: string }>(alice, "/api/histories", { method: "POST", body: { name: "d1" } })).body.id;
    const h2 = (await as<{ id: string }>(alice, "/api/histories", { method: "POST", body: { name: "d2" } })).body.id;
    const a = (await paste(alice, h1, "a\n", { name: "a" })).outputs[0]!;
    const b = (await paste(alice, h1, "b\n", { name: "b" })).outputs[0]!;
    const c = (await paste(alice, h2, "c\n", { name: "c" })).outputs[0]!;
    const asc = await as<Array<{ id: string }>>(alice, `/api/datasets?history_id=${h1}&order=hid-asc&q=name&qv=a`);
    assert.deepEqual(asc.body.map((d) => d.id), [a.id, b.id]);
    const page = await as<Array<{ id: string }>>(alice, `/api/datasets?history_id=${h1}&order=hid-dsc&limit=1&offset=0`);
    assert.deepEqual(page.body.map((d) => d.id), [b.id]);
    const keyed = await as<Obj[]>(alice, `/api/datasets?history_id=${h1}&order=hid-asc&keys=id,name`);
    assert.deepEqual(keyed.body, [{ id: a.id, name: "a" }, { id: b.id, name: "b" }]);
    const all = await as<Array<{ id: string }>>(alice, "/api/datasets?limit=500");
    for (const id of [a.id, b.id, c.id]) assert.ok(all.body.some((d) => d.id === id), id);
    const theirs = await as<Err>(bob, `/api/datasets?history_id=${h1}`);
    assert.deepEqual([theirs.status, theirs.body.err_code], [404, 404001]);
    const malformed = await as<Err>(alice, "/api/datasets?history_id=zz");
    assert.deepEqual([malformed.status, malformed.body.err_code], [400, 400009]);
    const badOrder = await as<Err>(alice, "/api/datasets?order=drop-table");
    assert.equal(badOrder.status, 400);
  });

  test("download_url is Galaxy's history-scoped display; it serves the bytes, and only for that history and user", async () => {
    const h = (await as<{ id: string }>(alice, "/api/histories", { method: "POST", body: { name: "dl" } })).body.id;
    const other = (await as<{ id: string }>(alice, "/api/histories", { method: "POST", body: { name: "other" } })).body.id;
    const d = (await paste(alice, h, "x\ty\n")).outputs[0]!;
    const shown = await as<{ download_url: string }>(alice, `/api/datasets/${d.id}?hda_ldda=hda`);
    assert.equal(shown.body.download_url, `/api/histories/${h}/contents/${d.id}/display`);
    const got = await fetch(`${sys.url}${shown.body.download_url}?to_ext=tabular`, { headers: { "x-api-key": alice.apiKey } });
    assert.equal(got.status, 200);
    assert.equal(await got.text(), "x\ty\n");
    const wrongHistory = await fetch(`${sys.url}/api/histories/${other}/contents/${d.id}/display`, { headers: { "x-api-key": alice.apiKey } });
    assert.equal(wrongHistory.status, 404);
    const notYours = await fetch(`${sys.url}${shown.body.download_url}`, { headers: { "x-api-key": bob.apiKey } });
    assert.equal(notYours.status, 404);
    const badExt = await fetch(`${sys.url}${shown.body.download_url}?to_ext=a/b`, { headers: { "x-api-key": alice.apiKey } });
    assert.equal(badExt.status, 400);
  });

  test("DELETE a history with {\"purge\": true} in the body, or purge=true in the query, purges it; a bad body is a 400", async () => {
    for (const how of ["body", "query"] as const) {
      const h = (await as<{ id: string }>(alice, "/api/histories", { method: "POST", body: { name: `purge ${how}` } })).body.id;
      const d = (await paste(alice, h, "gone\n")).outputs[0]!;
      const r = how === "body"
        ? await as<Obj>(alice, `/api/histories/${h}`, { method: "DELETE", body: { purge: true } })
        : await as<Obj>(alice, `/api/histories/${h}?purge=true`, { method: "DELETE" });
      assert.deepEqual([r.status, r.body.deleted, r.body.purged], [200, true, true], JSON.stringify(r.body));
      const shown = await as<Obj>(alice, `/api/datasets/${d.id}`);
      assert.equal(shown.body.purged, true, "its datasets are purged");
    }
    const h = (await as<{ id: string }>(alice, "/api/histories", { method: "POST", body: { name: "bad purge" } })).body.id;
    for (const body of [{ purge: "yes" }, { purge: true, other: 1 }, [1]]) {
      const r = await as<Err>(alice, `/api/histories/${h}`, { method: "DELETE", body });
      assert.deepEqual([r.status, r.body.err_code], [400, 400008], JSON.stringify(body));
    }
    assert.equal((await as<Obj>(alice, `/api/histories/${h}`)).body.deleted, false, "nothing done");
  });

  test("tus: a session is its owner's alone; over the size limit is 413; an abandoned session expires", async () => {
    const h = (await as<{ id: string }>(alice, "/api/histories", { method: "POST", body: { name: "tus" } })).body.id;
    const big = await tus(alice, TUS, "POST", { "upload-length": String(TUS_MAX + 1) });
    assert.equal(big.status, 413);
    const noKey = await fetch(`${sys.url}${TUS}`, { method: "POST", headers: { "tus-resumable": "1.0.0", "upload-length": "4" } });
    assert.equal(noKey.status, 401);
    const location = await newSession(alice, 8);
    const id = location.split("/").pop()!;
    // Another user can neither see, write nor use it.
    assert.equal((await tus(bob, location, "HEAD")).status, 404);
    const bobPatch = await tus(bob, location, "PATCH", { "upload-offset": "0", "content-type": "application/offset+octet-stream" }, Buffer.from("evil"));
    assert.equal(bobPatch.status, 404);
    const unfinishedFetch = await as<Err>(alice, "/api/tools/fetch", {
      method: "POST",
      body: { history_id: h, targets: [{ destination: { type: "hdas" }, elements: [{ src: "files" }] }], "files_0|file_data": { session_id: id } },
    });
    assert.deepEqual([unfinishedFetch.status, unfinishedFetch.body.err_code], [400, 400008], "unfinished");
    const part = await tus(alice, location, "PATCH", { "upload-offset": "0", "content-type": "application/offset+octet-stream" }, Buffer.from("1234"));
    assert.equal(part.status, 204);
    const head = await tus(alice, location, "HEAD");
    assert.equal(head.headers.get("upload-offset"), "4", "resumable from its offset");
    await tus(alice, location, "PATCH", { "upload-offset": "4", "content-type": "application/offset+octet-stream" }, Buffer.from("5678"));
    const bobFetch = await as<Err>(bob, "/api/tools/fetch", {
      method: "POST",
      body: { history_id: h, targets: [{ destination: { type: "hdas" }, elements: [{ src: "files" }] }], "files_0|file_data": { session_id: id } },
    });
    assert.equal(bobFetch.status, 403, "another user's session");
    // Abandoned (expiry 1 s here): gone.
    const stale = await newSession(alice, 8);
    await tus(alice, stale, "PATCH", { "upload-offset": "0", "content-type": "application/offset+octet-stream" }, Buffer.from("12"));
    await new Promise((r) => setTimeout(r, 2500));
    assert.equal((await tus(alice, stale, "HEAD")).status, 410);
  });

  test("fetch and upload1 refuse malformed requests with Galaxy's 4xx, never a 500", async () => {
    const h = (await as<{ id: string }>(alice, "/api/histories", { method: "POST", body: { name: "bad" } })).body.id;
    const el = (e: Obj) => ({ history_id: h, targets: [{ destination: { type: "hdas" }, elements: [e] }] });
    const cases: Array<[string, string, unknown, number]> = [
      ["fetch: unknown src", "/api/tools/fetch", el({ src: "ftp_import" }), 400],
      ["fetch: collections", "/api/tools/fetch", { history_id: h, targets: [{ destination: { type: "hdca" }, elements: [{ src: "pasted", paste_content: "x" }] }] }, 400],
      ["fetch: no targets", "/api/tools/fetch", { history_id: h }, 400],
      ["fetch: malformed history", "/api/tools/fetch", { ...el({ src: "pasted", paste_content: "x" }), history_id: "zz" }, 400],
      ["fetch: someone else's history", "/api/tools/fetch", { ...el({ src: "pasted", paste_content: "x" }), history_id: "0123456789abcdef" }, 404],
      ["fetch: files without a file", "/api/tools/fetch", el({ src: "files" }), 400],
      ["fetch: malformed session", "/api/tools/fetch", { ...el({ src: "files" }), "files_0|file_data": { session_id: "../../etc/passwd" } }, 400],
      ["fetch: unknown session", "/api/tools/fetch", { ...el({ src: "files" }), "files_0|file_data": { session_id: `${alice.userId}-${"0".repeat(32)}` } }, 404],
      ["fetch: a bad datatype", "/api/tools/fetch", el({ src: "pasted", paste_content: "x", ext: "../x" }), 400],
      ["fetch: a private URL", "/api/tools/fetch", el({ src: "url", url: "http://127.0.0.1:9/x" }), 400],
      ["tools: another tool", "/api/tools", { history_id: h, tool_id: "cat1", inputs: {} }, 404],
      ["tools: nothing to upload", "/api/tools", { history_id: h, tool_id: "upload1", inputs: { file_type: "auto" } }, 400],
      ["tools: unknown input", "/api/tools", { history_id: h, tool_id: "upload1", inputs: { "files_0|evil": 1 } }, 400],
    ];
    for (const [what, path, body, status] of cases) {
      const r = await as<Err>(alice, path, { method: "POST", body });
      assert.equal(r.status, status, `${what}: ${JSON.stringify(r.body)}`);
      assert.equal(typeof r.body.err_msg, "string", what);
      assert.equal(typeof r.body.err_code, "number", what);
    }
    const notJson = await fetch(`${sys.url}/api/tools/fetch`, { method: "POST", headers: { "x-api-key": alice.apiKey, "content-type": "application/json" }, body: "{" });
    assert.equal(notJson.status, 400);
  });

  test("fetch with multipart files_N|file_data: the parts stream into datasets in order; fields after a file are refused", async () => {
    const h = (await as<{ id: string }>(alice, "/api/histories", { method: "POST", body: { name: "multipart fetch" } })).body.id;
    const one = Buffer.from([0, 1, 2, 3, 255, 13, 10]);
    const form = new FormData();
    form.set("history_id", h);
    form.set("targets", JSON.stringify([{ destination: { type: "hdas" }, elements: [
      { src: "files", name: "one.bin", ext: "data" },
      { src: "pasted", paste_content: "p\n", name: "between" },
      { src: "files", name: "two.txt", to_posix_lines: true },
    ] }]));
    form.set("files_0|file_data", new Blob([one]), "x.bin");
    form.set("files_1|file_data", new Blob(["a\r\nb\r\n"]), "y.txt");
    const r = await fetch(`${sys.url}/api/tools/fetch`, { method: "POST", headers: { "x-api-key": alice.apiKey }, body: form });
    const body = (await r.json()) as { outputs: Array<{ id: string; name: string; state: string }> };
    assert.equal(r.status, 200, JSON.stringify(body));
    assert.deepEqual(body.outputs.map((o) => [o.name, o.state]), [["one.bin", "ok"], ["between", "ok"], ["two.txt", "ok"]]);
    const read = async (id: string) => Buffer.from(await (await fetch(`${sys.url}/api/datasets/${id}/display`, { headers: { "x-api-key": alice.apiKey } })).arrayBuffer());
    assert.deepEqual(await read(body.outputs[0]!.id), one, "binary unchanged");
    assert.equal((await read(body.outputs[2]!.id)).toString(), "a\nb\n");
    const late = new FormData();
    late.set("history_id", h);
    late.set("files_0|file_data", new Blob(["z"]), "z.txt");
    late.set("targets", JSON.stringify([{ destination: { type: "hdas" }, elements: [{ src: "files" }] }]));
    const refused = await fetch(`${sys.url}/api/tools/fetch`, { method: "POST", headers: { "x-api-key": alice.apiKey }, body: late });
    assert.equal(refused.status, 400, await refused.text());
    const ldda = await as<Err>(alice, `/api/datasets/${body.outputs[0]!.id}?hda_ldda=ldda`);
    assert.equal(ldda.status, 400, "library datasets do not live here");
  });

  test("an upload's job: GET /api/jobs/{id} shows it ok with its output", async () => {
    const h = (await as<{ id: string }>(alice, "/api/histories", { method: "POST", body: { name: "job" } })).body.id;
    const answer = await paste(alice, h, "j\n", { dbkey: "mm10", ext: "txt" });
    assert.deepEqual(answer.outputs.map((o) => [o.genome_build, o.extension, o.state]), [["mm10", "txt", "ok"]]);
    const job = await as<Obj & { outputs: { output0: { id: string } } }>(alice, `/api/jobs/${answer.jobs[0]!.id}?full=true`);
    assert.deepEqual([job.status, job.body.state, job.body.outputs.output0.id], [200, "ok", answer.outputs[0]!.id]);
    const theirs = await as<Err>(bob, `/api/jobs/${answer.jobs[0]!.id}`);
    assert.equal(theirs.status, 404);
  });
});
