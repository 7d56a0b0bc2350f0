// Browser-test helpers: Debian's Chromium driven by playwright-core, signing in through the
// console against the in-process OpenID Connect provider, screenshots under .test-results/.
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { authorizeAt } from "../../support/auth.ts";
import { repoRoot } from "../../support/send.ts";
import type { System } from "../../support/system.ts";

export const CHROMIUM = process.env.SKYFERRY_CHROMIUM ?? "/usr/bin/chromium";
export const SCREENSHOTS = join(repoRoot, ".test-results", "screenshots");
export const CONSOLE_DIST = join(repoRoot, "packages", "console", "dist", "index.html");

/** Why the browser tests cannot run here, or undefined when they can. */
export function browserTestsBlocked(): string | undefined {
  if (!existsSync(CHROMIUM)) return `${CHROMIUM} is missing: apt-get install -y chromium (scripts/stack/install.sh does it)`;
  if (!existsSync(CONSOLE_DIST)) return "packages/console/dist is missing: npm run build (scripts/test.sh does it)";
  return undefined;
}

export async function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ["--no-sandbox", "--disable-background-networking", "--disable-dev-shm-usage"],
  });
}

/** Problems the page reported: uncaught errors and Content-Security-Policy violations. */
export interface PageProblems {
  errors: string[];
  cspViolations: string[];
}

/** How many CSS pixels the page is wider than its viewport (at most 1 when it fits). */
export async function horizontalOverflow(page: Page): Promise<number> {
  return page.evaluate(() => {
    const w = globalThis as unknown as { document: { documentElement: { scrollWidth: number } }; innerWidth: number };
    return w.document.documentElement.scrollWidth - w.innerWidth;
  });
}

/**
 * A fresh context and page (its own cookies). Dialogs (confirm) are accepted; page errors and
 * CSP violations are collected so a test can assert there were none.
 */
export async function openConsolePage(browser: Browser, opts: { width?: number; height?: number } = {}): Promise<{ context: BrowserContext; page: Page; problems: PageProblems }> {
  const context = await browser.newContext({ viewport: { width: opts.width ?? 1280, height: opts.height ?? 900 }, acceptDownloads: true });
  // The API key page's Copy button writes to the clipboard; tests read it back.
  await context.grantPermissions(["clipboard-read", "clipboard-write"]);
  const page = await context.newPage();
  const problems: PageProblems = { errors: [], cspViolations: [] };
  page.on("dialog", (d) => void d.accept());
  page.on("pageerror", (e) => problems.errors.push(e.message));
  page.on("console", (m) => {
    if (m.type() === "error" && /Content.Security.Policy/i.test(m.text())) problems.cspViolations.push(m.text());
  });
  return { context, page, problems };
}

/**
 * Signs `user` in through the console: the sign-in button, the gateway's sign-in route (which sets
 * the login-state cookie and redirects to the provider), the provider, and the callback that opens
 * the session and lands on the console. The mock provider approves at once; who signs in is set the
 * way test/support/auth.ts does it, so the provider step runs from here (Playwright does not route
 * redirect hops): the browser's own request to the gateway is passed on and its redirect replaced
 * by the provider's answer.
 */
export async function signInThroughConsole(page: Page, sys: System, user: { sub: string; email: string }, providerLabel = "Mock"): Promise<void> {
  await page.route(/\/authnz\/[^/]+\/login/, async (route) => {
    const res = await route.fetch({ maxRedirects: 0 });
    const location = res.headers().location;
    if (res.status() !== 302 || !location) return route.fulfill({ response: res });
    const callback = await authorizeAt(location, user);
    return route.fulfill({ status: 302, headers: { ...res.headers(), location: callback } });
  });
  await page.goto(`${sys.url}/`);
  await page.getByRole("link", { name: `Sign in with ${providerLabel}` }).click();
  await page.getByTestId("user-email").filter({ hasText: user.email }).waitFor();
  await page.unroute(/\/authnz\/[^/]+\/login/);
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

/** Goes to a console page through its navigation link (as a person would). */
export async function openNav(page: Page, label: string): Promise<void> {
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: label, exact: true }).click();
  await page.getByRole("heading", { level: 1 }).first().waitFor();
}
