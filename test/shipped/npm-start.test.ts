// What we ship, as a person meets it: `npm start` (scripts/start.sh: the same processes, settings
// and OpenID Connect provider), then in Chromium through the console two users sign in on the
// stack's own provider page, create an API key, S3 and Azure authorizations and a history, upload,
// send to both providers and watch the jobs reach ok; the objects are read back with independent
// clients. Then the seed's curl steps (../shared/reference/send-data-to-cloud.md) against the same
// processes, and Ctrl-C. Nothing here starts a provider or a service of its own.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { CHROMIUM, launchChromium, openConsolePage, openNav, type PageProblems, screenshot } from "../browser/support/console.ts";
import { createS3Bucket, independentAzure, independentS3, readAzure, readS3, removeS3Buckets } from "../support/send.ts";
import { stackEnv } from "../support/stack-env.ts";
import { answers, curl, LOG, listenerGroup, type NpmStart, npmStart } from "./support/npm-start.ts";

// Only a missing Chromium skips (loudly); the console's dist is built by start.sh itself.
const blocked = existsSync(CHROMIUM) ? undefined : `${CHROMIUM} is missing: apt-get install -y chromium (scripts/stack/install.sh does it)`;
if (blocked) console.warn(`SKIPPING the as-shipped npm start suite: ${blocked}`);

/** The ports start.sh uses, fixed: gateway, authz, history, transfer-1, transfer-2. */
const PORTS = [8080, 8081, 8082, 8083, 8084];
/** Settings start.sh would take from the caller's shell instead of its own: a person's shell has none of them. */
const OVERRIDES = ["PORT", "SKYFERRY_PUBLIC_URL", "SKYFERRY_OIDC_PROVIDERS", "DATASET_STORE_DIR", "SKYFERRY_HISTORY_URL", "SKYFERRY_AWS_STS_ENDPOINT", "SKYFERRY_AWS_S3_ENDPOINT"];

interface User {
  label: string;
  name: string;
  /** What the person types in the provider's Email field (empty: left blank). */
  typedEmail: string;
  email: string;
  context?: BrowserContext;
  page?: Page;
  problems?: PageProblems;
  apiKey: string;
  history: { name: string; id: string };
  file: { name: string; body: Buffer };
  s3Authz: string;
  azureAuthz: string;
}

function newUser(label: string, withEmail: boolean): User {
  const name = `${label}-${randomBytes(4).toString("hex")}`;
  const typedEmail = withEmail ? `${name}@skyferry.test` : "";
  return {
    label, name, typedEmail,
    email: typedEmail || `${name}@example.org`,
    apiKey: "",
    history: { name: `Shipped run of ${name}`, id: "" },
    file: { name: `${label}-peaks.bed`, body: Buffer.from(`chr1\t100\t200\t${name}\n`.repeat(4000)) },
    s3Authz: `Ceph radosgw (${name})`,
    azureAuthz: `Azurite (${name})`,
  };
}

async function shot(user: User, step: string): Promise<void> {
  await screenshot(user.page!, `shipped-${user.label}-${step}`);
}

describe("npm start as shipped: two people sign in with the stack's provider and complete the seed", { skip: blocked }, () => {
  const stack = stackEnv();
  const suffix = randomBytes(4).toString("hex");
  const bucket = `shipped-${suffix}`;
  const container = `shipped-${suffix}`;
  const curlBucket = `shipped-curl-${suffix}`;
  const curlContainer = `shipped-curl-${suffix}`;
  const users = [newUser("u1", true), newUser("u2", false)];
  let started: NpmStart | undefined;
  let interrupted = false;
  let browser: Browser | undefined;
  let base = "";

  before(async () => {
    const set = OVERRIDES.filter((v) => process.env[v] !== undefined);
    assert.deepEqual(set, [], `these would change what npm start runs; a person's shell does not set them: ${set.join(", ")}`);
    const busy = [];
    for (const p of PORTS) if (await answers(p)) busy.push(p);
    assert.deepEqual(busy, [], `start.sh's fixed ports already answer (another npm start running?): ${busy.join(", ")}`);
    started = await npmStart();
    base = started.url;
    await createS3Bucket(independentS3(), bucket);
    await createS3Bucket(independentS3(), curlBucket);
    await independentAzure().getContainerClient(container).create();
    await independentAzure().getContainerClient(curlContainer).create();
    browser = await launchChromium();
  });
  after(async () => {
    for (const u of users) await u.context?.close();
    await browser?.close();
    if (started && !interrupted) {
      await started.interrupt(30_000).catch(() => undefined);
      started.kill();
    }
    await removeS3Buckets(independentS3(), [bucket, curlBucket]).catch(() => undefined);
    for (const c of [container, curlContainer]) await independentAzure().getContainerClient(c).deleteIfExists().catch(() => undefined);
  });

  test("npm start comes up: its own five services hold the ports and the gateway offers the stack's provider as 'local'", async () => {
    assert.equal(base, "http://localhost:8080");
    assert.equal(started!.exitCode(), undefined, `start.sh is still running; its output (${LOG}):\n${started!.output()}`);
    for (const port of PORTS) {
      const holder = listenerGroup(port);
      assert.equal(holder?.pgid, started!.pgid, `port ${port} is held by npm start's own service, not ${holder ? `pid ${holder.pid} (${holder.args})` : "nobody"}; start.sh's output (${LOG}):\n${started!.output()}`);
    }
    const providers = await curl([`${base}/authnz/providers`]);
    assert.equal(providers.status, 200, providers.text);
    const names = (providers.body as Array<{ name: string }>).map((p) => p.name);
    assert.deepEqual(names, ["local"]);
    const status = await curl([`${base}/api/status`]);
    assert.equal(status.status, 200, status.text);
  });

  test("each service is on NATS as its own identity (its own NKey), over TLS", async () => {
    // The stack's nats.conf names the monitoring address (loopback); connz shows who authenticated.
    const seeds = stack.nats.seedDir;
    const conf = readFileSync(join(seeds, "..", "nats.conf"), "utf8");
    const monitor = /^http: "([^"]+)"$/m.exec(conf)?.[1];
    assert.ok(monitor, "the stack's NATS has a monitoring address");
    const connz = (await (await fetch(`http://${monitor}/connz?auth=true&limit=1024`)).json()) as { connections: Array<{ name?: string; authorized_user?: string; tls_version?: string; pid?: number }> };
    for (const svc of ["gateway", "authz", "history", "transfer"]) {
      const mine = connz.connections.filter((c) => c.name === `skyferry-${svc}`);
      assert.ok(mine.length >= 1, `${svc} is connected: ${JSON.stringify(connz.connections.map((c) => c.name))}`);
      const key = readFileSync(join(seeds, `${svc}.pub`), "utf8").trim();
      for (const c of mine) {
        assert.equal(c.authorized_user, key, `${svc} authenticated with its own NKey`);
        assert.ok(c.tls_version, `${svc} speaks TLS`);
      }
    }
  });

  for (const user of users) {
    const u = user.label;

    test(`${u} signs in on the provider's own page in Chromium (${user.typedEmail ? "typing an email" : "no email"}) and lands signed in`, async () => {
      ({ context: user.context, page: user.page, problems: user.problems } = await openConsolePage(browser!));
      const page = user.page!;
      page.setDefaultTimeout(30_000);
      await page.goto(`${base}/`);
      await page.getByRole("heading", { name: "Sign in", level: 1 }).waitFor();
      await shot(user, "01-console-sign-in");
      await page.getByRole("link", { name: "Sign in with Local" }).click();
      await page.waitForURL((url) => url.href.startsWith(`${stack.oidcIssuer}/authorize`));
      await page.getByRole("heading", { name: "Sign in" }).waitFor();
      await page.getByLabel("User name").fill(user.name);
      if (user.typedEmail) await page.getByLabel("Email (optional)").fill(user.typedEmail);
      await shot(user, "02-provider-sign-in");
      await page.getByRole("button", { name: "Sign in" }).click();
      await page.waitForURL((url) => url.href.startsWith(base));
      const shown = page.getByTestId("user-email");
      await Promise.race([
        shown.waitFor(),
        page.getByRole("alert").first().waitFor().then(async () => assert.fail(`sign-in refused: ${await page.getByRole("alert").first().textContent()}`)),
      ]);
      assert.equal(await shown.textContent(), user.email);
      await page.getByRole("heading", { name: "Histories", level: 1 }).waitFor();
      await shot(user, "03-signed-in");
    });

    test(`${u} creates an API key that works for scripts`, async () => {
      const page = user.page!;
      await openNav(page, "API key");
      await page.getByRole("button", { name: "Create a key" }).click();
      const field = page.getByLabel(/Your new API key/);
      await field.waitFor();
      user.apiKey = await field.inputValue();
      assert.match(user.apiKey, /^[0-9a-f]{32,128}$/);
      await shot(user, "04-api-key");
      const me = await curl([`${base}/api/users/current?key=${user.apiKey}`]);
      assert.equal(me.status, 200, me.text);
      assert.equal((me.body as { email: string }).email, user.email);
    });

    test(`${u} creates an S3 authorization for the stack's radosgw and its access test passes`, async () => {
      const page = user.page!;
      await openNav(page, "Cloud authorizations");
      await page.getByRole("button", { name: "New authorization" }).click();
      const provider = page.getByLabel("Provider");
      const kinds = await provider.locator("option").evaluateAll((os) => os.map((o) => (o as unknown as { value: string }).value));
      assert.deepEqual([...kinds].sort(), ["aws", "azure", "s3"], "the kinds the form offers");
      await provider.selectOption("s3");
      await page.getByLabel("Description").fill(user.s3Authz);
      await page.getByLabel(/^Endpoint/).fill(stack.s3.endpoint);
      await page.getByLabel(/^Access key id/).fill(stack.s3.accessKeyId);
      await page.getByLabel(/^Secret access key/).fill(stack.s3.secretAccessKey);
      // Ceph wants the bucket in the path; the form ticks this by default.
      await page.getByRole("checkbox", { name: /Path-style URLs/ }).check();
      await shot(user, "05-authz-s3-form");
      await page.getByRole("button", { name: "Create authorization" }).click();
      const item = page.getByTestId("authz-item").filter({ hasText: user.s3Authz });
      await Promise.race([item.waitFor(), page.getByRole("alert").first().waitFor().then(async () => assert.fail(`refused: ${await page.getByRole("alert").first().textContent()}`))]);
      await item.getByLabel("Bucket (optional)").fill(bucket);
      await item.getByRole("button", { name: "Test access" }).click();
      await item.getByTestId("test-result").getByText(`Access works (bucket ${bucket}`).waitFor();
      await shot(user, "06-authz-s3");
    });

    test(`${u} creates an Azure authorization for the stack's Azurite with the account key and its access test passes`, async () => {
      const page = user.page!;
      await page.getByRole("button", { name: "New authorization" }).click();
      await page.getByLabel("Provider").selectOption("azure");
      await page.getByLabel("Description").fill(user.azureAuthz);
      await page.getByLabel(/^Storage account/).fill(stack.azure.account);
      await page.getByLabel(/^Blob endpoint/).fill(stack.azure.endpoint);
      await page.getByRole("radio", { name: "Account key" }).check();
      await page.locator("#authz-account_key").fill(stack.azure.key);
      await shot(user, "07-authz-azure-form");
      await page.getByRole("button", { name: "Create authorization" }).click();
      const item = page.getByTestId("authz-item").filter({ hasText: user.azureAuthz });
      await Promise.race([item.waitFor(), page.getByRole("alert").first().waitFor().then(async () => assert.fail(`refused: ${await page.getByRole("alert").first().textContent()}`))]);
      await item.getByLabel("Container (optional)").fill(container);
      await item.getByRole("button", { name: "Test access" }).click();
      await item.getByTestId("test-result").getByText(`Access works (container ${container}`).waitFor();
      await shot(user, "08-authz-list");
    });

    test(`${u} creates a history and uploads a file into it`, async () => {
      const page = user.page!;
      await openNav(page, "Histories");
      await page.getByLabel("New history").fill(user.history.name);
      await page.getByRole("button", { name: "Create history" }).click();
      await page.getByRole("heading", { name: user.history.name, level: 1 }).waitFor();
      await page.getByLabel("Files to upload").setInputFiles({ name: user.file.name, mimeType: "text/plain", buffer: user.file.body });
      await page.locator("[data-testid=upload-item][data-state=done]").waitFor({ timeout: 60_000 });
      await page.getByTestId("dataset-row").filter({ hasText: user.file.name }).getByText("ok", { exact: true }).waitFor();
      await shot(user, "09-history-uploaded");
      const listed = await curl([`${base}/api/histories?key=${user.apiKey}`]);
      assert.equal(listed.status, 200, listed.text);
      const mine = (listed.body as Array<{ id: string; name: string }>).find((h) => h.name === user.history.name);
      assert.ok(mine, `the history is listed: ${listed.text}`);
      user.history.id = mine.id;
    });

    for (const target of ["s3", "azure"] as const) {
      test(`${u} sends the history to ${target === "s3" ? "an S3 bucket" : "an Azure container"}, the job reaches ok and the object reads back byte for byte`, async () => {
        const page = user.page!;
        await openNav(page, "Send");
        const option = page.locator("#send-history option", { hasText: user.history.name });
        await page.getByLabel("History", { exact: true }).selectOption((await option.getAttribute("value"))!);
        await page.getByLabel("Authorization").selectOption({ label: `${target}: ${target === "s3" ? user.s3Authz : user.azureAuthz}` });
        await page.getByLabel("Bucket or container").fill(target === "s3" ? bucket : container);
        await page.getByLabel("Prefix").fill(`${user.name}/`);
        await shot(user, `10-send-${target}`);
        await page.getByRole("button", { name: "Send", exact: true }).click();
        await page.getByRole("heading", { name: "Jobs of this send" }).waitFor();
        const job = page.getByTestId("job");
        await job.first().waitFor();
        assert.equal(await job.count(), 1);
        await Promise.race([
          page.locator("[data-testid=job][data-state=ok]").waitFor({ timeout: 120_000 }),
          page.locator("[data-testid=job][data-state=error]").waitFor({ timeout: 120_000 }).then(async () => assert.fail(`the job failed: ${await job.textContent()}`)),
        ]);
        await shot(user, `11-jobs-${target}`);
        const key = (await job.getAttribute("data-object-key")) ?? "";
        assert.equal(key, `${user.name}/${user.file.name}`);
        const got = target === "s3" ? await readS3(independentS3(), bucket, key) : await readAzure(independentAzure(), container, key);
        assert.deepEqual(got.body, user.file.body);
      });
    }
  }

  test("the same user name is the same user: u1 signs in again in a fresh browser and finds their history", async () => {
    const u1 = users[0]!;
    const again = await openConsolePage(browser!);
    try {
      const page = again.page;
      page.setDefaultTimeout(30_000);
      await page.goto(`${base}/`);
      await page.getByRole("link", { name: "Sign in with Local" }).click();
      await page.waitForURL((url) => url.href.startsWith(`${stack.oidcIssuer}/authorize`));
      await page.getByLabel("User name").fill(u1.name);
      await page.getByLabel("Email (optional)").fill(u1.typedEmail);
      await page.getByRole("button", { name: "Sign in" }).click();
      await page.getByTestId("user-email").filter({ hasText: u1.email }).waitFor();
      await page.getByTestId("history-row").filter({ hasText: u1.history.name }).waitFor();
      await screenshot(page, "shipped-u1-12-signed-in-again");
      assert.deepEqual(again.problems.errors, []);
    } finally {
      await again.context.close();
    }
  });

  test("u2 cannot see u1's history or authorizations: the API answers 404 with u2's key", async () => {
    const [u1, u2] = users as [User, User];
    const other = await curl([`${base}/api/histories/${u1.history.id}?key=${u2.apiKey}`]);
    assert.equal(other.status, 404, other.text);
    assert.equal(typeof (other.body as { err_code: number }).err_code, "number");
    const own = await curl([`${base}/api/histories/${u1.history.id}?key=${u1.apiKey}`]);
    assert.equal(own.status, 200, own.text);
    const listed = await curl([`${base}/api/histories?key=${u2.apiKey}`]);
    assert.ok(!(listed.body as Array<{ id: string }>).some((h) => h.id === u1.history.id), "not in u2's list");
    const authz = await curl([`${base}/api/cloud/authz?key=${u2.apiKey}`]);
    const descriptions = (authz.body as Array<{ description?: string }>).map((a) => a.description);
    assert.ok(!descriptions.includes(u1.s3Authz) && !descriptions.includes(u1.azureAuthz), `u2 sees only their own authorizations: ${authz.text}`);
  });

  test("the seed's curl steps with u1's API key, against the same processes: authz, histories, send, jobs, object read back", async () => {
    const u1 = users[0]!;
    const key = u1.apiKey;
    const json = ["-H", "content-type: application/json"];
    // Step 2 by script: the same S3 configuration u1 defined in the console is refused as a
    // duplicate, with Galaxy's error body naming the existing authorization.
    const duplicate = await curl(["-X", "POST", ...json, `${base}/api/cloud/authz?key=${key}`, "-d", JSON.stringify({
      provider: "s3", description: "duplicate by curl",
      config: { endpoint: stack.s3.endpoint, region: stack.s3.region, access_key_id: stack.s3.accessKeyId, secret_access_key: stack.s3.secretAccessKey, force_path_style: true },
    })]);
    assert.equal(duplicate.status, 400, duplicate.text);
    const refusal = duplicate.body as { err_msg: string; err_code: number };
    assert.equal(refusal.err_code, 400008, duplicate.text);
    const existing = /\(id ([0-9a-f]{16})\)/.exec(refusal.err_msg)?.[1];
    assert.ok(existing, duplicate.text);
    // ... and a configuration of its own (the same radosgw, named by host name) is created.
    const created = await curl(["-X", "POST", ...json, `${base}/api/cloud/authz?key=${key}`, "-d", JSON.stringify({
      provider: "s3", description: "by curl",
      config: { endpoint: stack.s3.endpoint.replace("127.0.0.1", "localhost"), region: stack.s3.region, access_key_id: stack.s3.accessKeyId, secret_access_key: stack.s3.secretAccessKey, force_path_style: true },
    })]);
    assert.equal(created.status, 200, created.text);
    const createdId = (created.body as { id: string; model_class: string }).id;
    assert.match(createdId, /^[0-9a-f]{16}$/, created.text);
    // 4.3 GET /api/histories: note the id.
    const histories = await curl([`${base}/api/histories?key=${key}`]);
    assert.equal(histories.status, 200, histories.text);
    const h = (histories.body as Array<{ id: string; name: string; model_class: string; url: string; deleted: boolean }>).find((x) => x.id === u1.history.id);
    assert.ok(h, histories.text);
    assert.equal(h.model_class, "History");
    assert.equal(h.url, `/api/histories/${h.id}`);
    assert.equal(h.deleted, false);
    // A second dataset, uploaded with curl.
    const dir = await mkdtemp(join(tmpdir(), "shipped-curl-"));
    const file = { name: "rep1.bed", body: Buffer.from("chr1\t100\t200\tpeak1\nchr1\t300\t400\tpeak2\n") };
    try {
      await writeFile(join(dir, file.name), file.body);
      const up = await curl(["-X", "POST", `${base}/api/histories/${h.id}/contents?key=${key}`, "-F", `file=@${join(dir, file.name)}`]);
      assert.equal(up.status, 200, up.text);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    // 4.4 GET /api/cloud/authz: the console's and the script's, no secret shown.
    const authz = await curl([`${base}/api/cloud/authz?key=${key}`]);
    assert.equal(authz.status, 200, authz.text);
    const list = authz.body as Array<{ id: string; model_class: string; provider: string; description?: string }>;
    const s3Authz = list.find((a) => a.id === existing);
    assert.ok(s3Authz, authz.text);
    assert.equal(s3Authz.model_class, "CloudAuthz");
    assert.equal(s3Authz.provider, "s3");
    assert.equal(s3Authz.description, u1.s3Authz, "the duplicate is the one defined in the console");
    assert.ok(list.some((a) => a.id === createdId && a.provider === "s3" && a.model_class === "CloudAuthz"), `the one created by curl is listed: ${authz.text}`);
    const azureAuthz = list.find((a) => a.provider === "azure" && a.description === u1.azureAuthz);
    assert.ok(azureAuthz, `the console's Azure authorization is listed: ${authz.text}`);
    for (const secret of [stack.s3.secretAccessKey, stack.azure.key]) assert.ok(!authz.text.includes(secret), "no secret in the listing");
    // 4.5-4.6 POST /api/cloud/storage/send?key=... with the seed's body, to S3 and to Azure.
    for (const [authzIdOf, target, provider] of [[createdId, curlBucket, "s3"], [azureAuthz.id, curlContainer, "azure"]] as const) {
      const sent = await curl(["-X", "POST", ...json, `${base}/api/cloud/storage/send?key=${key}`, "-d", JSON.stringify({ history_id: h.id, authz_id: authzIdOf, bucket: target })]);
      assert.equal(sent.status, 200, sent.text);
      const body = sent.body as { sent_dataset_labels: string[]; failed_dataset_labels: string[]; bucket_name: string };
      assert.equal(body.bucket_name, target);
      assert.deepEqual(body.failed_dataset_labels, []);
      const labels = body.sent_dataset_labels.map((l) => {
        assert.match(l, /^\{"object": "[^"]+", "job_id": "[0-9a-f]{16}"\}$/);
        return JSON.parse(l) as { object: string; job_id: string };
      });
      assert.deepEqual(labels.map((l) => l.object), [u1.file.name, file.name], "hid order");
      for (const [i, label] of labels.entries()) {
        const deadline = Date.now() + 120_000;
        let job: { state: string; object_key: string; error: unknown } = { state: "", object_key: "", error: null };
        while (Date.now() < deadline) {
          const got = await curl([`${base}/api/jobs/${label.job_id}?key=${key}`]);
          assert.equal(got.status, 200, got.text);
          job = got.body as typeof job;
          if (["ok", "error", "deleted"].includes(job.state)) break;
          await new Promise((r) => setTimeout(r, 250));
        }
        assert.equal(job.state, "ok", `${provider} ${label.object}: ${JSON.stringify(job)}`);
        const expected = i === 0 ? u1.file.body : file.body;
        const read = provider === "s3" ? await readS3(independentS3(), target, job.object_key) : await readAzure(independentAzure(), target, job.object_key);
        assert.deepEqual(read.body, expected, `${provider} ${label.object}: bytes`);
      }
    }
  });

  test("raised no page errors and no Content-Security-Policy violations in either user's console", () => {
    for (const u of users) {
      assert.deepEqual(u.problems?.errors, [], `${u.label}: page errors`);
      assert.deepEqual(u.problems?.cspViolations, [], `${u.label}: CSP violations`);
    }
  });

  test("Ctrl-C stops everything npm start started: start.sh exits and its ports stop answering", async () => {
    for (const u of users) await u.context?.close();
    users.forEach((u) => (u.context = undefined));
    interrupted = true;
    const code = await started!.interrupt(60_000);
    // 0 today; 130 (128 + SIGINT) is the other clean answer to Ctrl-C.
    assert.ok(code === 0 || code === 130, `start.sh's exit code after Ctrl-C is ${String(code)}; its output:\n${started!.output()}`);
    const still = [];
    for (const p of PORTS) if (await answers(p)) still.push(p);
    assert.deepEqual(still, [], `still answering after Ctrl-C: ${still.join(", ")}`);
    assert.match(started!.output(), /stopping services/);
  });
});
