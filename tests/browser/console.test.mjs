// The console in headless Chromium, found by the labels a person (or a screen reader) uses.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, launchBrowser, screenshot } from "./harness.mjs";

const INCORRECT = "Your authentication information is incorrect. Please try again.";
let server;
let browser;

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

async function rootSignIn(page, password) {
  await page.goto(`${server.base}/`);
  await page.getByLabel("Root user", { exact: true }).check();
  await page.getByRole("button", { name: "Next" }).click();
  await page.getByLabel("Root user email address").fill("root@example.com");
  await page.getByRole("button", { name: "Next" }).click();
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
}

test("the root user signs in, sees the dashboard and signs out", async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${server.base}/`);
  assert.match(page.url(), /\/signin$/);
  await screenshot(page, "signin");

  await rootSignIn(page, "not-the-password");
  assert.ok((await page.getByRole("alert").textContent()).includes(INCORRECT));

  await rootSignIn(page, server.rootPassword);
  await page.waitForURL(/\/console$/);
  const text = await page.textContent("main");
  assert.match(text, /Account ID\s*\d{12}/);
  assert.ok(text.includes("Add MFA for the root user"), text);
  const cookies = await context.cookies();
  const session = cookies.find((c) => c.name === "portcullis-session");
  assert.ok(session && session.httpOnly && session.sameSite === "Strict", JSON.stringify(cookies));
  await screenshot(page, "dashboard");

  await page.getByRole("button", { name: "Sign out" }).click();
  await page.waitForURL(/\/signin$/);
  await page.goto(`${server.base}/console`);
  assert.match(page.url(), /\/signin$/);
  await context.close();
});

test("the layout holds at 375 px", async () => {
  const context = await browser.newContext({ viewport: { width: 375, height: 740 } });
  const page = await context.newPage();
  await rootSignIn(page, server.rootPassword);
  await page.waitForURL(/\/console$/);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `the page is ${overflow}px wider than the screen`);
  await screenshot(page, "dashboard-375");
  await context.close();
});

test("the root user assigns an authenticator app and then signs in with a code", async () => {
  const { TOTP, Secret } = await import("otpauth");
  const context = await browser.newContext();
  const page = await context.newPage();
  await rootSignIn(page, server.rootPassword);
  await page.waitForURL(/\/console$/);

  await page.getByRole("link", { name: "Security credentials" }).click();
  await page.getByRole("link", { name: "Assign MFA device" }).click();
  await page.getByLabel("Device name").fill("root-phone");
  await page.getByLabel("Authenticator app").check();
  await page.getByRole("button", { name: "Next" }).click();
  await page.getByText("Show QR code").click();
  assert.ok(await page.getByRole("img", { name: /QR code/ }).isVisible());
  await page.getByText("Show secret key").click();
  const secret = (await page.locator("code.secret").textContent()).trim();
  assert.match(secret, /^[A-Z2-7]{32,}$/);
  await screenshot(page, "assign-mfa");

  // Codes from an independent TOTP library, at the server's (test) clock.
  const totp = new TOTP({ secret: Secret.fromBase32(secret), digits: 6, period: 30, algorithm: "SHA1" });
  const now = await server.advance(0);
  await page.getByLabel("MFA code 1").fill(totp.generate({ timestamp: (now - 30) * 1000 }));
  await page.getByLabel("MFA code 2").fill(totp.generate({ timestamp: now * 1000 }));
  await page.getByRole("button", { name: "Add MFA" }).click();
  await page.waitForURL(/security-credentials/);
  assert.ok((await page.getByRole("status").textContent()).includes("MFA device assigned"));
  assert.ok((await page.textContent("main")).includes("mfa/root-phone"));

  // Signing in now asks for a code.
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.waitForURL(/\/signin$/);
  const later = await server.advance(30);
  await rootSignIn(page, server.rootPassword);
  await page.getByLabel("MFA code").fill("000000" === totp.generate({ timestamp: later * 1000 }) ? "111111" : "000000");
  await page.getByRole("button", { name: "Submit" }).click();
  assert.ok((await page.getByRole("alert").textContent()).includes(INCORRECT));
  await page.getByLabel("MFA code").fill(totp.generate({ timestamp: later * 1000 }));
  await page.getByRole("button", { name: "Submit" }).click();
  await page.waitForURL(/\/console$/);
  const checks = await page.locator("ul.checks li", { hasText: "Add MFA for the root user" }).textContent();
  assert.ok(checks.includes("Passed"), checks);
  await screenshot(page, "dashboard-root-mfa");
  await context.close();
});
