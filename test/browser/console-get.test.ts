// Get from cloud through the web console in a real browser: sign in, define an S3 authorization
// for radosgw, browse a bucket folder by folder and page by page, select two objects on different
// pages, get them into a new history with a datatype, a genome build and POSIX line endings, and
// watch the items become ok; then a whole folder, and a bucket that does not exist.
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { type MockOidc, oidcEnv, startOidcProvider } from "../support/auth.ts";
import { api, createS3Bucket, independentS3, removeS3Buckets } from "../support/send.ts";
import { stackEnv } from "../support/stack-env.ts";
import { startSystem, type System } from "../support/system.ts";
import { browserTestsBlocked, horizontalOverflow, launchChromium, openConsolePage, openNav, type PageProblems, screenshot, signInThroughConsole } from "./support/console.ts";

interface Item { id: string; hid: number; name: string; state: string; extension: string; genome_build: string; file_size: number; hashes: Array<{ hash_function: string; hash_value: string }> }

const blocked = browserTestsBlocked();
const sha256 = (b: Buffer | string) => createHash("sha256").update(b).digest("hex");

/** A small FASTQ record set with Windows line endings (the get converts them). */
const fastq = (n: number) => Buffer.from(`@read${n}\r\nACGT${"ACGT".repeat(n)}\r\n+\r\n${"I".repeat(4 + 4 * n)}\r\n`);

describe("the console: get from cloud in a browser", { skip: blocked }, () => {
  let oidc: MockOidc;
  let sys: System;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let problems: PageProblems;
  const user = { sub: `get-${randomBytes(4).toString("hex")}`, email: `get-${randomBytes(4).toString("hex")}@example.org` };
  const bucket = `console-get-${randomBytes(4).toString("hex")}`;
  const s3 = independentS3();
  // 12 samples and a sub-folder in reads/: with 10 per page, sample_11, sample_12 and sub/ are on page 2.
  const samples = Array.from({ length: 12 }, (_, i) => ({ key: `reads/sample_${String(i + 1).padStart(2, "0")}.fastq`, body: fastq(i + 1) }));
  const extra = { key: "reads/sub/extra.txt", body: Buffer.from("one\ttwo\n") };
  const readme = { key: "README.txt", body: Buffer.from("Sequencing run 42\n") };
  const cookieOf = async () => (await context.cookies()).filter((c) => c.name === "skyferry_session").map((c) => `${c.name}=${c.value}`).join("; ");
  const contents = async (historyId: string) => (await api<Item[]>(sys.url, `/api/histories/${historyId}/contents?keys=id,hid,name,state,extension,genome_build,file_size,hashes`, { cookie: await cookieOf() })).body;
  let historyId = "";

  before(async () => {
    oidc = await startOidcProvider();
    sys = await startSystem({ label: "console-get", env: { authz: oidcEnv(oidc) } });
    await createS3Bucket(s3, bucket);
    for (const o of [...samples, extra, readme]) await s3.send(new PutObjectCommand({ Bucket: bucket, Key: o.key, Body: o.body }));
    browser = await launchChromium();
    ({ context, page, problems } = await openConsolePage(browser));
    page.setDefaultTimeout(20_000);
    await signInThroughConsole(page, sys, user);
  });
  after(async () => {
    await context?.close();
    await browser?.close();
    await removeS3Buckets(s3, [bucket]);
    await sys?.close();
    await oidc?.close();
  });

  test("defines an S3 authorization for radosgw in the console", async () => {
    const stack = stackEnv();
    await openNav(page, "Cloud authorizations");
    await page.getByRole("button", { name: "New authorization" }).click();
    await page.getByLabel("Provider").selectOption("s3");
    await page.getByLabel(/^Endpoint/).fill(stack.s3.endpoint);
    await page.getByLabel("Description").fill("Sequencer bucket");
    await page.getByLabel(/^Access key id/).fill(stack.s3.accessKeyId);
    await page.getByLabel(/^Secret access key/).fill(stack.s3.secretAccessKey);
    await page.getByRole("button", { name: "Create authorization" }).click();
    await page.getByTestId("authz-item").filter({ hasText: "Sequencer bucket" }).waitFor();
  });

  test("browses the bucket: folders first, into a folder, page by page, and back up by the breadcrumb", async () => {
    await openNav(page, "Get from cloud");
    await page.getByRole("heading", { name: "Get from cloud", level: 1 }).waitFor();
    await page.getByLabel("Authorization").selectOption({ label: "s3: Sequencer bucket" });
    await page.getByLabel("Bucket or container").fill(bucket);
    await page.getByRole("button", { name: "Browse" }).click();
    const browser = page.getByTestId("bucket-browser");
    await browser.getByTestId("folder-row").first().waitFor();
    assert.deepEqual(await browser.getByTestId("folder-row").getByRole("link").allTextContents(), ["reads/"]);
    assert.deepEqual(await objectKeys(page), [readme.key]);
    await screenshot(page, "30-get-bucket-top");

    await browser.getByRole("link", { name: "reads/" }).click();
    await browser.getByRole("navigation", { name: "Folder" }).getByRole("link", { name: "reads" }).waitFor();
    await page.getByLabel("Per page").selectOption("10");
    await page.getByTestId("page-number").filter({ hasText: "Page 1" }).waitFor();
    await waitForKeys(page, samples.slice(0, 10).map((s) => s.key));
    assert.equal(await browser.getByTestId("folder-row").count(), 0, "sub/ sorts after the samples: page 2");
    // One object on page 1, another on page 2: the selection holds across pages.
    await page.getByLabel(`Select ${samples[1]!.key}`).check();
    await page.getByRole("button", { name: "Next page" }).click();
    await page.getByTestId("page-number").filter({ hasText: "Page 2" }).waitFor();
    await waitForKeys(page, samples.slice(10).map((s) => s.key));
    assert.deepEqual(await browser.getByTestId("folder-row").getByRole("link").allTextContents(), ["sub/"]);
    assert.equal(await page.getByRole("button", { name: "Next page" }).isDisabled(), true, "the last page");
    await page.getByLabel(`Select ${samples[11]!.key}`).check();
    await page.getByRole("button", { name: "Previous page" }).click();
    await waitForKeys(page, samples.slice(0, 10).map((s) => s.key));
    assert.equal(await page.getByLabel(`Select ${samples[1]!.key}`).isChecked(), true, "still selected on page 1");
    const summary = page.getByTestId("selection-summary");
    assert.match((await summary.textContent()) ?? "", /^2 objects \(\d+ B\) selected/);
    await screenshot(page, "31-get-folder-selected");

    // Back to the top through the breadcrumb; the selection stays.
    await browser.getByRole("navigation", { name: "Folder" }).getByRole("link", { name: bucket }).click();
    await waitForKeys(page, [readme.key]);
    assert.match((await summary.textContent()) ?? "", /^2 objects/);
  });

  test("gets the two objects into a new history with the chosen options and sees them become ok", async () => {
    await page.getByLabel("History", { exact: true }).selectOption({ label: "A new history…" });
    await page.getByLabel("Name of the new history").fill("From the sequencer");
    await page.getByLabel("Datatype").fill("fastqsanger");
    await page.getByLabel("Genome build (dbkey)").fill("hg38");
    await page.getByLabel("Convert line endings to POSIX (\\n)").check();
    await screenshot(page, "32-get-import-form");
    await page.getByRole("button", { name: "Get 2 objects" }).click();
    const result = page.getByTestId("get-result");
    await result.waitFor();
    assert.equal(await result.getByTestId("get-item").count(), 2);
    await result.locator("[data-testid=get-item][data-state=ok]").nth(1).waitFor({ timeout: 60_000 });
    await screenshot(page, "33-get-items-ok");
    assert.equal(await page.getByTestId("selection-summary").textContent(), "Nothing selected yet: tick objects above, or a whole folder.");

    const histories = (await api<Array<{ id: string; name: string }>>(sys.url, "/api/histories", { cookie: await cookieOf() })).body;
    historyId = histories.find((h) => h.name === "From the sequencer")?.id ?? "";
    assert.ok(historyId, "the new history exists");
    const items = await contents(historyId);
    assert.deepEqual(items.map((i) => [i.name, i.state, i.extension, i.genome_build]), [
      [samples[1]!.key, "ok", "fastqsanger", "hg38"],
      [samples[11]!.key, "ok", "fastqsanger", "hg38"],
    ]);
    for (const [n, item] of items.entries()) {
      const posix = (n === 0 ? samples[1]! : samples[11]!).body.toString("latin1").replaceAll("\r\n", "\n");
      assert.equal(item.file_size, posix.length);
      assert.equal(item.hashes.find((h) => h.hash_function === "SHA-256")?.hash_value, sha256(Buffer.from(posix, "latin1")), `${item.name}: the bytes, with POSIX line endings`);
    }
    // Each item links to its job; the jobs page shows the two get jobs done.
    const firstJob = result.getByRole("link", { name: `Job of ${samples[1]!.key}` });
    assert.match((await firstJob.getAttribute("href")) ?? "", /^#\/jobs\?ids=[0-9a-f]{16}$/);
    await result.getByRole("link", { name: "Follow the jobs" }).click();
    await page.getByRole("heading", { name: "Jobs of this get" }).waitFor();
    await page.locator("[data-testid=job][data-state=ok]").nth(1).waitFor();
    assert.deepEqual(await page.getByTestId("job-state").allTextContents(), ["done", "done"]);
    assert.match((await page.getByTestId("job-object").first().textContent()) ?? "", /^Copied into the history/);
    await screenshot(page, "34-get-jobs");
  });

  test("gets a whole folder into the same history, from the history's own page", async () => {
    await page.goto(`${sys.url}/#/histories/${historyId}`);
    await page.getByRole("link", { name: "Get from cloud…" }).click();
    await page.getByRole("heading", { name: "Get from cloud", level: 1 }).waitFor();
    await page.getByLabel("Authorization").selectOption({ label: "s3: Sequencer bucket" });
    await page.getByLabel("Bucket or container").fill(bucket);
    await page.getByRole("button", { name: "Browse" }).click();
    await page.getByTestId("bucket-browser").getByRole("link", { name: "reads/" }).click();
    await page.getByLabel("Per page").selectOption("10");
    await page.getByRole("button", { name: "Next page" }).click();
    await page.getByLabel("Get the whole folder reads/sub/").check();
    assert.match((await page.getByTestId("selection-summary").textContent()) ?? "", /^Every object below reads\/sub\/ selected\./);
    assert.equal(await page.getByLabel("History", { exact: true }).inputValue(), historyId, "the history the page was opened from");
    await page.getByRole("button", { name: "Get the selection" }).click();
    await page.locator("[data-testid=get-item][data-state=ok]").waitFor({ timeout: 60_000 });
    const items = await contents(historyId);
    const got = items.find((i) => i.name === extra.key);
    assert.ok(got, "the folder's object is in the history");
    assert.equal(got.state, "ok");
    assert.equal(got.hid, 3);
    assert.equal(got.hashes.find((h) => h.hash_function === "SHA-256")?.hash_value, sha256(extra.body));
  });

  test("browsing a bucket that does not exist shows the API's reason", async () => {
    const missing = `no-such-${randomBytes(4).toString("hex")}`;
    await openNav(page, "Get from cloud");
    await page.getByLabel("Bucket or container").fill(missing);
    await page.getByRole("button", { name: "Browse" }).click();
    const alert = page.getByRole("alert").filter({ hasText: `Could not list ${missing}` });
    await alert.waitFor();
    const authzId = new URL(page.url().replace("#/get", "")).searchParams.get("authz") ?? "";
    const direct = await api<{ err_msg: string }>(sys.url, `/api/cloud/storage/objects?authz_id=${authzId}&bucket=${missing}`, { cookie: await cookieOf() });
    assert.equal(direct.status, 404);
    assert.equal(await alert.textContent(), `Could not list ${missing}: ${direct.body.err_msg}`);
    await screenshot(page, "35-get-missing-bucket");
  });

  test("fits a narrow screen", async () => {
    await page.setViewportSize({ width: 375, height: 800 });
    await page.getByLabel("Bucket or container").fill(bucket);
    await page.getByRole("button", { name: "Browse" }).click();
    await page.getByTestId("bucket-browser").getByRole("link", { name: "reads/" }).click();
    await page.getByLabel("Per page").selectOption("25");
    await waitForKeys(page, samples.map((s) => s.key));
    const overflow = await horizontalOverflow(page);
    assert.ok(overflow <= 1, `the page fits a 375 px screen (overflows by ${overflow} px)`);
    await screenshot(page, "36-get-narrow");
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  test("raised no page errors and no Content-Security-Policy violations", () => {
    assert.deepEqual(problems.errors, []);
    assert.deepEqual(problems.cspViolations, []);
  });
});

/** The object keys listed on the browser's current page, read in one go (a page load replaces the rows). */
async function objectKeys(page: Page): Promise<string[]> {
  return page.getByTestId("object-row").evaluateAll((rows) => rows.map((r) => r.getAttribute("data-key") ?? ""));
}

/** Waits until the listed object keys are `keys` (a page load replaces the rows). */
async function waitForKeys(page: Page, keys: string[]): Promise<void> {
  const deadline = Date.now() + 20_000;
  let seen: string[] = [];
  while (Date.now() < deadline) {
    seen = await objectKeys(page);
    if (JSON.stringify(seen) === JSON.stringify(keys)) return;
    await page.waitForTimeout(50);
  }
  assert.deepEqual(seen, keys);
}
