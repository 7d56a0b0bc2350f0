import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { buildCli, cliBin, type CliHome, cliHome } from "../support/cli.ts";
import { createS3Bucket, independentS3, removeS3Buckets, repoRoot } from "../support/send.ts";
import { stackAuthzConfig, startSendWorld, type SendWorld } from "../support/send-system.ts";
import { startSlowLink, type SlowLink } from "../support/slow-link.ts";
import { stackEnv, stackOutboundAllow } from "../support/stack-env.ts";

// `skyferry send` in a real terminal (tmux, 120x30): the screen is captured while the bars move
// and once the command has ended; every capture is saved under .test-results/cli-terminal/ (plain
// text, and with colours as ANSI escapes) for a human to look at. The S3 endpoint is reached
// through a slow link (5 MiB/s) so the send lasts seconds on any machine; the objects are larger
// than the single-PUT limit (16 MiB), so they go in 8 MiB parts and report progress part by part.

const MiB = 1024 * 1024;
const out = join(repoRoot, ".test-results/cli-terminal");
const tmux = (socket: string, ...args: string[]) => execFileSync("tmux", ["-L", socket, "-f", "/dev/null", ...args], { encoding: "utf8" });
const shellQuote = (s: string) => `'${s.replace(/'/g, "'\\''")}'`;

describe("skyferry in a terminal (tmux)", () => {
  const bucket = `cli-tty-${randomBytes(4).toString("hex")}`;
  const socket = `skyferry-test-${randomBytes(4).toString("hex")}`;
  let world: SendWorld;
  let slow: SlowLink;
  let home: CliHome;
  let historyId: string;
  let authzId: string;
  let apiKey: string;
  before(async () => {
    buildCli();
    rmSync(out, { recursive: true, force: true });
    mkdirSync(out, { recursive: true });
    slow = await startSlowLink(stackEnv().s3.endpoint, 5 * MiB);
    // The slow link is a loopback server the operator allowlists (SKYFERRY_OUTBOUND_ALLOW), like the stack's own.
    const allow = { SKYFERRY_OUTBOUND_ALLOW: stackOutboundAllow(new URL(slow.url).host) };
    world = await startSendWorld({ label: "cli-tty", authzEnv: allow, transferEnv: allow });
    const user = await world.user();
    apiKey = user.apiKey;
    authzId = await world.authz(user, "s3", { ...stackAuthzConfig("s3"), endpoint: slow.url });
    const history = await world.history(user, "terminal");
    await history.add(...["a.bin", "b.bin", "c.bin"].map((name) => ({ name, content: randomBytes(18 * MiB) })));
    historyId = history.id;
    await createS3Bucket(independentS3(), bucket);
    home = cliHome();
    const login = await home.run(["--server", world.sys.url, "login", "--api-key", user.apiKey]);
    assert.equal(login.code, 0, login.stderr);
  });
  after(async () => {
    try {
      tmux(socket, "kill-server");
    } catch {
      // already gone
    }
    await removeS3Buckets(independentS3(), [bucket]).catch(() => undefined);
    await world?.close();
    await slow?.close();
    home?.close();
  });

  test("one bar per running job and an overall bar (bytes, rate, ETA) move; the summary table ends it; colours on a terminal", async () => {
    const cmd = [process.execPath, cliBin, "send", "--history", historyId, "--authz", authzId, "--bucket", bucket].map(shellQuote).join(" ");
    const env = `env -i HOME=${shellQuote(home.dir)} PATH=${shellQuote(process.env.PATH ?? "")} TERM=xterm-256color LANG=C.UTF-8`;
    tmux(socket, "new-session", "-d", "-x", "120", "-y", "30", "-s", "send", `${env} ${cmd}; echo "[exit $?]"; sleep 600`);
    const running: string[] = [];
    let final = "";
    let colour = "";
    const deadline = Date.now() + 120_000;
    for (let i = 0; Date.now() < deadline; i++) {
      const screen = tmux(socket, "capture-pane", "-p", "-t", "send");
      if (/\[exit \d+\]/.test(screen)) {
        final = screen;
        colour = tmux(socket, "capture-pane", "-p", "-e", "-t", "send");
        break;
      }
      if (/send \d\/3/.test(screen)) {
        running.push(screen);
        writeFileSync(join(out, `running-${String(running.length).padStart(3, "0")}.txt`), screen);
        if (running.length === 2) writeFileSync(join(out, "running-colour.ansi"), tmux(socket, "capture-pane", "-p", "-e", "-t", "send"));
      }
      await sleep(400);
    }
    writeFileSync(join(out, "final.txt"), final);
    writeFileSync(join(out, "final-colour.ansi"), colour);
    assert.ok(final, `the command did not end within 120 s; last captures in ${out}`);

    // While it ran: the overall line with bytes, a rate and an ETA, and per-job bars.
    assert.ok(running.length >= 3, `only ${running.length} captures while running (${out})`);
    const overall = running.map((s) => /^send (\d)\/3\s+[█░]+\s+(\d+)% ([\d.]+ \w+)\/([\d.]+ \w+) ([\d.]+ \w+|-)\/s ETA (\S+)/m.exec(s));
    assert.ok(overall.every(Boolean), `an overall bar on every running capture (${out})`);
    const percents = overall.map((m) => Number(m![2]));
    assert.ok(new Set(percents).size >= 2, `the overall bar moved: ${percents.join(", ")}`);
    assert.ok(percents.every((p, i) => i === 0 || p >= percents[i - 1]!), `the overall bar never goes back: ${percents.join(", ")}`);
    assert.ok(overall.some((m) => m![6] !== "-"), "an ETA once a rate is known");
    assert.ok(running.some((s) => /^[abc]\.bin\s+[█░]+\s+\d+% [\d.]+ \w+\/18 MiB /m.test(s)), `a bar per running job, named by its object (${out})`);
    // The overall bar and the job bars start in the same column (labels padded to one width).
    const columns = running.flatMap((s) => s.split("\n").filter((l) => /[█░]{24}/.test(l)).map((l) => l.search(/[█░]/)));
    assert.equal(new Set(columns).size, 1, `bars aligned: columns ${[...new Set(columns)].join(", ")}`);

    // No residue of a removed bar next to a line logged above the bars.
    for (const s of [...running, final]) assert.ok(!/✔.*[█░]/.test(s), `a finished line with bar residue:\n${s}`);

    // At the end: the bars' final state, the summary table, exit 0.
    assert.match(final, /\[exit 0\]/);
    assert.match(final, /OBJECT\s+STATE\s+SIZE\s+OUTCOME\s+JOB/);
    for (const name of ["a.bin", "b.bin", "c.bin"]) assert.match(final, new RegExp(`^✔ ${name.replace(".", "\\.")} 18 MiB`, "m"), `a line above the bars for ${name}`);
    for (const name of ["a.bin", "b.bin", "c.bin"]) assert.match(final, new RegExp(`^${name.replace(".", "\\.")}\\s+ok\\s+18 MiB\\s+uploaded\\s+[0-9a-f]{16}`, "m"));
    assert.match(final, /3 ok, 0 failed; 54 MiB in /);
    assert.match(final, /send 3\/3 .*100%/);
    // Colours on a terminal (NO_COLOR and pipes: packages/cli/test/exit-codes.test.ts).
    assert.ok(colour.includes("\u001b["), "SGR escape sequences in the colour capture");
  });
  test("login without a key on a terminal: prints the console's API key page, asks for the key without echoing it, stores it 0600", async (t) => {
    const fresh = cliHome();
    t.after(() => fresh.close());
    const env = `env -i HOME=${shellQuote(fresh.dir)} PATH=${shellQuote(process.env.PATH ?? "")} TERM=xterm-256color LANG=C.UTF-8`;
    const cmd = [process.execPath, cliBin, "--server", world.sys.url, "login", "--no-browser"].map(shellQuote).join(" ");
    tmux(socket, "new-session", "-d", "-x", "120", "-y", "20", "-s", "login", `${env} ${cmd}; echo "[exit $?]"; sleep 600`);
    const waitFor = async (re: RegExp) => {
      for (const deadline = Date.now() + 20_000; Date.now() < deadline; await sleep(200)) {
        const screen = tmux(socket, "capture-pane", "-p", "-t", "login");
        if (re.test(screen)) return screen;
      }
      throw new Error(`never shown: ${re}\n${tmux(socket, "capture-pane", "-p", "-t", "login")}`);
    };
    const asking = await waitFor(/API key/);
    writeFileSync(join(out, "login-prompt.txt"), asking);
    assert.ok(asking.includes(`${world.sys.url}/#/key`), "the console's API key page is printed");
    tmux(socket, "send-keys", "-t", "login", "-l", apiKey);
    tmux(socket, "send-keys", "-t", "login", "Enter");
    const done = await waitFor(/\[exit \d+\]/);
    writeFileSync(join(out, "login-done.txt"), done);
    assert.match(done, /\[exit 0\]/);
    assert.match(done, /signed in to http:\/\/127\.0\.0\.1:\d+ as /);
    assert.ok(!done.includes(apiKey), "the key is never echoed");
    const config = join(fresh.dir, ".config/skyferry/config.toml");
    assert.equal(statSync(config).mode & 0o777, 0o600);
    assert.match(readFileSync(config, "utf8"), new RegExp(`api_key = "${apiKey}"`));
    const who = await fresh.run(["whoami", "--json"]);
    assert.equal(who.code, 0, who.stderr);
  });
});
