// Passkeys and security keys (WebAuthn) with Chromium's virtual authenticator, and recovery
// codes: registration, sign-in with the key, a recovery code used once.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, launchBrowser, screenshot } from "./harness.mjs";

const INCORRECT = "Your authentication information is incorrect. Please try again.";
let browser;

before(async () => {
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
});

const nav = (page, name) => page.getByRole("navigation").getByRole("link", { name, exact: true });

/** A virtual platform authenticator (a passkey on "this device") that verifies its user. */
async function addAuthenticator(page) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("WebAuthn.enable");
  const { authenticatorId } = await cdp.send("WebAuthn.addVirtualAuthenticator", {
    options: {
      protocol: "ctap2",
      transport: "internal",
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
  return {
    async credentials() {
      return (await cdp.send("WebAuthn.getCredentials", { authenticatorId })).credentials;
    },
  };
}

async function rootPassword(page, srv, password) {
  await page.goto(`${srv.base}/signin?kind=root`);
  await page.getByLabel("Root user email address").fill("root@example.com");
  await page.getByRole("button", { name: "Next" }).click();
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
}

async function signOut(page) {
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.waitForURL(/\/signin$/);
}

test("the root user registers a passkey, signs in with it, and uses a recovery code once", async (t) => {
  const server = await startServer();
  t.after(() => server.stop());
  const context = await browser.newContext();
  t.after(() => context.close());
  const page = await context.newPage();
  const authenticator = await addAuthenticator(page);

  await rootPassword(page, server, server.rootPassword);
  await page.waitForURL(/\/console$/);
  await nav(page, "Security credentials").click();
  await page.getByRole("link", { name: "Assign MFA device" }).click();
  await page.getByLabel("Device name").fill("root-passkey");
  await page.getByLabel("Passkey or security key").check();
  await page.getByRole("button", { name: "Next" }).click();
  await screenshot(page, "register-passkey");
  await page.getByRole("button", { name: "Register passkey or security key" }).click();

  // The first device: recovery codes are offered next.
  await page.waitForURL(/recovery-codes/);
  assert.ok((await page.getByRole("status").textContent()).includes("Passkey or security key registered"));
  assert.equal((await authenticator.credentials()).length, 1, "the authenticator holds the new credential");
  await page.getByRole("button", { name: "Create recovery codes" }).click();
  const codes = (await page.getByRole("list", { name: "Recovery codes" }).locator("code").allTextContents()).map((c) => c.trim());
  assert.equal(codes.length, 10);
  assert.equal(new Set(codes).size, 10);
  for (const c of codes) assert.match(c, /^[A-Z2-7]{4}(-[A-Z2-7]{4}){3}$/);
  await screenshot(page, "recovery-codes");

  await nav(page, "Security credentials").click();
  const main = await page.textContent("main");
  assert.match(main, /arn:aws:iam::\d{12}:u2f\/root\/root-passkey-[A-Z2-7]+/);
  assert.ok(main.includes("Passkey or security key"));
  assert.ok(main.includes("10 of 10 recovery codes unused"), main);
  await nav(page, "Dashboard").click();
  const check = await page.locator("ul.checks li", { hasText: "Root user has MFA" }).textContent();
  assert.ok(check.includes("Passed"), check);

  // The password alone is no longer enough; the passkey is asked for, and signs in.
  await signOut(page);
  await rootPassword(page, server, server.rootPassword);
  await page.getByRole("button", { name: "Use passkey or security key" }).waitFor();
  await screenshot(page, "signin-passkey");
  // An answer that is not the authenticator's is refused (sent without the script).
  await page.evaluate(() => {
    const form = document.querySelector("form[data-webauthn]");
    form.querySelector('input[name="security_key_response"]').value = JSON.stringify({ id: "AAAA", rawId: "AAAA", type: "public-key", response: {} });
    form.submit();
  });
  await page.waitForLoadState();
  assert.ok((await page.getByRole("alert").first().textContent()).includes(INCORRECT));
  await page.getByRole("button", { name: "Use passkey or security key" }).click();
  await page.waitForURL(/\/console$/);
  await signOut(page);

  // A recovery code replaces the passkey once.
  await rootPassword(page, server, server.rootPassword);
  await page.getByText("Lost your MFA device? Use a recovery code").click();
  await page.getByLabel("Recovery code").fill(codes[3].toLowerCase());
  await page.getByRole("button", { name: "Sign in with recovery code" }).click();
  await page.waitForURL(/security-credentials\?done=recovery/);
  assert.ok((await page.getByRole("status").textContent()).includes("recovery code"));
  assert.ok((await page.textContent("main")).includes("9 of 10 recovery codes unused"));
  await signOut(page);
  await rootPassword(page, server, server.rootPassword);
  await page.getByText("Lost your MFA device? Use a recovery code").click();
  await page.getByLabel("Recovery code").fill(codes[3]);
  await page.getByRole("button", { name: "Sign in with recovery code" }).click();
  assert.ok((await page.getByRole("alert").first().textContent()).includes(INCORRECT), "a code works once");
  assert.ok(!page.url().endsWith("/console"));
});
