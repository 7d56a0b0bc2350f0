// The seed's flow, end to end through the web console in a real browser: sign in with OpenID
// Connect, create an API key, define S3 and Azure authorizations, upload two files by
// drag-and-drop, send them to both providers and watch the jobs reach ok.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import { after, before, describe, test } from "node:test";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { type MockOidc, oidcEnv, startOidcProvider } from "../support/auth.ts";
import { type SlowLink, startSlowLink } from "../support/slow-link.ts";
import { createS3Bucket, independentAzure, independentS3, readAzure, readS3 } from "../support/send.ts";
import { stackEnv, stackOutboundAllow } from "../support/stack-env.ts";
import { startSystem, type System } from "../support/system.ts";
import { browserTestsBlocked, horizontalOverflow, launchChromium, openConsolePage, openNav, type PageProblems, screenshot, signInThroughConsole } from "./support/console.ts";

/** The few browser globals used inside page functions (this workspace compiles without the DOM lib). */
interface BrowserGlobals {
  DataTransfer: new () => { items: { add(file: unknown): void } };
  File: new (parts: Uint8Array[], name: string, options: { type: string }) => unknown;
  atob(b64: string): string;
  navigator: { clipboard: { readText(): Promise<string> } };
}

const blocked = browserTestsBlocked();
if (blocked) console.warn(`SKIPPING the console's browser tests: ${blocked}`);

describe("the console: the seed flow in a browser", { skip: blocked }, () => {
  let oidc: MockOidc;
  let sys: System;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let problems: PageProblems;
  const user = { sub: `seed-${randomBytes(4).toString("hex")}`, email: `seed-${randomBytes(4).toString("hex")}@example.org` };
  const bucket = `console-${randomBytes(5).toString("hex")}`;
  const container = `console-${randomBytes(5).toString("hex")}`;
  const files = [
    { name: "rep1.bed", body: Buffer.from("chr1\t100\t200\tpeak1\nchr1\t300\t400\tpeak2\n") },
    // Big enough (about 340 kB) for the upload and send progress bars to move.
    { name: "rep2.bed", body: Buffer.from("chr2\t50\t90\tpeak4\n".repeat(20_000)) },
  ];
  let apiKey = "";

  let link: SlowLink;
  before(async () => {
    oidc = await startOidcProvider();
    // The upload of "follows a running job live" goes through a link throttled to 16 MiB/s, so the
    // job runs ~6 s however fast the machine is and the page sees several progress events (one
    // every 500 ms) before the end. A loopback server the operator allowlists, like the stack's own.
    link = await startSlowLink(stackEnv().s3.endpoint, 16 * 1024 * 1024);
    const allow = { SKYFERRY_OUTBOUND_ALLOW: stackOutboundAllow(new URL(link.url).host) };
    sys = await startSystem({ label: "console-seed", env: { authz: { ...oidcEnv(oidc), ...allow }, transfer: allow } });
    await createS3Bucket(independentS3(), bucket);
    await independentAzure().getContainerClient(container).create();
    browser = await launchChromium();
    ({ context, page, problems } = await openConsolePage(browser));
    page.setDefaultTimeout(20_000);
  });
  after(async () => {
    await context?.close();
    await browser?.close();
    await sys?.close();
    await oidc?.close();
    await link?.close();
  });

  test("signs in with the configured provider and lands on the histories page", async () => {
    await page.goto(`${sys.url}/`);
    await page.getByRole("heading", { name: "Sign in" }).waitFor();
    await screenshot(page, "01-sign-in");
    await signInThroughConsole(page, sys, user);
    await page.getByRole("heading", { name: "Histories", level: 1 }).waitFor();
    assert.equal(await page.getByTestId("user-email").textContent(), user.email);
  });

  test("creates an API key that is shown once and works for scripts", async () => {
    await openNav(page, "API key");
    await page.getByTestId("key-status").filter({ hasText: "You have no API key." }).waitFor();
    await page.getByRole("button", { name: "Create a key" }).click();
    const field = page.getByLabel(/Your new API key/);
    await field.waitFor();
    apiKey = await field.inputValue();
    assert.match(apiKey, /^[0-9a-f]{32,128}$/);
    // The page now shows the current key (masked) and its creation date.
    await page.getByTestId("key-status").filter({ hasText: "was created on" }).waitFor();
    const masked = (await page.getByTestId("key-status").textContent()) ?? "";
    assert.ok(!masked.includes(apiKey), "the stored key is shown masked, never in full again");
    await page.getByRole("button", { name: "Copy" }).click();
    await page.getByRole("status").filter({ hasText: "Copied to the clipboard." }).waitFor();
    assert.equal(await page.evaluate(() => (globalThis as unknown as BrowserGlobals).navigator.clipboard.readText()), apiKey);
    await screenshot(page, "02-api-key");
    const me = await fetch(`${sys.url}/api/users/current`, { headers: { "x-api-key": apiKey } });
    assert.equal(me.status, 200);
    assert.equal(((await me.json()) as { email: string }).email, user.email);
  });

  test("creates an S3 authorization, validating fields as they are typed, and tests access to the bucket", async () => {
    const { s3 } = stackEnv();
    await openNav(page, "Cloud authorizations");
    await page.getByRole("button", { name: "New authorization" }).click();
    await page.getByLabel("Provider").selectOption("s3");
    const endpoint = page.getByLabel(/^Endpoint/);
    await endpoint.fill("not a url");
    await page.getByText("Endpoint must be an http(s) URL").waitFor();
    assert.equal(await endpoint.getAttribute("aria-invalid"), "true");
    await endpoint.fill(s3.endpoint);
    assert.equal(await page.getByText("Endpoint must be an http(s) URL").count(), 0);
    await page.getByLabel("Description").fill("Ceph on this machine");
    await page.getByLabel(/^Access key id/).fill(s3.accessKeyId);
    await page.getByLabel(/^Secret access key/).fill(s3.secretAccessKey);
    await page.getByRole("button", { name: "Create authorization" }).click();
    const item = page.getByTestId("authz-item").filter({ hasText: "Ceph on this machine" });
    await Promise.race([item.waitFor(), page.getByRole("alert").waitFor().then(async () => assert.fail(`refused: ${await page.getByRole("alert").first().textContent()}`))]);
    assert.ok(!((await item.textContent()) ?? "").includes(s3.secretAccessKey), "the secret is never shown back");
    await item.getByLabel("Bucket (optional)").fill(bucket);
    await item.getByRole("button", { name: "Test access" }).click();
    await item.getByTestId("test-result").getByText(`Access works (bucket ${bucket}`).waitFor({ timeout: 30_000 });
    await screenshot(page, "03-cloud-authz-s3");
  });

  test("creates an Azure authorization with the account key", async () => {
    const { azure } = stackEnv();
    await page.getByRole("button", { name: "New authorization" }).click();
    await page.getByLabel("Provider").selectOption("azure");
    await page.getByLabel("Description").fill("Azurite");
    await page.getByLabel(/^Storage account/).fill("Not_Valid");
    await page.getByText("Storage account must be 3-24 lowercase letters and digits").waitFor();
    await page.getByLabel(/^Storage account/).fill(azure.account);
    await page.getByLabel(/^Blob endpoint/).fill(azure.endpoint);
    await page.getByRole("radio", { name: "Account key" }).check();
    await page.locator("#authz-account_key").fill(azure.key);
    await screenshot(page, "04-cloud-authz-azure-form");
    await page.getByRole("button", { name: "Create authorization" }).click();
    const item = page.getByTestId("authz-item").filter({ hasText: "Azurite" });
    await item.waitFor();
    await item.getByLabel("Container (optional)").fill(container);
    await item.getByRole("button", { name: "Test access" }).click();
    await item.getByTestId("test-result").getByText(`Access works (container ${container}`).waitFor({ timeout: 30_000 });
    await screenshot(page, "05-cloud-authz-list");
  });

  test("the aws form asks for a role ARN and the identity the role trusts, checking as you type", async () => {
    await page.getByRole("button", { name: "New authorization" }).click();
    await page.getByLabel("Provider").selectOption("aws");
    await page.getByLabel(/^Role ARN/).fill("arn:aws:s3:::not-a-role");
    await page.getByText("Role ARN must be like arn:aws:iam::123456789012:role/name").waitFor();
    await page.getByLabel(/^Credential lifetime/).fill("60");
    await page.getByText("Credential lifetime (seconds) must be 900 to 43200").waitFor();
    const identity = page.getByLabel("Identity");
    assert.match((await identity.locator("option:checked").textContent()) ?? "", new RegExp(`mock: ${user.email}`), "the signed-in identity is offered");
    await page.getByLabel(/^Role ARN/).fill("arn:aws:iam::123456789012:role/skyferry");
    await page.getByLabel(/^Credential lifetime/).fill("3600");
    assert.equal(await page.locator(".field-error").count(), 0, "no complaint once the values are valid");
    await screenshot(page, "04a-cloud-authz-aws-form");
    await page.getByRole("button", { name: "Cancel" }).click();
  });

  test("edits an authorization: the masked secret sent back keeps its value", async () => {
    const item = page.getByTestId("authz-item").filter({ hasText: "Ceph on this machine" });
    await item.getByRole("button", { name: "Edit" }).click();
    const form = page.getByTestId("authz-form");
    assert.match(await form.locator("#authz-secret_access_key").inputValue(), /^\*{4}/, "the secret comes back masked");
    await form.getByLabel("Description").fill("Ceph (edited)");
    await screenshot(page, "05a-cloud-authz-edit");
    await form.getByRole("button", { name: "Save changes" }).click();
    const edited = page.getByTestId("authz-item").filter({ hasText: "Ceph (edited)" });
    await edited.waitFor();
    await edited.getByLabel("Bucket (optional)").fill(bucket);
    await edited.getByRole("button", { name: "Test access" }).click();
    await edited.getByTestId("test-result").getByText(`Access works (bucket ${bucket}`).waitFor({ timeout: 30_000 });
  });

  test("creates, renames and deletes a history", async () => {
    await openNav(page, "Histories");
    await page.getByLabel("New history").fill("Scratch");
    await page.getByRole("button", { name: "Create history" }).click();
    await page.getByRole("heading", { name: "Scratch", level: 1 }).waitFor();
    await openNav(page, "Histories");
    await page.getByRole("button", { name: "Rename Scratch" }).click();
    await page.getByLabel("New name").fill("Scratch renamed");
    await page.getByRole("button", { name: "Save" }).click();
    const row = page.getByTestId("history-row").filter({ hasText: "Scratch renamed" });
    await row.waitFor();
    await row.getByRole("button", { name: "Delete Scratch renamed" }).click();
    await row.waitFor({ state: "detached" });
    const listed = await fetch(`${sys.url}/api/histories`, { headers: { "x-api-key": apiKey } });
    assert.ok(!((await listed.json()) as Array<{ name: string }>).some((h) => h.name.startsWith("Scratch")));
  });

  test("creates a history and uploads two files by drag-and-drop with a progress bar each", async () => {
    await openNav(page, "Histories");
    await page.getByLabel("New history").fill("Seed run");
    await page.getByRole("button", { name: "Create history" }).click();
    await page.getByRole("heading", { name: "Seed run", level: 1 }).waitFor();
    // A drop event carrying two files, as a person dragging them from the desktop would cause.
    const dataTransfer = await page.evaluateHandle((list: Array<{ name: string; b64: string }>) => {
      const w = globalThis as unknown as BrowserGlobals;
      const dt = new w.DataTransfer();
      for (const f of list) dt.items.add(new w.File([Uint8Array.from(w.atob(f.b64), (c) => c.charCodeAt(0))], f.name, { type: "text/plain" }));
      return dt;
    }, files.map((f) => ({ name: f.name, b64: f.body.toString("base64") })));
    await page.getByTestId("dropzone").dispatchEvent("drop", { dataTransfer });
    await page.getByTestId("upload-item").first().waitFor();
    assert.equal(await page.getByTestId("upload-item").count(), 2);
    assert.equal(await page.locator("[data-testid=upload-item] progress").count(), 2);
    await page.locator("[data-testid=upload-item][data-state=done]").nth(1).waitFor({ timeout: 60_000 });
    for (const f of files) {
      const row = page.getByTestId("dataset-row").filter({ hasText: f.name });
      await row.getByText("ok", { exact: true }).waitFor({ timeout: 30_000 });
      const [hid, , datatype, size] = await row.locator("td").allTextContents();
      assert.match(hid ?? "", /^\d+$/);
      assert.ok(datatype && datatype.length > 0, "a datatype is shown");
      assert.match(size ?? "", /^\d+(\.\d)? k?B$/i);
    }
    const download = page.waitForEvent("download");
    await page.getByRole("link", { name: `Download ${files[0]!.name}` }).click();
    const saved = await (await download).path();
    assert.deepEqual(await readFile(saved), files[0]!.body, "the download is the uploaded file");
    await screenshot(page, "06-history-contents");
    await openNav(page, "Histories");
    await page.getByTestId("history-row").filter({ hasText: "Seed run" }).waitFor();
    await screenshot(page, "07-histories");
  });

  test("sends the whole history to S3 and follows the jobs until ok", async () => {
    await openNav(page, "Send");
    const historyOption = page.locator("#send-history option", { hasText: "Seed run" });
    await page.getByLabel("History", { exact: true }).selectOption((await historyOption.getAttribute("value"))!);
    await page.getByLabel("Authorization").selectOption({ label: "s3: Ceph (edited)" });
    await page.getByLabel("Bucket or container").fill(bucket);
    await page.getByLabel("Prefix").fill("seed/");
    await screenshot(page, "08-send");
    await page.getByRole("button", { name: "Send", exact: true }).click();
    await page.getByRole("heading", { name: "Jobs of this send" }).waitFor();
    const jobs = page.getByTestId("job");
    await jobs.first().waitFor();
    assert.equal(await jobs.count(), 2);
    await page.locator("[data-testid=job][data-state=ok]").nth(1).waitFor({ timeout: 90_000 });
    await screenshot(page, "09-jobs-s3");
    const s3 = independentS3();
    const keys = await okObjectKeys(page);
    assert.deepEqual(keys.sort(), files.map((f) => `seed/${f.name}`).sort());
    for (const f of files) assert.deepEqual((await readS3(s3, bucket, `seed/${f.name}`)).body, f.body);
  });

  test("sends the two datasets picked by hand to Azure and follows the jobs until ok", async () => {
    await openNav(page, "Send");
    await page.getByLabel("Only the datasets I pick").check();
    for (const f of files) await page.getByLabel(new RegExp(`: ${f.name.replace(".", "\\.")}`)).check();
    await page.getByLabel("Authorization").selectOption({ label: "azure: Azurite" });
    await page.getByLabel("Bucket or container").fill(container);
    await page.getByLabel("Key template").fill("{history_name}/{hid}_{name}");
    await page.getByRole("button", { name: "Send", exact: true }).click();
    await page.getByRole("heading", { name: "Jobs of this send" }).waitFor();
    await page.locator("[data-testid=job][data-state=ok]").nth(1).waitFor({ timeout: 90_000 });
    await screenshot(page, "10-jobs-azure");
    const az = independentAzure();
    const keys = await okObjectKeys(page);
    assert.equal(keys.length, 2);
    for (const f of files) {
      const key = keys.find((k) => k.endsWith(`_${f.name}`) && k.includes("/"));
      assert.ok(key, `a job stored ${f.name} under {history_name}/{hid}_{name} (keys: ${keys.join(", ")})`);
      assert.deepEqual((await readAzure(az, container, key)).body, f.body);
    }
  });

  test("follows a running job live over Server-Sent Events: progress bar, bytes and rate", async () => {
    const s3Env = stackEnv().s3;
    const slow = await fetch(`${sys.url}/api/cloud/authz`, {
      method: "POST",
      headers: { "x-api-key": apiKey, "content-type": "application/json" },
      body: JSON.stringify({
        provider: "s3", description: "Ceph over a slow link",
        config: { endpoint: link.url, access_key_id: s3Env.accessKeyId, secret_access_key: s3Env.secretAccessKey, region: s3Env.region, force_path_style: true },
      }),
    });
    assert.equal(slow.status, 200, await slow.clone().text());
    const big = randomBytes(96 * 1024 * 1024);
    const histories = (await (await fetch(`${sys.url}/api/histories`, { headers: { "x-api-key": apiKey } })).json()) as Array<{ id: string; name: string }>;
    const seed = histories.find((h) => h.name === "Seed run")!;
    const form = new FormData();
    form.append("file", new Blob([big]), "big.bin");
    const up = await fetch(`${sys.url}/api/histories/${seed.id}/contents`, { method: "POST", headers: { "x-api-key": apiKey }, body: form });
    assert.equal(up.status, 200, await up.text());
    await openNav(page, "Send");
    await page.getByLabel("Only the datasets I pick").check();
    await page.getByLabel(/: big\.bin/).check();
    await page.getByLabel("Authorization").selectOption({ label: "s3: Ceph over a slow link" });
    await page.getByLabel("Bucket or container").fill(bucket);
    const events = page.waitForRequest((r) => /\/api\/jobs\/[0-9a-f]{16}\/events$/.test(r.url()));
    await page.getByRole("button", { name: "Send", exact: true }).click();
    await events;
    const job = page.getByTestId("job");
    const rate = job.getByText(/[0-9.]+ [kMG]?B\/s/);
    const seenRate = await rate.waitFor({ timeout: 60_000 }).then(() => true, () => false);
    await page.locator("[data-testid=job][data-state=ok]").waitFor({ timeout: 120_000 });
    await screenshot(page, "10a-jobs-live");
    assert.match((await job.textContent()) ?? "", /(\d+) MB of \1 MB \(100%\)/);
    assert.ok(seenRate, "a rate was shown while the job ran");
  });

  test("cancels a running job from the jobs page", async () => {
    await openNav(page, "Send");
    await page.getByLabel("Only the datasets I pick").check();
    await page.getByLabel(/: big\.bin/).check();
    await page.getByLabel("Authorization").selectOption({ label: "azure: Azurite" });
    await page.getByLabel("Bucket or container").fill(container);
    await page.getByRole("button", { name: "Send", exact: true }).click();
    const job = page.getByTestId("job");
    await job.getByRole("button", { name: "Cancel" }).click();
    await page.locator("[data-testid=job][data-state=deleted]").waitFor({ timeout: 30_000 });
    assert.equal(await job.getByTestId("job-state").textContent(), "cancelled");
    const jobId = (await job.getAttribute("data-job-id"))!;
    const viaApi = (await (await fetch(`${sys.url}/api/jobs/${jobId}`, { headers: { "x-api-key": apiKey } })).json()) as { state: string };
    assert.equal(viaApi.state, "deleted");
    await screenshot(page, "10b-jobs-cancelled");
  });

  test("lists the jobs of both sends on the jobs page, on a narrow screen too", async () => {
    await openNav(page, "Jobs");
    await page.getByRole("heading", { name: "Recent jobs" }).waitFor();
    await page.locator("[data-testid=job][data-state=ok]").nth(4).waitFor();
    await screenshot(page, "11-jobs-recent");
    await page.setViewportSize({ width: 375, height: 800 });
    const overflow = await horizontalOverflow(page);
    assert.ok(overflow <= 1, `the page fits a 375 px screen (overflows by ${overflow} px)`);
    await screenshot(page, "12-jobs-narrow");
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  test("raised no page errors and no Content-Security-Policy violations", () => {
    assert.deepEqual(problems.errors, []);
    assert.deepEqual(problems.cspViolations, []);
  });
});

/** The final object keys of the jobs on the page that reached ok. */
async function okObjectKeys(page: Page): Promise<string[]> {
  const cards = page.locator("[data-testid=job][data-state=ok]");
  const keys: string[] = [];
  for (let i = 0; i < (await cards.count()); i++) keys.push((await cards.nth(i).getAttribute("data-object-key")) ?? "");
  return keys;
}
