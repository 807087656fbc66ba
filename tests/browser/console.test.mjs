// The console in headless Chromium, found by the labels a person (or a screen reader) uses.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, launchBrowser, screenshot } from "./harness.mjs";

const INCORRECT = "Your authentication information is incorrect. Please try again.";
let server;
let browser;

/** A link of the signed-in pages' navigation bar. */
const nav = (page, name) => page.getByRole("navigation").getByRole("link", { name, exact: true });

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

async function rootSignIn(page, password, srv = server) {
  await page.goto(`${srv.base}/`);
  await page.getByLabel("Root user", { exact: true }).check();
  await page.getByRole("button", { name: "Next" }).click();
  await page.getByLabel("Root user email address").fill("root@example.com");
  await page.getByRole("button", { name: "Next" }).click();
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
}

/** A server of the test's own, and a browser page signed in there as its root user. */
async function signedInAsRoot(t) {
  const server = await startServer();
  t.after(() => server.stop());
  const context = await browser.newContext({ acceptDownloads: true });
  t.after(() => context.close());
  const page = await context.newPage();
  await rootSignIn(page, server.rootPassword, server);
  await page.waitForURL(/\/console$/);
  const account = (await page.textContent("main")).match(/Account ID\s*(\d{12})/)[1];
  return { server, page, account };
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
  assert.ok(text.includes("Add MFA for root user"), text);
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

  // The dashboard's recommendation leads to the fix.
  await page.getByRole("link", { name: "Add MFA", exact: true }).click();
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
  // After the first device, the console offers recovery codes.
  await page.waitForURL(/recovery-codes/);
  assert.ok((await page.getByRole("status").textContent()).includes("MFA device assigned"));
  await nav(page, "Security credentials").click();
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
  const checks = await page.locator("ul.checks li", { hasText: "Root user has MFA" }).textContent();
  assert.ok(checks.includes("Passed"), checks);
  await screenshot(page, "dashboard-root-mfa");
  await context.close();
});

test("the tutorial: root creates the Admins group and user John, who signs in and sets his own password", async (t) => {
  // A server of its own: the root user of the shared one has MFA by now.
  const { server, page, account } = await signedInAsRoot(t);

  await nav(page, "User groups").click();
  await page.getByRole("link", { name: "Create group" }).click();
  await page.getByLabel("User group name").fill("Admins");
  await page.getByLabel("Search policies").fill("AdministratorAccess");
  await page.getByRole("button", { name: "Search" }).click();
  await page.getByLabel("AdministratorAccess", { exact: true }).check();
  await screenshot(page, "create-group");
  await page.getByRole("button", { name: "Create user group" }).click();
  assert.ok((await page.getByRole("status").textContent()).includes("User group created"));

  await nav(page, "Users").click();
  await page.getByRole("link", { name: "Create user" }).click();
  await page.getByLabel("User name").fill("John");
  assert.ok(await page.getByLabel("Provide user access to the AWS Management Console").isChecked());
  await page.getByLabel("Custom password").check();
  await page.getByLabel("Password", { exact: true }).fill("John-initial-1!");
  assert.ok(await page.getByLabel("Users must create a new password at next sign-in (recommended)").isChecked());
  await page.getByLabel("Admins").check();
  await page.getByRole("button", { name: "Create user" }).click();
  assert.ok((await page.textContent("h1")).includes("User John created"));
  await screenshot(page, "user-created");
  const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Download .csv" }).click()]);
  const { readFile } = await import("node:fs/promises");
  const csv = (await readFile(await download.path(), "utf8")).trim().split(/\r?\n/);
  assert.equal(csv[0], "User name,Password,Access key ID,Secret access key,Console login link");
  assert.match(csv[1], new RegExp(`^John,John-initial-1!,,,http://localhost:\\d+/signin/${account}$`));

  // John signs in through the account's sign-in URL and must choose a new password.
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.goto(`${server.base}/signin/${account}`);
  assert.equal(await page.getByLabel("Account ID (12 digits) or account alias").inputValue(), account);
  await page.getByLabel("IAM user name").fill("John");
  await page.getByLabel("Password").fill("John-initial-1!");
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByLabel("New password", { exact: true }).fill("John-second-22!");
  await page.getByLabel("Confirm new password").fill("John-second-22!");
  await page.getByRole("button", { name: "Change password" }).click();
  await page.waitForURL(/\/console$/);
  const text = await page.textContent("body");
  assert.ok(text.includes(`arn:aws:iam::${account}:user/John`), text);
  // As a member of Admins (AdministratorAccess) he sees the security recommendations.
  assert.ok(text.includes("Use groups to assign permissions"), text);
});

test("the account alias, the password policy and the credential report", async (t) => {
  const { page } = await signedInAsRoot(t);

  await page.getByLabel("Account alias").fill("example-corp");
  await page.getByRole("button", { name: "Create" }).click();
  assert.ok((await page.getByRole("status").textContent()).includes("Account alias saved"));
  assert.ok((await page.textContent("main")).includes("/signin/example-corp"));
  // A bad alias reads AWS's validation message.
  await page.getByLabel("Account alias").fill("Bad_Alias");
  await page.evaluate(() => document.querySelector("#alias").removeAttribute("pattern"));
  await page.getByRole("button", { name: "Edit" }).click();
  assert.match(await page.getByRole("alert").textContent(), /accountAlias|AccountAlias/);

  await nav(page, "Account settings").click();
  await page.getByRole("link", { name: "Edit" }).click();
  await page.getByLabel("Minimum password length").fill("14");
  await page.getByLabel("Prevent password reuse").check();
  await page.getByLabel("Remember passwords").fill("3");
  await page.getByRole("button", { name: "Save changes" }).click();
  assert.ok((await page.getByRole("status").textContent()).includes("Password policy saved"));
  const rules = await page.textContent("main");
  assert.ok(rules.includes("At least 14 characters") && rules.includes("The last 3 passwords cannot be used again"), rules);
  await screenshot(page, "account-settings");

  const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Download report" }).click()]);
  const { readFile } = await import("node:fs/promises");
  const report = (await readFile(await download.path(), "utf8")).split(/\r?\n/);
  assert.ok(report[0].startsWith("user,arn,user_creation_time,password_enabled"), report[0]);
  assert.ok(report[1].startsWith("<root_account>,"), report[1]);
});

test("the tutorial's Force_MFA: policy, EC2MFA group, MFAUser, the simulator, and MFAUser's own MFA", async (t) => {
  const { TOTP, Secret } = await import("otpauth");
  const { readFile } = await import("node:fs/promises");
  const forceMfa = await readFile(new URL("../../crates/policy/tests/seed/Force_MFA.json", import.meta.url), "utf8");
  const { server, page, account } = await signedInAsRoot(t);

  // The JSON editor shows AWS's message, and where a syntax error is, before saving.
  await nav(page, "Policies").click();
  await page.getByRole("link", { name: "Create policy" }).click();
  await page.getByLabel("Policy name").fill("Force_MFA");
  await page.getByLabel("Policy editor").fill('{"Version": "2012-10-17",\n "Statement": [ }');
  await page.getByRole("button", { name: "Validate" }).click();
  assert.match(await page.getByRole("alert").textContent(), /Syntax errors in policy\. \(line 2, column \d+\)/);
  await page.getByLabel("Policy editor").fill(forceMfa);
  await page.getByRole("button", { name: "Validate" }).click();
  assert.ok((await page.getByRole("status").textContent()).includes("The policy is valid"));
  await page.getByRole("button", { name: "Create policy" }).click();
  assert.ok((await page.getByRole("status").textContent()).includes("Policy created"));

  await nav(page, "User groups").click();
  await page.getByRole("link", { name: "Create group" }).click();
  await page.getByLabel("User group name").fill("EC2MFA");
  for (const policy of ["AmazonEC2FullAccess", "Force_MFA"]) {
    await page.getByLabel("Search policies").fill(policy);
    await page.getByRole("button", { name: "Search" }).click();
    await page.getByLabel(policy, { exact: true }).check();
  }
  await page.getByRole("button", { name: "Create user group" }).click();
  await page.getByRole("link", { name: "EC2MFA" }).click();
  const groupPage = await page.textContent("main");
  assert.ok(groupPage.includes("AmazonEC2FullAccess") && groupPage.includes("Force_MFA"), groupPage);

  await nav(page, "Users").click();
  await page.getByRole("link", { name: "Create user" }).click();
  await page.getByLabel("User name").fill("MFAUser");
  await page.getByLabel("Custom password").check();
  await page.getByLabel("Password", { exact: true }).fill("MFAUser-pass-1!");
  await page.getByLabel("Users must create a new password at next sign-in (recommended)").uncheck();
  await page.getByLabel("EC2MFA").check();
  await page.getByRole("button", { name: "Create user" }).click();

  // The simulator: EC2 is denied without MFA and allowed with it.
  await nav(page, "Policy simulator").click();
  for (const [mfa, expected] of [["false", "Denied (explicit deny)"], ["true", "Allowed"]]) {
    await page.getByLabel("User, group or role ARN").fill(`arn:aws:iam::${account}:user/MFAUser`);
    await page.getByLabel("Actions (one per line)").fill("ec2:DescribeInstances");
    await page.getByLabel("Context key").fill("aws:MultiFactorAuthPresent");
    await page.getByLabel("Context value").fill(mfa);
    await page.getByRole("button", { name: "Run simulation" }).click();
    // The row of this run (the page is replaced; wait for its answer, not the last one's).
    await page.waitForURL(/\/console\/simulator$/);
    const row = await page.locator("tbody tr").first().textContent();
    assert.ok(row.includes(expected), `${mfa}: ${row}`);
    assert.equal(await page.getByLabel("Context value").inputValue(), mfa);
  }
  await screenshot(page, "simulator");

  // MFAUser signs in and, as Force_MFA lets it without MFA, assigns its own device.
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.goto(`${server.base}/signin/${account}`);
  await page.getByLabel("IAM user name").fill("MFAUser");
  await page.getByLabel("Password").fill("MFAUser-pass-1!");
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL(/\/console$/);
  await nav(page, "Security credentials").click();
  await page.getByRole("link", { name: "Assign MFA device" }).click();
  await page.getByRole("button", { name: "Next" }).click();
  await page.getByText("Show secret key").click();
  const secret = (await page.locator("code.secret").textContent()).trim();
  const totp = new TOTP({ secret: Secret.fromBase32(secret), digits: 6, period: 30, algorithm: "SHA1" });
  const now = await server.advance(0);
  await page.getByLabel("MFA code 1").fill(totp.generate({ timestamp: (now - 30) * 1000 }));
  await page.getByLabel("MFA code 2").fill(totp.generate({ timestamp: now * 1000 }));
  await page.getByRole("button", { name: "Add MFA" }).click();
  assert.ok((await page.getByRole("status").textContent()).includes("MFA device assigned"));
  await nav(page, "Security credentials").click();
  assert.ok((await page.textContent("main")).includes("mfa/MFAUser"));

  await page.getByRole("button", { name: "Sign out" }).click();
  const later = await server.advance(30);
  await page.goto(`${server.base}/signin/${account}`);
  await page.getByLabel("IAM user name").fill("MFAUser");
  await page.getByLabel("Password").fill("MFAUser-pass-1!");
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByLabel("MFA code").fill(totp.generate({ timestamp: later * 1000 }));
  await page.getByRole("button", { name: "Submit" }).click();
  await page.waitForURL(/\/console$/);
  assert.ok((await page.textContent("body")).includes(`arn:aws:iam::${account}:user/MFAUser`));
});
