import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { type AddressInfo, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
import { after, before, describe, test } from "node:test";
import { IDENTITIES, permissionsFor } from "@skyferry/contracts";
import { childEnv, imageEnv, type NativeService, runOneShot, startNative, startNode } from "./support/native-services.ts";
import { makeTrust, startNats } from "./support/trust.ts";

// There is no Docker engine on the machines that run the tests (nor a compose plugin), so
// docker-compose.yml is rendered by compose-go, the library Docker Compose itself uses
// (scripts/tools/compose-render), and each of our services is started natively with exactly the
// environment the rendered file gives its container (plus the image's ENV), the file's host names
// mapped to the local stack's servers.

const repo = resolve(import.meta.dirname, "../..");
const composeFile = join(repo, "docker-compose.yml");
const ours = ["authz", "history", "transfer", "gateway"] as const;

interface Healthcheck { test?: string[]; interval?: string; disable?: boolean }
interface ComposeService {
  image?: string;
  build?: { context: string; target?: string; args?: Record<string, string> };
  command?: string[] | null;
  entrypoint?: string[] | null;
  environment?: Record<string, string | null>;
  restart?: string;
  healthcheck?: Healthcheck;
  ports?: Array<{ host_ip?: string; published?: string; target: number }>;
  volumes?: Array<{ type: string; source: string; target: string; read_only?: boolean }>;
  deploy?: { replicas?: number };
  depends_on?: Record<string, { condition: string }>;
  stop_grace_period?: string;
}
interface ComposeProject { name: string; services: Record<string, ComposeService>; volumes: Record<string, unknown> }

/** The variables .env.example lists (NAME= lines). */
function envExampleNames(): string[] {
  const text = readFileSync(join(repo, ".env.example"), "utf8");
  return [...text.matchAll(/^([A-Z][A-Z0-9_]*)=(.*)$/gm)].map((m) => {
    assert.equal(m[2], "", `.env.example ships no value for ${m[1]}`);
    return m[1]!;
  });
}

/** A generated value for each variable, as .env.example says to make it. */
function generated(names: string[]): Record<string, string> {
  return Object.fromEntries(names.map((n) => [n, n === "SKYFERRY_ENCRYPTION_KEY" ? randomBytes(32).toString("base64") : randomBytes(32).toString("hex")]));
}

function renderer(): string {
  return execFileSync("bash", [join(repo, "scripts/tools/compose-render/build.sh")], { encoding: "utf8", timeout: 300_000 }).trim();
}

/** Runs compose-render with exactly `env` (no other variable of this process). */
function render(bin: string, env: Record<string, string>, ...args: string[]) {
  return spawnSync(bin, ["-f", composeFile, ...args], { env: { HOME: process.env.HOME ?? "/root", ...env }, encoding: "utf8" });
}

/** A port nothing listens on now (for a process that need not use the file's ports). */
function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => done(port));
    });
    server.once("error", fail);
  });
}

describe("docker-compose.yml, rendered by compose-go", () => {
  let bin = "";
  let names: string[] = [];
  let secrets: Record<string, string> = {};
  let project: ComposeProject;

  before(() => {
    bin = renderer();
    names = envExampleNames();
    secrets = generated(names);
    const out = render(bin, secrets);
    assert.equal(out.status, 0, `compose-render failed: ${out.stderr}`);
    project = JSON.parse(out.stdout) as ComposeProject;
  });

  test("needs exactly the variables .env.example lists: each is used, and without any one of them the file does not render", () => {
    assert.ok(names.length >= 4, ".env.example lists the secrets");
    const used = JSON.parse(render(bin, secrets, "-variables").stdout) as Array<{ name: string; default: string; required: boolean }>;
    for (const v of used) {
      assert.ok(names.includes(v.name) ? v.required : v.default !== "", `${v.name}: listed in .env.example and required (\${${v.name}:?...}), or given a default`);
    }
    for (const name of names) {
      assert.ok(used.some((v) => v.name === name), `${name} (in .env.example) is used by the file`);
      const { [name]: _left, ...rest } = secrets;
      const out = render(bin, rest);
      assert.notEqual(out.status, 0, `renders without ${name}`);
      assert.match(out.stderr, new RegExp(`required variable ${name} is missing`));
    }
    // No secret is written in the file: the rendered values are the generated ones.
    const authz = project.services.authz!.environment!;
    assert.ok(authz.SKYFERRY_ENCRYPTION_KEYS!.includes(secrets.SKYFERRY_ENCRYPTION_KEY!));
    assert.ok(authz.SKYFERRY_OIDC_PROVIDERS!.includes(secrets.SKYFERRY_OIDC_CLIENT_SECRET!));
  });

  test("runs NATS, MongoDB, an S3 store, Azurite, the OIDC provider and the four services; transfer runs 3 replicas", () => {
    for (const name of ["nats", "mongodb", "s3", "azurite", "oidc", ...ours]) assert.ok(project.services[name], `service ${name}`);
    assert.equal(project.services.transfer!.deploy?.replicas, 3);
    assert.deepEqual(project.services.nats!.command, ["-c", "/etc/nats/trust/nats.conf"], "NATS runs the trust service's config (JetStream: below)");
  });

  /** One-shot services (others wait for them to complete): they exit, so they have no health check. */
  const oneShot = (name: string) => Object.values(project.services).some((s) => s.depends_on?.[name]?.condition === "service_completed_successfully");

  test("every service has a restart policy and a health check its image can run (one-shot services: restart on failure)", () => {
    for (const [name, svc] of Object.entries(project.services)) {
      assert.ok(["always", "unless-stopped", "on-failure"].includes(svc.restart ?? ""), `${name} has a restart policy (${svc.restart})`);
      if (oneShot(name)) {
        assert.equal(svc.restart, "on-failure", `${name}: a one-shot restarts only on failure`);
        continue;
      }
      const check = svc.healthcheck?.test ?? [];
      assert.ok(!svc.healthcheck?.disable && check[0] === "CMD" && check.length > 1, `${name} has a CMD health check`);
      // Our images (node:24-bookworm-slim) and Azurite's have node but no curl or wget; busybox's
      // wget is only in alpine-based images.
      assert.ok(!check.includes("curl"), `${name}: no curl`);
      if (check[1] === "wget") assert.match(svc.image ?? "", /alpine|seaweedfs/, `${name}: wget only in an alpine-based image`);
      if (svc.build) assert.equal(check[1], "node", `${name}: our images run node for health checks`);
    }
  });

  test("every image is pinned to a release (no :latest, no bare name), and ports are bound to 127.0.0.1", () => {
    for (const [name, svc] of Object.entries(project.services)) {
      if (svc.build) continue; // built from this repository
      assert.match(svc.image ?? "", /^[^:]+:(?!latest$)[A-Za-z0-9._-]*\d[A-Za-z0-9._-]*$/, `${name}: pinned image (${svc.image})`);
    }
    assert.doesNotMatch(project.services.s3!.image!, /minio/, "S3 is not MinIO (no dependable images any more)");
    for (const [name, svc] of Object.entries(project.services)) {
      for (const port of svc.ports ?? []) assert.equal(port.host_ip, "127.0.0.1", `${name} publishes ${port.published} on 127.0.0.1`);
    }
  });

  test("the OIDC provider is the stack's script with a pinned issuer; authz takes that plain-http issuer only through the development flag, outside production", () => {
    const oidc = project.services.oidc!;
    assert.equal(oidc.build?.target, "oidc");
    const cmd = oidc.command ?? [];
    assert.deepEqual(cmd.slice(0, 2), ["node", "scripts/stack/oidc-server.mjs"]);
    assert.equal(cmd[cmd.indexOf("--issuer") + 1], "http://oidc:18090");
    assert.equal(cmd[cmd.indexOf("--public-url") + 1], "http://localhost:18090");
    const env = project.services.authz!.environment!;
    const providers = JSON.parse(env.SKYFERRY_OIDC_PROVIDERS!) as Array<{ issuer: string; allow_insecure_http?: boolean }>;
    assert.equal(providers[0]!.issuer, "http://oidc:18090");
    assert.equal(env.SKYFERRY_OIDC_DEV_INSECURE_ISSUERS, "true");
    assert.notEqual({ ...imageEnv("authz"), ...env }.NODE_ENV, "production", "the flag is refused with NODE_ENV=production");
    for (const name of ["gateway", "history", "transfer"]) {
      assert.equal(project.services[name]!.environment!.SKYFERRY_OIDC_DEV_INSECURE_ISSUERS, undefined, `${name} has no dev flag`);
    }
  });

  test("NATS: TLS only, every connection with its own NKey under the permission table's grants (no operator), monitoring on the container's loopback; each service mounts only its own trust volume", () => {
    const nats = project.services.nats!;
    assert.deepEqual(nats.command, ["-c", "/etc/nats/trust/nats.conf"]);
    assert.equal(nats.depends_on?.trust?.condition, "service_completed_successfully");
    assert.ok(nats.volumes?.some((v) => v.source === "trust-nats" && v.target === "/etc/nats/trust" && v.read_only));
    assert.equal(project.services.trust!.build?.target, "trust");
    const dir = mkdtempSync(join(tmpdir(), "skyferry-compose-trust-"));
    try {
      const { out } = makeTrust(project.services.trust!.command!, dir);
      const conf = readFileSync(join(out, "nats", "nats.conf"), "utf8");
      assert.match(conf, /^http: "127\.0\.0\.1:8222"$/m, "monitoring on loopback only");
      assert.match(conf, /^jetstream \{ store_dir: "\/data" \}$/m, "JetStream, in the nats-data volume");
      assert.match(conf, /^tls \{\n {2}cert_file: "\/etc\/nats\/trust\/nats-server\.pem"/m, "TLS");
      const users = [...conf.matchAll(/^ {4}# (\S+)$/gm)].map((m) => m[1]!).sort();
      assert.deepEqual(users, IDENTITIES.filter((i) => i !== "operator").sort(), "one user per identity, no operator");
      for (const id of users) {
        const p = permissionsFor(id as (typeof IDENTITIES)[number], "skyferry");
        const block = conf.slice(conf.indexOf(`    # ${id}\n`)).split("    } }")[0]!;
        assert.ok(block.includes(JSON.stringify(p.subscribe.allow).replaceAll(",", ", ")), `${id}: its subscribe grants`);
      }
      assert.doesNotMatch(conf, /"\$JS\.API\.>"|publish: \{ allow: \[">"\]/, "nobody may publish everything or use the whole JetStream API");
      assert.equal(conf.match(/subscribe: \{ allow: \[">"\]/g)?.length, 1, "only the monitor identity subscribes to everything");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    for (const name of ours) {
      const svc = project.services[name]!;
      const env = svc.environment!;
      assert.match(env.SKYFERRY_NATS_URL!, /^tls:\/\/nats:4222$/, `${name}: TLS`);
      const trust = (svc.volumes ?? []).filter((v) => v.source?.startsWith("trust"));
      assert.deepEqual(trust.map((v) => [v.source, v.target, v.read_only]), [[`trust-${name}`, "/etc/skyferry/trust", true]], `${name}: its own trust volume only, read-only`);
      assert.equal(env.SKYFERRY_NATS_NKEY_SEED_FILE, "/etc/skyferry/trust/seed.nk");
      assert.equal(env.SKYFERRY_NATS_TLS_CA_FILE, "/etc/skyferry/trust/ca.pem");
      assert.equal(env.SKYFERRY_ACTOR_SIGNING_KEY_FILE !== undefined, name === "gateway", `${name}: only the gateway signs actor assertions`);
    }
  });

  test("streams are made by the one-shot `provision` service alone, as the provisioner identity (its own trust volume, in no other container); transfer starts after it completes", () => {
    const provision = project.services.provision!;
    assert.equal(provision.image, project.services.transfer!.image, "the transfer image's provision command");
    assert.deepEqual(provision.command, ["node", "--enable-source-maps", "services/transfer/dist/provision.mjs"]);
    assert.equal(provision.restart, "on-failure");
    assert.equal(provision.depends_on?.nats?.condition, "service_healthy");
    assert.equal(project.services.transfer!.depends_on?.provision?.condition, "service_completed_successfully");
    const trust = (provision.volumes ?? []).filter((v) => v.source?.startsWith("trust"));
    assert.deepEqual(trust.map((v) => [v.source, v.target, v.read_only]), [["trust-provisioner", "/etc/skyferry/trust", true]]);
    assert.equal(provision.environment!.SKYFERRY_NATS_NKEY_SEED_FILE, "/etc/skyferry/trust/seed.nk");
    assert.equal(provision.environment!.SKYFERRY_NAMESPACE, project.services.transfer!.environment!.SKYFERRY_NAMESPACE);
    assert.equal(provision.environment!.SKYFERRY_ACTOR_SIGNING_KEY_FILE, undefined);
    for (const [name, svc] of Object.entries(project.services)) {
      if (name === "provision" || name === "trust") continue;
      assert.ok(!(svc.volumes ?? []).some((v) => v.source === "trust-provisioner"), `${name} has no provisioner seed`);
    }
    const dir = mkdtempSync(join(tmpdir(), "skyferry-compose-trust-"));
    try {
      const { out } = makeTrust(project.services.trust!.command!, dir);
      assert.deepEqual(readdirSync(join(out, "provisioner")).sort(), ["ca.pem", "seed.nk"], "the provisioner's volume: its seed and the CA");
      for (const name of ours) assert.notEqual(readFileSync(join(out, name, "seed.nk"), "utf8"), readFileSync(join(out, "provisioner", "seed.nk"), "utf8"));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("the datasets volume: history writes it, transfer reads it read-only, and the image makes its folder owned by node", () => {
    const mount = (svc: string) => project.services[svc]!.volumes?.find((v) => v.source === "datasets");
    assert.equal(mount("history")?.target, project.services.history!.environment!.DATASET_STORE_DIR);
    assert.ok(!mount("history")?.read_only);
    assert.equal(mount("transfer")?.read_only, true);
    const dockerfile = readFileSync(join(repo, "Dockerfile"), "utf8");
    const runtime = dockerfile.slice(dockerfile.search(/^FROM \S+ AS runtime\b/m));
    assert.match(runtime, /mkdir -p \/data\/datasets( \/data\/\S+)* && chown -R node:node \/data/);
    assert.ok(runtime.indexOf("chown") < runtime.indexOf("USER node"));
  });

  describe("each of our services, started natively with exactly the environment compose gives it", () => {
    const started: NativeService[] = [];
    let oidcClose: (() => Promise<void>) | undefined;
    let natsClose: (() => Promise<void>) | undefined;
    let dataDir = "";
    let trustDir = "";
    let trustOut = "";
    // The file's host names, mapped to the local stack (its servers listen on 127.0.0.1) and to what
    // this test starts: compose's own NATS (its trust service's config, users and certificate) and
    // provider on 127.0.0.2 (the stack's have 127.0.0.1), our services on 0.0.0.0 at the file's ports.
    const hosts = { nats: "127.0.0.2", mongodb: "127.0.0.1", s3: "127.0.0.1", azurite: "127.0.0.1", oidc: "127.0.0.2", authz: "127.0.0.1", history: "127.0.0.1", transfer: "127.0.0.1", gateway: "127.0.0.1" };
    /** The part of the trust service's output a service mounts (trust-<part>). */
    const trustOf = (name: string) => project.services[name]!.volumes?.find((v) => v.target === "/etc/skyferry/trust")?.source.replace(/^trust-/, "") ?? name;
    const envOf = (name: string): Record<string, string> => {
      const env: Record<string, string> = { ...imageEnv(project.services[name]!.build?.args?.SERVICE ?? name) };
      for (const [k, v] of Object.entries(project.services[name]!.environment ?? {})) if (v !== null) env[k] = v;
      // The paths the file mounts (the datasets volume, the service's trust volume) are temporary folders here.
      if (env.DATASET_STORE_DIR === "/data/datasets") env.DATASET_STORE_DIR = dataDir;
      for (const [k, v] of Object.entries(env)) if (v.startsWith("/etc/skyferry/trust/")) env[k] = v.replace("/etc/skyferry/trust", join(trustOut, trustOf(name)));
      // The stack's MongoDB may run on another port than the file's (SKYFERRY_MONGO_PORT).
      const mongoPort = new URL(process.env.MONGO_URL ?? "mongodb://127.0.0.1:27017").port || "27017";
      if (env.MONGO_URL) env.MONGO_URL = env.MONGO_URL.replace("mongodb:27017", `mongodb:${mongoPort}`);
      return env;
    };

    before(async () => {
      dataDir = mkdtempSync(join(tmpdir(), "skyferry-compose-datasets-"));
      // Compose's trust service, then its NATS with the config it made.
      trustDir = mkdtempSync(join(tmpdir(), "skyferry-compose-trust-"));
      trustOut = makeTrust(project.services.trust!.command!, trustDir).out;
      const nats = await startNats({ conf: join(trustOut, "nats", "nats.conf"), paths: { "/etc/nats/trust": join(trustOut, "nats"), "/data": join(trustDir, "js") }, host: hosts.nats, dir: join(trustDir, "native") });
      natsClose = nats.close;
      if (!existsSync(join(repo, "packages/console/dist/index.html"))) {
        execFileSync("npx", ["turbo", "run", "build", "--filter=@skyferry/console"], { cwd: repo, stdio: "pipe", timeout: 300_000 });
      }
      // Compose's oidc: the same command, its listen address (0.0.0.0 in the container) on 127.0.0.2.
      const cmd = [...(project.services.oidc!.command ?? [])];
      assert.equal(cmd[0], "node");
      cmd[cmd.indexOf("-a") + 1] = hosts.oidc;
      const oidc = await startNode({
        label: "compose oidc",
        args: cmd.slice(1),
        env: Object.fromEntries(Object.entries(project.services.oidc!.environment ?? {}).filter((e): e is [string, string] => e[1] !== null)),
        hosts,
        ready: async () => (await fetch(`http://${hosts.oidc}:18090/.well-known/openid-configuration`)).ok,
      });
      oidcClose = oidc.close;
    });

    after(async () => {
      for (const s of started.reverse()) await s.close();
      await oidcClose?.();
      await natsClose?.();
      if (dataDir) rmSync(dataDir, { recursive: true, force: true });
      if (trustDir) rmSync(trustDir, { recursive: true, force: true });
    });

    test("compose's provider advertises the pinned issuer and the browser-facing sign-in page", async () => {
      const d = (await (await fetch(`http://${hosts.oidc}:18090/.well-known/openid-configuration`)).json()) as Record<string, string>;
      assert.equal(d.issuer, "http://oidc:18090");
      assert.equal(d.token_endpoint, "http://oidc:18090/token");
      assert.equal(d.authorization_endpoint, "http://localhost:18090/authorize");
    });

    test("compose's provision one-shot runs to completion against compose's NATS (as provisioner) and again (idempotent)", async () => {
      const svc = project.services.provision!;
      for (let run = 1; run <= 2; run++) {
        const log = await runOneShot({ label: `compose provision (run ${run})`, service: "transfer", args: svc.command!.slice(1), env: envOf("provision"), hosts });
        assert.match(log, /JetStream streams and consumers provisioned/);
        assert.match(log, /SKYFERRY_TRANSFER_JOBS/);
      }
    });

    for (const name of ours) {
      test(`${name} passes its config validation and becomes ready`, async () => {
        const svc = await startNative({ service: name, env: envOf(name), hosts, label: `compose ${name}`, timeoutMs: 60_000 });
        started.push(svc);
        assert.equal((await fetch(`${svc.url}/readyz`)).status, 200);
        // Prometheus' /metrics on the port the file gives it, on the compose network only.
        const env = envOf(name);
        assert.ok(env.SKYFERRY_METRICS_PORT && env.SKYFERRY_METRICS_PORT !== env.PORT, `${name}: a metrics port of its own`);
        assert.ok(!JSON.stringify(project.services[name]!.ports ?? []).includes(`:${env.SKYFERRY_METRICS_PORT}`), `${name}: the metrics port is not published`);
        const metrics = await fetch(`http://127.0.0.1:${env.SKYFERRY_METRICS_PORT}/metrics`);
        assert.equal(metrics.status, 200);
        assert.match(await metrics.text(), new RegExp(`^process_resident_memory_bytes\\{service="${name}"\\} `, "m"));
      });
    }

    test("each service's health check command, run as compose runs it, passes", () => {
      assert.equal(started.length, ours.length, "the four services were started by this test");
      for (const name of ours) {
        const [kind, cmd, ...args] = project.services[name]!.healthcheck!.test!;
        assert.equal(kind, "CMD");
        assert.equal(cmd, "node");
        const out = spawnSync(process.execPath, args, { env: childEnv(envOf(name), hosts), encoding: "utf8", timeout: 10_000 });
        assert.equal(out.status, 0, `${name} health check: ${out.stderr}`);
      }
      const [, cmd, ...args] = project.services.oidc!.healthcheck!.test!;
      assert.equal(cmd, "node");
      // The container's 127.0.0.1 is compose's provider: here it listens on 127.0.0.2.
      const out = spawnSync(process.execPath, args.map((a) => a.replace("127.0.0.1:18090", `${hosts.oidc}:18090`)), { encoding: "utf8", timeout: 10_000 });
      assert.equal(out.status, 0, `oidc health check: ${out.stderr}`);
    });

    test("the gateway serves the console, and a person signs in through compose's provider (tokens from http://oidc:18090)", async () => {
      assert.equal(started.length, ours.length, "the four services were started by this test");
      const gateway = "http://127.0.0.1:8080";
      const page = await fetch(`${gateway}/`);
      assert.equal(page.status, 200);
      assert.match(await page.text(), /<html/i);
      const res = await fetch(`${gateway}/authnz/local/login`, { headers: { accept: "application/json" } });
      const body = (await res.json()) as { redirect_uri?: string };
      assert.equal(res.status, 200, JSON.stringify(body));
      const loginCookie = res.headers.getSetCookie().map((c) => c.split(";")[0]).join("; ");
      const authorize = new URL(body.redirect_uri!);
      assert.equal(authorize.origin + authorize.pathname, "http://localhost:18090/authorize");
      assert.equal(authorize.searchParams.get("client_id"), "skyferry-local");
      assert.equal(authorize.searchParams.get("redirect_uri"), "http://localhost:8080/authnz/local/callback");
      // The browser's localhost:18090 is the provider's published port: here, 127.0.0.2:18090.
      const signIn = new URL(`http://${hosts.oidc}:18090${authorize.pathname}${authorize.search}`);
      assert.match(await (await fetch(signIn)).text(), /name="username"/, "the sign-in page asks for a user name");
      signIn.searchParams.set("username", "compose-user");
      const back = await fetch(signIn, { redirect: "manual" });
      assert.equal(back.status, 302);
      const callback = new URL(back.headers.get("location")!);
      assert.equal(callback.origin + callback.pathname, "http://localhost:8080/authnz/local/callback");
      // authz exchanges the code at http://oidc:18090/token and checks the ID token's iss.
      const done = await fetch(`${gateway}${callback.pathname}${callback.search}`, { redirect: "manual", headers: { cookie: loginCookie } });
      assert.equal(done.status, 302, await done.text());
      const session = done.headers.getSetCookie().map((c) => c.split(";")[0]).join("; ");
      const me = await fetch(`${gateway}/api/users/current`, { headers: { cookie: session } });
      const user = (await me.json()) as { email?: string };
      assert.equal(me.status, 200, JSON.stringify(user));
      assert.equal(user.email, "compose-user@example.org");
    });
  });
});

describe("Dockerfile and .dockerignore", () => {
  const dockerfile = readFileSync(join(repo, "Dockerfile"), "utf8");

  test("every stage is based on Node 24 (node:24-bookworm-slim) and the service image runs as node", () => {
    assert.match(dockerfile, /^ARG NODE_IMAGE=node:24-bookworm-slim$/m);
    for (const [, from] of dockerfile.matchAll(/^FROM (\S+)/gm)) assert.equal(from, "${NODE_IMAGE}");
    const stages = [...dockerfile.matchAll(/^FROM \S+ AS (\S+)/gm)].map((m) => m[1]);
    assert.equal(stages.at(-1), "runtime", "the default (last) stage is the service image");
    assert.ok(stages.includes("oidc"), "a target for compose's OIDC provider");
    const runtime = dockerfile.slice(dockerfile.search(/^FROM \S+ AS runtime\b/m));
    assert.match(runtime, /^USER node$/m);
    // The runtime stage takes only the assembled tree (compiled JavaScript), nothing else.
    const copies = [...runtime.matchAll(/^COPY (.+)$/gm)].map((m) => m[1]);
    assert.deepEqual(copies, ["--from=build /out/ /app/"]);
    assert.match(dockerfile, /scripts\/tools\/runtime-tree\.mjs "\$\{SERVICE\}" \/out/);
    assert.match(dockerfile, /turbo run build --filter=@skyferry\/console/);
  });

  test(".dockerignore keeps dependencies, local state, data and secrets out of the build context", () => {
    const lines = readFileSync(join(repo, ".dockerignore"), "utf8").split("\n").map((l) => l.trim());
    for (const entry of ["node_modules", "**/node_modules", ".stack", ".data", ".test-results", ".git", ".env", "*.env", "**/*.pem", "**/*.key"]) {
      assert.ok(lines.includes(entry), `.dockerignore has ${entry}`);
    }
  });

  test("the oidc target installs exactly what the provider script imports, at the lockfile's versions", () => {
    const lock = JSON.parse(readFileSync(join(repo, "package-lock.json"), "utf8")) as { packages: Record<string, { version: string }> };
    const out = execFileSync(process.execPath, [join(repo, "scripts/tools/runtime-tree.mjs"), "--script-deps", join(repo, "scripts/stack/oidc-server.mjs"), join(repo, "package-lock.json")], { encoding: "utf8" });
    const deps = (JSON.parse(out) as { dependencies: Record<string, string> }).dependencies;
    assert.equal(deps["oauth2-mock-server"], lock.packages["node_modules/oauth2-mock-server"]!.version);
  });

  describe("the gateway image's /app (scripts/tools/runtime-tree.mjs, as the Dockerfile's build stage runs it)", () => {
    let tree = "";
    let gateway: { close: () => Promise<void>; logTail: () => string } | undefined;
    before(() => {
      tree = mkdtempSync(join(tmpdir(), "skyferry-image-gateway-"));
      execFileSync(process.execPath, [join(repo, "scripts/build-service.mjs"), "gateway"], { cwd: repo, stdio: "pipe" });
      execFileSync(process.execPath, [join(repo, "scripts/tools/runtime-tree.mjs"), "gateway", tree], { cwd: repo, stdio: "pipe" });
    });
    after(async () => {
      await gateway?.close();
      if (tree) rmSync(tree, { recursive: true, force: true });
    });

    test("holds compiled JavaScript only: no TypeScript sources, tests, tsx or build tools", () => {
      const files = readdirSync(tree, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => relative(tree, join(e.parentPath, e.name)));
      const ours = files.filter((f) => !f.startsWith("node_modules/"));
      assert.ok(ours.includes("services/gateway/dist/server.mjs"));
      for (const f of ours) assert.doesNotMatch(f, /\.(ts|tsx|mts|cts)$|\.test\.|(^|\/)(src|test)\//, `ships ${f}`);
      const packages = new Set(files.filter((f) => f.startsWith("node_modules/") && f.endsWith("/package.json")).map((f) => f.split("/node_modules/").at(-1)!.replace(/\/package\.json$/, "")));
      for (const dev of ["tsx", "esbuild", "typescript", "vite", "turbo", "eslint", "@skyferry/gateway", "@skyferry/contracts"]) assert.ok(!packages.has(dev), `no ${dev}`);
      const map = JSON.parse(readFileSync(join(tree, "services/gateway/dist/server.mjs.map"), "utf8")) as { sourcesContent?: unknown };
      assert.equal(map.sourcesContent, undefined, "the source map carries no TypeScript sources");
      assert.ok(existsSync(join(tree, "node_modules/@skyferry/console/dist/index.html")), "the built console is in the image");
    });

    test("runs from that tree alone and serves the console at /", async () => {
      const port = await freePort();
      // The local stack's NATS, as the gateway's identity (source .stack/env).
      const seeds = process.env.SKYFERRY_NATS_SEED_DIR;
      assert.ok(seeds && process.env.SKYFERRY_NATS_URL && process.env.SKYFERRY_ACTOR_SIGNING_KEY_FILE, "the local stack's env (source .stack/env)");
      const env: Record<string, string> = {
        ...imageEnv("gateway"),
        PORT: String(port),
        SKYFERRY_NATS_URL: process.env.SKYFERRY_NATS_URL,
        SKYFERRY_NATS_TLS_CA_FILE: process.env.SKYFERRY_NATS_TLS_CA_FILE ?? "",
        SKYFERRY_NATS_NKEY_SEED_FILE: join(seeds, "gateway.nk"),
        SKYFERRY_ACTOR_SIGNING_KEY_FILE: process.env.SKYFERRY_ACTOR_SIGNING_KEY_FILE,
        SKYFERRY_ACTOR_PUBLIC_KEY_FILE: process.env.SKYFERRY_ACTOR_PUBLIC_KEY_FILE ?? "",
        SKYFERRY_INTERNAL_TOKEN: "x".repeat(32),
      };
      const started = await startNode({
        label: "gateway from the image tree",
        cwd: tree,
        args: ["--enable-source-maps", join(tree, "services/gateway/dist/server.mjs")],
        env,
        hosts: {},
        ready: async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200,
      });
      gateway = started;
      const page = await fetch(`http://127.0.0.1:${port}/`);
      assert.equal(page.status, 200, started.logTail());
      assert.match(await page.text(), /<html/i);
    });
  });
});
