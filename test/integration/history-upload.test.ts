import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { type MockOidc, oidcEnv, type SignedIn, signIn, startOidcProvider } from "../support/auth.ts";
import { call, hashResponse, md5, Pattern, sha256, uploadMultipart } from "../support/history.ts";
import { startSystem, type System } from "../support/system.ts";

// Uploads through the real gateway (streamed proxy) into the history service and its file
// dataset store, read back through /display, compared with hashes computed here.

type Obj = Record<string, unknown>;
type Hash = { hash_function: string; hash_value: string };

/** Every regular file under `dir` (relative paths). */
function filesUnder(dir: string, prefix = ""): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? filesUnder(join(dir, e.name), `${prefix}${e.name}/`) : [`${prefix}${e.name}`],
  );
}

describe("history uploads: streamed in, read back byte-identical, hashes verified", () => {
  let oidc: MockOidc;
  let sys: System;
  let user: SignedIn;
  let source: Server;
  let sourceUrl = "";
  const served = new Pattern(2 * 1024 * 1024 + 17);
  const api = <T = Obj>(path: string, init?: { method?: string; body?: unknown }) => call<T>(sys.url, user.apiKey, path, init);
  const newHistory = async (name: string) => (await api<Obj & { id: string }>("/api/histories", { method: "POST", body: { name } })).body;
  const display = (id: string, headers: Record<string, string> = {}, query = "") =>
    fetch(`${sys.url}/api/datasets/${id}/display${query}`, { headers: { "x-api-key": user.apiKey, ...headers } });

  before(async () => {
    oidc = await startOidcProvider();
    sys = await startSystem({ label: "history-upload", env: { authz: oidcEnv(oidc), history: { HISTORY_ALLOW_PRIVATE_URLS: "true" } } });
    user = await signIn(sys);
    source = createServer((req, res) => {
      if (req.url === "/redirect") return void res.writeHead(302, { location: "/files/peaks.bed" }).end();
      res.writeHead(200, { "content-type": "application/octet-stream", "content-length": String(served.size) });
      void (async () => {
        for await (const c of served.chunks()) if (!res.write(c)) await new Promise((r) => res.once("drain", r));
        res.end();
      })();
    });
    await new Promise<void>((r) => source.listen(0, "127.0.0.1", r));
    sourceUrl = `http://127.0.0.1:${(source.address() as AddressInfo).port}`;
  });
  after(async () => {
    await new Promise((r) => source?.close(r));
    await sys?.close();
    await oidc?.close();
  });

  for (const size of [0, 1, 10 * 1024 * 1024]) {
    test(`${size} bytes: ok with the right size and hashes; display returns the same bytes, with and without Range`, async () => {
      const h = await newHistory(`size ${size}`);
      const content = new Pattern(size);
      const expected = await content.digests();
      const up = await uploadMultipart(sys.url, user.apiKey, h.id, [{ name: `data-${size}.bin`, content }], { fields: [["file_type", "data"]] });
      assert.equal(up.status, 200, JSON.stringify(up.body));
      const d = up.body.outputs![0]! as Obj & { id: string; hashes: Hash[] };
      assert.equal(d.state, "ok");
      assert.equal(d.file_size, size);
      assert.equal(d.hid, 1);
      assert.deepEqual(
        d.hashes.map((x) => [x.hash_function, x.hash_value]).sort(),
        [["MD5", expected.md5], ["SHA-256", expected.sha256]],
      );
      const full = await display(d.id);
      assert.equal(full.status, 200);
      assert.equal(full.headers.get("content-length"), String(size));
      assert.equal(full.headers.get("accept-ranges"), "bytes");
      assert.deepEqual(await hashResponse(full), { size, ...expected });
      if (size === 0) {
        const r = await display(d.id, { range: "bytes=0-0" });
        assert.equal(r.status, 416);
        assert.equal(r.headers.get("content-range"), "bytes */0");
        await r.arrayBuffer();
        return;
      }
      const ranges: Array<[string, number, number]> =
        size === 1 ? [["bytes=0-0", 0, 0], ["bytes=-5", 0, 0], ["bytes=0-", 0, 0]] : [["bytes=1000-2000999", 1000, 2000999], ["bytes=-100", size - 100, size - 1], [`bytes=${size - 10}-`, size - 10, size - 1], ["bytes=5-5", 5, 5]];
      for (const [header, start, end] of ranges) {
        const r = await display(d.id, { range: header });
        assert.equal(r.status, 206, header);
        assert.equal(r.headers.get("content-range"), `bytes ${start}-${end}/${size}`, header);
        const got = Buffer.from(await r.arrayBuffer());
        assert.equal(got.length, end - start + 1, header);
        assert.ok(got.equals(content.slice(start, end)), `${header}: bytes equal`);
      }
      const beyond = await display(d.id, { range: `bytes=${size}-` });
      assert.equal(beyond.status, 416);
      await beyond.arrayBuffer();
    });
  }

  test("several files in one request: each streamed to its own dataset; datatype sniffed or forced; type and disposition on display", async () => {
    const h = await newHistory("many");
    const bed = Buffer.from("chr1\t100\t200\tpeak1\nchr2\t5\t50\tpeak2\n");
    const fastq = Buffer.from("@r1\nACGT\n+\nIIII\n");
    const up = await uploadMultipart(sys.url, user.apiKey, h.id, [
      { name: "peaks.bed", content: bed },
      { name: "r\u00e9ads (1);.fastq", content: fastq },
    ]);
    assert.equal(up.status, 200, JSON.stringify(up.body));
    const [a, b] = up.body.outputs! as Array<Obj & { id: string }>;
    assert.deepEqual([a!.hid, b!.hid], [1, 2]);
    assert.equal(a!.extension, "bed");
    assert.equal(b!.name, "r\u00e9ads (1);.fastq");
    assert.match(String(b!.extension), /^fastq/);
    assert.equal(a!.peek, "chr1\t100\t200\tpeak1\nchr2\t5\t50\tpeak2\n");
    const r = await display(a!.id);
    assert.equal(r.headers.get("content-type"), "text/plain; charset=utf-8");
    assert.equal(r.headers.get("x-content-type-options"), "nosniff");
    assert.match(String(r.headers.get("content-disposition")), /^inline; filename="peaks.bed"/);
    assert.ok(Buffer.from(await r.arrayBuffer()).equals(bed));
    const dl = await display(b!.id, {}, "?to_ext=fastq");
    const disposition = String(dl.headers.get("content-disposition"));
    assert.match(disposition, /^attachment; filename="r_ads _1__.fastq"; filename\*=UTF-8''r%C3%A9ads%20%281%29%3B.fastq$/);
    assert.equal(sha256(Buffer.from(await dl.arrayBuffer())), sha256(fastq));
    const forced = await uploadMultipart(sys.url, user.apiKey, h.id, [{ name: "x.bed", content: bed }], { fields: [["file_type", "tabular"], ["name", "renamed"]] });
    assert.equal((forced.body.outputs![0] as Obj).extension, "tabular");
    assert.equal((forced.body.outputs![0] as Obj).name, "renamed");
    assert.equal((forced.body.outputs![0] as Obj).hid, 3);
  });

  test("concurrent uploads into one history get distinct, consecutive hids", async () => {
    const h = await newHistory("concurrent");
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) => uploadMultipart(sys.url, user.apiKey, h.id, [{ name: `f${i}.txt`, content: Buffer.from(`file ${i}\n`) }])),
    );
    for (const r of results) assert.equal(r.status, 200, JSON.stringify(r.body));
    const hids = results.map((r) => (r.body.outputs![0] as Obj).hid as number).sort((x, y) => x - y);
    assert.deepEqual(hids, Array.from({ length: 12 }, (_, i) => i + 1));
  });

  test("an interrupted upload leaves no ok dataset and no bytes in the dataset store", async () => {
    const h = await newHistory("interrupted");
    const r = await uploadMultipart(sys.url, user.apiKey, h.id, [{ name: "half.bin", content: new Pattern(10 * 1024 * 1024) }], { abortAfterBytes: 4 * 1024 * 1024 });
    assert.equal(r.status, 0);
    let items: Obj[] = [];
    for (let i = 0; i < 100; i++) {
      items = (await api<Obj[]>(`/api/histories/${h.id}/contents?details=all`)).body;
      if (items.length > 0 && items.every((d) => d.state === "error")) break;
      await new Promise((res) => setTimeout(res, 100));
    }
    assert.equal(items.length, 1, "the dataset record exists");
    assert.equal(items[0]!.state, "error");
    assert.match(String(items[0]!.misc_info), /interrupted/);
    const files = filesUnder(sys.datasetDir);
    assert.equal(files.filter((f) => f.includes(".tmp")).length, 0, `no temporary files: ${files.join(", ")}`);
    assert.equal(files.filter((f) => f.endsWith(String(items[0]!.id))).length, 0, "no bytes for the failed dataset");
    const okIds = new Set((await Promise.all(
      ((await api<Obj[]>("/api/histories?limit=1000")).body).map(async (hist) => (await api<Obj[]>(`/api/histories/${String(hist.id)}/contents`)).body),
    )).flat().filter((d) => d.state === "ok").map((d) => d.id));
    for (const f of files) assert.ok(okIds.has(f.split("/").pop()), `every stored file belongs to an ok dataset: ${f}`);
  });

  test("URL upload (allowed by config for this local server): fetched, hashed, sniffed by name; redirects followed", async () => {
    const h = await newHistory("from url");
    const expected = await served.digests();
    const r = await api<{ outputs: Array<Obj & { id: string; hashes: Hash[]; sources: Obj[] }> }>(`/api/histories/${h.id}/contents`, {
      method: "POST", body: { src: "url", url: `${sourceUrl}/redirect` },
    });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const d = r.body.outputs[0]!;
    assert.equal(d.state, "ok");
    assert.equal(d.file_size, served.size);
    assert.equal(d.hashes.find((x) => x.hash_function === "SHA-256")?.hash_value, expected.sha256);
    assert.equal(d.sources[0]!.source_uri, `${sourceUrl}/redirect`);
    const back = await display(d.id);
    assert.deepEqual(await hashResponse(back), { size: served.size, ...expected });
    const named = await api<{ outputs: Obj[] }>(`/api/histories/${h.id}/contents`, {
      method: "POST", body: { src: "url", url: `${sourceUrl}/anything`, name: "given.txt", file_type: "txt" },
    });
    assert.equal(named.body.outputs[0]!.name, "given.txt");
    assert.equal(named.body.outputs[0]!.extension, "txt");
    assert.equal(named.body.outputs[0]!.hid, 2);
    assert.equal(md5(Buffer.alloc(0)), "d41d8cd98f00b204e9800998ecf8427e");
  });
});
