import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createServer } from "node:http";
import { PassThrough } from "node:stream";
import { describe, test } from "node:test";
import { SkyferryApiError } from "@skyferry/client";
import { colorEnabled } from "../src/context.ts";
import { errorLine, EXIT, exitCodeOf, usage } from "../src/errors.ts";
import { type Io, runCli } from "../src/main.ts";

/** The CLI in-process, with captured streams; `tty` makes stdout/stderr claim to be terminals. */
async function run(args: string[], env: NodeJS.ProcessEnv = {}, tty = false): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = Object.assign(new PassThrough(), { isTTY: tty });
  const stderr = Object.assign(new PassThrough(), { isTTY: tty });
  const stdin = Object.assign(new PassThrough(), { isTTY: false });
  stdin.end();
  let out = "";
  let err = "";
  stdout.on("data", (c: Buffer) => (out += c));
  stderr.on("data", (c: Buffer) => (err += c));
  const io: Io = { stdout, stderr, stdin, env: { HOME: "/nonexistent-home", ...env } };
  const code = await runCli(args, io);
  return { code, stdout: out, stderr: err };
}

describe("exit codes and errors", () => {
  test("usage errors exit 2 with CLI_USAGE on stderr; --help and --version exit 0", async () => {
    for (const args of [["bogus"], ["send", "--history", "h"], ["jobs", "ls", "--state", "nope"], ["histories"], ["completion", "fish"]]) {
      const r = await run(args);
      assert.equal(r.code, EXIT.usage, `${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, /^CLI_USAGE: /m, args.join(" "));
    }
    assert.equal((await run(["--help"])).code, 0);
    assert.equal((await run(["--version"])).stdout, "0.1.0\n");
  });

  test("no server or no API key exits 3 (authentication), before any request", async () => {
    const noServer = await run(["jobs", "ls"]);
    assert.equal(noServer.code, EXIT.auth);
    assert.match(noServer.stderr, /^CLI_NO_SERVER: /);
    const noKey = await run(["jobs", "ls"], { SKYFERRY_URL: "http://127.0.0.1:9" });
    assert.equal(noKey.code, EXIT.auth);
    assert.match(noKey.stderr, /^CLI_NO_API_KEY: no API key for profile "default"/);
  });

  test("the server's refusals: 401 exits 3, 400 exits 2, 404 exits 1, each as `err_code: err_msg`", async (t) => {
    const answers: Record<string, [number, unknown]> = {
      "/api/jobs": [401, { err_msg: "Provided API key is not valid.", err_code: 401001 }],
      "/api/histories": [400, { err_msg: "The `name` is invalid.", err_code: 400008, code: "REQUEST_FIELD_INVALID" }],
      "/api/cloud/authz": [404, { err_msg: "Not found.", err_code: 404001 }],
      "/api/users/current": [502, "<html>bad gateway</html>"],
    };
    const server = createServer((req, res) => {
      const [status, body] = answers[new URL(req.url ?? "/", "http://x").pathname] ?? [500, {}];
      res.writeHead(status, { "content-type": typeof body === "string" ? "text/html" : "application/json" }).end(typeof body === "string" ? body : JSON.stringify(body));
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    t.after(() => server.close());
    const { port } = server.address() as { port: number };
    const env = { SKYFERRY_URL: `http://127.0.0.1:${port}`, SKYFERRY_API_KEY: "k" };
    assert.deepEqual(await run(["jobs", "ls"], env), { code: 3, stdout: "", stderr: "401001: Provided API key is not valid.\n" });
    assert.deepEqual(await run(["histories", "ls"], env), { code: 2, stdout: "", stderr: "400008: The `name` is invalid.\n" });
    assert.deepEqual(await run(["authz", "ls", "--json"], env), { code: 1, stdout: "", stderr: "404001: Not found.\n" });
    assert.deepEqual(await run(["whoami"], env), { code: 1, stdout: "", stderr: "502000: HTTP 502: Bad Gateway\n" });
  });

  test("an unreachable server exits 1 with CLIENT_UNREACHABLE", async () => {
    const r = await run(["jobs", "ls"], { SKYFERRY_URL: "http://127.0.0.1:9", SKYFERRY_API_KEY: "k" });
    assert.equal(r.code, EXIT.failed);
    assert.match(r.stderr, /^CLIENT_UNREACHABLE: Could not reach http:\/\/127\.0\.0\.1:9/);
  });

  test("secrets are never taken from argv: authz add without a file and without a terminal is refused", async () => {
    const r = await run(["authz", "add", "s3", "--endpoint", "http://s3", "--access-key-id", "AK"], { SKYFERRY_URL: "http://127.0.0.1:9", SKYFERRY_API_KEY: "k" });
    assert.equal(r.code, EXIT.usage);
    assert.match(r.stderr, /^CLI_SECRET: S3 secret access key: not on a terminal/);
    const argv = await run(["authz", "add", "s3", "--endpoint", "http://s3", "--access-key-id", "AK", "--secret-access-key", "S"]);
    assert.equal(argv.code, EXIT.usage);
    assert.match(argv.stderr, /unknown option '--secret-access-key'/);
  });

  test("exitCodeOf and errorLine map errors as documented", () => {
    assert.equal(exitCodeOf(new SkyferryApiError("x", { status: 401, errCode: 401001 })), 3);
    assert.equal(exitCodeOf(new SkyferryApiError("x", { status: 403, errCode: 403002 })), 1);
    assert.equal(exitCodeOf(usage("bad")), 2);
    assert.equal(exitCodeOf(new Error("boom")), 1);
    assert.equal(errorLine(new SkyferryApiError("Not found.", { status: 404, errCode: 404001 })), "404001: Not found.");
    assert.equal(errorLine(usage("bad")), "CLI_USAGE: bad");
  });
});

describe("colour", () => {
  test("only on a terminal, never with NO_COLOR (any non-empty value), --no-color or TERM=dumb", () => {
    assert.equal(colorEnabled({ isTTY: true }, {}, undefined), true);
    assert.equal(colorEnabled({ isTTY: false }, {}, undefined), false);
    assert.equal(colorEnabled({ isTTY: true }, { NO_COLOR: "1" }, undefined), false);
    assert.equal(colorEnabled({ isTTY: true }, { NO_COLOR: "" }, undefined), true);
    assert.equal(colorEnabled({ isTTY: true }, {}, false), false);
    assert.equal(colorEnabled({ isTTY: true }, { TERM: "dumb" }, undefined), false);
  });

  test("a table printed to a terminal is coloured; with NO_COLOR, or into a pipe, it is plain", async (t) => {
    const server = createServer((_req, res) => res.writeHead(200, { "content-type": "application/json" }).end("[]"));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    t.after(() => server.close());
    const env = { SKYFERRY_URL: `http://127.0.0.1:${(server.address() as { port: number }).port}`, SKYFERRY_API_KEY: "k" };
    const coloured = await run(["authz", "ls"], env, true);
    assert.equal(coloured.code, 0, coloured.stderr);
    assert.match(coloured.stdout, /PROVIDER/);
    assert.ok(coloured.stdout.includes("\u001b[1m"), "a bold header on a terminal");
    for (const [what, r] of [["NO_COLOR", await run(["authz", "ls"], { ...env, NO_COLOR: "1" }, true)], ["a pipe", await run(["authz", "ls"], env, false)]] as const) {
      assert.match(r.stdout, /PROVIDER/);
      assert.ok(!r.stdout.includes("\u001b["), `plain with ${what}`);
    }
  });
});

describe("shell completion", () => {
  test("bash: the script parses, and completes commands, subcommands and options", async () => {
    const script = (await run(["completion", "bash"])).stdout;
    const complete = (words: string[]) =>
      execFileSync("bash", ["-c", `${script}\nCOMP_WORDS=(${words.map((w) => `'${w}'`).join(" ")}); COMP_CWORD=${words.length - 1}; _skyferry; printf '%s\\n' "\${COMPREPLY[@]}"`], { encoding: "utf8" })
        .trim()
        .split("\n");
    assert.deepEqual(complete(["skyferry", "hi"]), ["histories"]);
    assert.deepEqual(complete(["skyferry", "authz", "add", ""]).sort(), ["--help", "--json", "--no-color", "--profile", "--server", "aws", "azure", "s3"]);
    assert.ok(complete(["skyferry", "send", "--"]).includes("--overwrite-policy"));
    assert.ok(complete(["skyferry", "--server", "http://x", "jobs", "w"]).includes("watch"), "options and their values are skipped");
  });

  test("zsh: the script is valid zsh (zsh -n) when zsh is installed", async (t) => {
    const script = (await run(["completion", "zsh"])).stdout;
    assert.match(script, /^#compdef skyferry/);
    assert.match(script, /'authz add' 's3 aws azure /);
    try {
      execFileSync("zsh", ["--version"]);
    } catch {
      t.skip("zsh is not installed here: only the script's content was checked");
      return;
    }
    execFileSync("zsh", ["-n"], { input: script });
  });
});
