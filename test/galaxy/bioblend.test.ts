import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { type MockOidc, oidcEnv, type SignedIn, signIn, startOidcProvider } from "../support/auth.ts";
import { startSystem, type System } from "../support/system.ts";

// BioBlend, Galaxy's own Python client, from PyPI, driven against the real services: every call a
// Galaxy user's script makes for histories, uploads (tus and multipart), datasets, jobs, the
// current user and the version. bioblend_calls.py prints one JSON line per call; each is a test.

const BIOBLEND = "bioblend==1.9.0";
const VENV = join(homedir(), ".cache", "skyferry", "bioblend-1.9.0");
const python = join(VENV, "bin", "python");

/** A virtual environment with BioBlend, made once (pip from PyPI) and reused. */
function ensureBioblend(): void {
  if (existsSync(python)) {
    try {
      execFileSync(python, ["-c", "import bioblend, tusclient; assert bioblend.__version__ == '1.9.0'"], { stdio: "ignore" });
      return;
    } catch {
      rmSync(VENV, { recursive: true, force: true });
    }
  }
  execFileSync("python3", ["-m", "venv", VENV], { stdio: "inherit" });
  execFileSync(join(VENV, "bin", "pip"), ["install", "--quiet", "--disable-pip-version-check", BIOBLEND], { stdio: "inherit", timeout: 300_000 });
}

const SOURCE_BYTES = "track name=served\nchr1\t1\t100\n";
const CALLS = [
  "config.get_version", "config.get_config", "users.get_current_user",
  "histories.create_history", "histories.get_histories", "histories.show_history", "histories.update_history",
  "tools.upload_file (tus, Galaxy >= 22.01)", "tools.upload_file (tus, to_posix_lines + space_to_tab)",
  "tools.upload_file (multipart upload1, Galaxy 21.09)", "tools.paste_content", "tools.put_url",
  "tus upload broken off and resumed (get_tus_uploader + post_to_fetch)",
  "datasets.show_dataset", "datasets.get_datasets", "datasets.download_dataset",
  "jobs.show_job", "jobs.get_jobs", "histories.delete_history", "histories.delete_history (purge=True)",
];

describe("BioBlend 1.9 against skyferry: Galaxy scripts work unchanged", () => {
  let oidc: MockOidc;
  let sys: System;
  let oldSys: System;
  let source: Server;
  let alice: SignedIn;
  const results = new Map<string, { ok: boolean; detail: string }>();
  const tusDirs: string[] = [];
  let output = "";

  before(async () => {
    ensureBioblend();
    oidc = await startOidcProvider();
    const env = (version: string) => {
      const dir = mkdtempSync(join(tmpdir(), "skyferry-tus-"));
      tusDirs.push(dir);
      return { authz: oidcEnv(oidc), history: { HISTORY_ALLOW_PRIVATE_URLS: "true" }, gateway: { SKYFERRY_GALAXY_VERSION: version, SKYFERRY_TUS_DIR: dir } };
    };
    sys = await startSystem({ label: "bioblend", env: env("23.1") });
    // The same services reporting an older Galaxy: BioBlend then uploads with the upload1 tool.
    oldSys = await startSystem({ label: "bioblend-old", env: env("21.09") });
    source = createServer((_req, res) => void res.writeHead(200, { "content-type": "text/plain" }).end(SOURCE_BYTES));
    await new Promise<void>((r) => source.listen(0, "127.0.0.1", r));
    alice = await signIn(sys);
    const bob = await signIn(sys);
    const carol = await signIn(oldSys);
    const child = spawn(python, [join(import.meta.dirname, "bioblend_calls.py")], {
      env: {
        ...process.env,
        GALAXY_URL: sys.url, GALAXY_KEY: alice.apiKey, OTHER_KEY: bob.apiKey,
        OLD_GALAXY_URL: oldSys.url, OLD_GALAXY_KEY: carol.apiKey,
        SOURCE_URL: `http://127.0.0.1:${(source.address() as AddressInfo).port}`, SOURCE_BYTES,
        // No proxy between BioBlend and the loopback gateway.
        NO_PROXY: "127.0.0.1,localhost", no_proxy: "127.0.0.1,localhost",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (output += c.toString()));
    if (process.env.SKYFERRY_TEST_VERBOSE) child.stdout.pipe(process.stderr);
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    if (process.env.SKYFERRY_TEST_VERBOSE) child.stderr.pipe(process.stderr);
    const code = await new Promise<number | null>((r) => child.on("close", r));
    for (const line of output.split("\n").filter((l) => l.startsWith("{"))) {
      const r = JSON.parse(line) as { call: string; ok: boolean; detail: string };
      results.set(r.call, r);
    }
    assert.equal(code, 0, `bioblend_calls.py exited ${code}: ${stderr.slice(-3000)}`);
  });
  after(async () => {
    if (source) await new Promise((r) => source.close(r));
    await sys?.close();
    await oldSys?.close();
    await oidc?.close();
    for (const d of tusDirs) rmSync(d, { recursive: true, force: true });
  });

  for (const call of CALLS) {
    test(`${call} works and returns what Galaxy would`, () => {
      const r = results.get(call);
      assert.ok(r, `no result for ${call}; output:\n${output.slice(-2000)}`);
      assert.ok(r.ok, r.detail);
    });
  }

  test("every call the script made is one of the table's", () => {
    assert.deepEqual([...results.keys()].sort(), [...CALLS].sort());
  });
});
