// The error paths a person meets in the console, in a real browser: a bucket that does not exist,
// an authorization deleted meanwhile, deleting an authorization, revoking the API key, signing
// out. Each refusal on the page must be the API's own `err_msg`, never a silent failure.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { type MockOidc, oidcEnv, startOidcProvider } from "../support/auth.ts";
import { api, createS3Bucket, independentS3 } from "../support/send.ts";
import { stackEnv } from "../support/stack-env.ts";
import { startSystem, type System } from "../support/system.ts";
import { browserTestsBlocked, launchChromium, openConsolePage, openNav, type PageProblems, screenshot, signInThroughConsole } from "./support/console.ts";

const blocked = browserTestsBlocked();

interface Authz {
  id: string;
}

describe("the console: error paths in a browser", { skip: blocked }, () => {
  let oidc: MockOidc;
  let sys: System;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let problems: PageProblems;
  const user = { sub: `err-${randomBytes(4).toString("hex")}`, email: `err-${randomBytes(4).toString("hex")}@example.org` };
  const bucket = `console-err-${randomBytes(4).toString("hex")}`;
  const missingBucket = `no-such-bucket-${randomBytes(4).toString("hex")}`;
  let key = "";
  let historyId = "";

  const s3Authz = async (description: string): Promise<Authz> => {
    const { s3 } = stackEnv();
    const res = await api<Authz>(sys.url, "/api/cloud/authz", {
      key,
      method: "POST",
      body: { provider: "s3", description, config: { endpoint: s3.endpoint, access_key_id: s3.accessKeyId, secret_access_key: s3.secretAccessKey } },
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body;
  };
  // The same keys twice are refused as a duplicate: each test removes the authorization it made.
  const removeAuthz = async (id: string) => {
    await api(sys.url, `/api/cloud/authz/${id}`, { key, method: "DELETE" });
  };
  /** What the API itself answers to this send, to compare with what the page shows. */
  const apiSendError = async (body: Record<string, unknown>): Promise<string> => {
    const res = await api<{ err_msg?: string }>(sys.url, "/api/cloud/storage/send", { key, method: "POST", body });
    assert.ok(res.status >= 400 && res.status < 500, `the API refuses this send (HTTP ${res.status})`);
    assert.ok(res.body.err_msg, "with an err_msg");
    return res.body.err_msg;
  };
  const fillSend = async (authzLabel: string, to: string) => {
    await page.getByLabel("History", { exact: true }).selectOption(historyId);
    await page.getByLabel("Authorization").selectOption({ label: authzLabel });
    await page.getByLabel("Bucket or container").fill(to);
  };

  before(async () => {
    oidc = await startOidcProvider();
    sys = await startSystem({ label: "console-errors", env: { authz: oidcEnv(oidc) } });
    await createS3Bucket(independentS3(), bucket);
    browser = await launchChromium();
    ({ context, page, problems } = await openConsolePage(browser));
    page.setDefaultTimeout(20_000);
    await signInThroughConsole(page, sys, user);
    // A key for setting the scene through the API, made the way a person makes it.
    await openNav(page, "API key");
    await page.getByRole("button", { name: "Create a key" }).click();
    key = await page.getByLabel(/Your new API key/).inputValue();
    const history = await api<{ id: string }>(sys.url, "/api/histories", { key, method: "POST", body: { name: "Error paths" } });
    assert.equal(history.status, 200, JSON.stringify(history.body));
    historyId = history.body.id;
    const form = new FormData();
    form.append("file", new Blob([Buffer.from("chr1\t1\t2\n")]), "one.bed");
    const up = await fetch(`${sys.url}/api/histories/${historyId}/contents`, { method: "POST", headers: { "x-api-key": key }, body: form });
    assert.equal(up.status, 200, await up.text());
  });
  after(async () => {
    await context?.close();
    await browser?.close();
    await sys?.close();
    await oidc?.close();
  });

  test("testing access to a bucket that does not exist shows the provider's refusal", async (t) => {
    const authz = await s3Authz("Ceph, wrong bucket");
    t.after(() => removeAuthz(authz.id));
    await openNav(page, "Cloud authorizations");
    const item = page.locator(`[data-testid=authz-item][data-authz-id="${authz.id}"]`);
    await item.getByLabel("Bucket (optional)").fill(missingBucket);
    await item.getByRole("button", { name: "Test access" }).click();
    const shown = item.getByTestId("test-result").getByText(/^Refused/);
    await shown.waitFor({ timeout: 30_000 });
    const direct = await api<{ ok: boolean; reason?: string }>(sys.url, `/api/cloud/authz/${authz.id}/test`, { key, method: "POST", body: { bucket: missingBucket } });
    assert.equal(direct.body.ok, false);
    assert.ok(direct.body.reason && ((await shown.textContent()) ?? "").includes(direct.body.reason), "the page shows the provider's reason");
    await screenshot(page, "20-error-test-access-missing-bucket");
  });

  test("sending to a bucket that does not exist shows why, in the API's words", async (t) => {
    const authz = await s3Authz("Ceph for a missing bucket");
    t.after(() => removeAuthz(authz.id));
    await openNav(page, "Send");
    await fillSend("s3: Ceph for a missing bucket", missingBucket);
    await page.getByRole("button", { name: "Send", exact: true }).click();
    // Refused before queueing (err_msg on the form), or queued and failed (the job's error).
    const refused = page.getByRole("alert").filter({ hasText: "Not sent" });
    const failed = page.locator("[data-testid=job][data-state=error]");
    await refused.or(failed).first().waitFor({ timeout: 60_000 });
    if ((await refused.count()) > 0) {
      const errMsg = await apiSendError({ history_id: historyId, authz_id: authz.id, bucket: missingBucket, overwrite_policy: "rename" });
      assert.equal(await refused.textContent(), `Not sent: ${errMsg}`);
      assert.deepEqual((await api<unknown[]>(sys.url, "/api/jobs", { key })).body, [], "nothing was queued");
    } else {
      const jobId = (await failed.getAttribute("data-job-id"))!;
      const job = await api<{ state: string; error: { message: string; provider_reason?: string } | null }>(sys.url, `/api/jobs/${jobId}`, { key });
      assert.equal(job.body.state, "error");
      assert.ok(job.body.error?.message, "the API explains the failure");
      const shown = (await failed.getByTestId("job-error").textContent()) ?? "";
      assert.ok(shown.includes(job.body.error.message), `the page shows the job's error (${shown})`);
      // Retry queues it again; it fails again, for the same reason, on a second attempt.
      await failed.getByRole("button", { name: "Retry" }).click();
      await page.locator(`[data-job-id="${jobId}"][data-state=error]`).getByText("attempt 2").waitFor({ timeout: 60_000 });
      const again = await api<{ state: string; attempts: number }>(sys.url, `/api/jobs/${jobId}`, { key });
      assert.deepEqual([again.body.state, again.body.attempts], ["error", 2]);
    }
    await screenshot(page, "21-error-send-missing-bucket");
  });

  test("sending with an authorization deleted meanwhile (another tab) shows the API's err_msg", async () => {
    const authz = await s3Authz("Deleted meanwhile");
    // The previous test may leave the Send form open (a send refused before queueing): open it
    // afresh so it lists the authorization just made.
    await openNav(page, "Histories");
    await openNav(page, "Send");
    await fillSend("s3: Deleted meanwhile", bucket);
    const deleted = await api(sys.url, `/api/cloud/authz/${authz.id}`, { key, method: "DELETE" });
    assert.equal(deleted.status, 200);
    await page.getByRole("button", { name: "Send", exact: true }).click();
    const alert = page.getByRole("alert").filter({ hasText: "Not sent" });
    await alert.waitFor();
    const errMsg = await apiSendError({ history_id: historyId, authz_id: authz.id, bucket, overwrite_policy: "rename" });
    assert.equal(await alert.textContent(), `Not sent: ${errMsg}`);
    await screenshot(page, "22-error-send-deleted-authz");
  });

  test("deleting an authorization in the console removes it for good", async () => {
    const authz = await s3Authz("To be deleted");
    await openNav(page, "Cloud authorizations");
    const item = page.locator(`[data-testid=authz-item][data-authz-id="${authz.id}"]`);
    await item.getByRole("button", { name: "Delete" }).click();
    await page.getByRole("status").filter({ hasText: `Deleted authorization ${authz.id}` }).waitFor();
    await item.waitFor({ state: "detached" });
    const list = await api<Authz[]>(sys.url, "/api/cloud/authz", { key });
    assert.ok(!list.body.some((a) => a.id === authz.id));
  });

  test("revoking the API key in the console makes scripts using it fail", async () => {
    await openNav(page, "API key");
    await page.getByRole("button", { name: "Revoke key" }).click();
    await page.getByTestId("key-status").filter({ hasText: "You have no API key." }).waitFor();
    await screenshot(page, "23-api-key-revoked");
    const me = await fetch(`${sys.url}/api/users/current`, { headers: { "x-api-key": key } });
    assert.ok(me.status === 401 || me.status === 403, `the revoked key is refused (HTTP ${me.status})`);
  });

  test("can be used with the keyboard: skip link first, then the navigation, focus visible", async () => {
    await page.goto(`${sys.url}/#/histories`);
    await page.reload();
    await page.getByRole("heading", { name: "Histories", level: 1 }).waitFor();
    await page.keyboard.press("Tab");
    assert.equal(await page.evaluate(() => (globalThis as unknown as { document: { activeElement: { textContent: string } } }).document.activeElement.textContent), "Skip to content");
    await page.keyboard.press("Tab");
    await page.keyboard.press("Tab");
    const focused = page.locator(":focus");
    assert.equal(await focused.textContent(), "Histories");
    const outline = await focused.evaluate((el) => (globalThis as unknown as { getComputedStyle(e: unknown): { outlineStyle: string } }).getComputedStyle(el).outlineStyle);
    assert.equal(outline, "solid", "the focused link shows an outline");
    await page.keyboard.press("Tab");
    await page.keyboard.press("Enter");
    await page.getByRole("heading", { name: "Send to cloud" }).waitFor();
  });

  test("when the session ends elsewhere, the next request leads back to the sign-in page", async () => {
    await context.clearCookies();
    // Go to another page by its address (a background refresh may already have noticed the
    // ended session and replaced the navigation, so clicking a nav link would race it).
    await page.evaluate('location.hash = "#/jobs"');
    await page.getByRole("heading", { name: "Sign in" }).waitFor();
    assert.equal(await page.getByTestId("user-email").count(), 0);
  });

  test("signing out returns to the sign-in page", async () => {
    await signInThroughConsole(page, sys, user);
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByRole("heading", { name: "Sign in" }).waitFor();
    assert.equal(await page.getByTestId("user-email").count(), 0);
    const me = await page.request.get(`${sys.url}/api/users/current`);
    assert.equal(me.status(), 401);
  });

  test("raised no page errors and no Content-Security-Policy violations", () => {
    assert.deepEqual(problems.errors, []);
    assert.deepEqual(problems.cspViolations, []);
  });
});
