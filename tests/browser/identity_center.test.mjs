// The first tutorial in a browser: an organization with IAM Identity Center, John in the
// Admins group with AdministratorAccess in a member account (set up with aws-cli, as the
// tutorial's scripts do). John accepts the e-mail invitation (caught by an SMTP sink),
// chooses a password, registers an authenticator app, signs in to the access portal with
// it, takes access keys and calls GetCallerIdentity with them.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { execFile, execFileSync } from "node:child_process";
import { promisify } from "node:util";
import { resolve } from "node:path";
import { startServer, launchBrowser, screenshot } from "./harness.mjs";

const REPO = resolve(import.meta.dirname, "../..");
const AWS = process.env.PORTCULLIS_AWS_CLI || `${REPO}/.venv/bin/aws`;
const PYTHON = process.env.PORTCULLIS_PYTHON || `${REPO}/.venv/bin/python`;

/** A minimal SMTP sink on loopback: resolves each message's text to `messages`. */
function smtpSink() {
  const messages = [];
  const server = net.createServer((socket) => {
    let data = false;
    let text = "";
    let buffer = "";
    socket.write("220 sink ESMTP\r\n");
    socket.on("data", (chunk) => {
      buffer += chunk.toString("utf8");
      let i;
      while ((i = buffer.indexOf("\r\n")) >= 0) {
        const line = buffer.slice(0, i);
        buffer = buffer.slice(i + 2);
        if (data) {
          if (line === ".") {
            data = false;
            messages.push(text);
            text = "";
            socket.write("250 OK\r\n");
          } else {
            text += (line.startsWith("..") ? line.slice(1) : line) + "\n";
          }
          continue;
        }
        const verb = line.slice(0, 4).toUpperCase();
        if (verb === "EHLO" || verb === "HELO") socket.write("250 sink\r\n");
        else if (verb === "DATA") { data = true; socket.write("354 go ahead\r\n"); }
        else if (verb === "QUIT") { socket.write("221 bye\r\n"); socket.end(); }
        else socket.write("250 OK\r\n");
      }
    });
  });
  return new Promise((ok) => server.listen(0, "127.0.0.1", () => ok({ port: server.address().port, messages, close: () => server.close() })));
}

let server;
let browser;
let sink;
let env;

function aws(...args) {
  return JSON.parse(execFileSync(AWS, ["--endpoint-url", `http://127.0.0.1:${server.port}`, "--region", "us-east-1", "--output", "json", ...args], { env, encoding: "utf8" }) || "{}");
}

/** A SigV4-signed POST to one of the server's own endpoints (botocore signs it). Run
 * without blocking: the server's e-mail comes back to this process's SMTP sink meanwhile. */
async function signedPost(path, body) {
  const script = `
import json, sys, requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
req = AWSRequest(method="POST", url=sys.argv[1], data=sys.argv[2], headers={"Content-Type": "application/json"})
SigV4Auth(Credentials(sys.argv[3], sys.argv[4]), "iam", "us-east-1").add_auth(req)
p = req.prepare()
print(requests.post(p.url, data=p.body, headers=dict(p.headers.items()), timeout=30).text)`;
  const { stdout } = await promisify(execFile)(PYTHON, ["-c", script, `http://127.0.0.1:${server.port}${path}`, JSON.stringify(body), env.AWS_ACCESS_KEY_ID, env.AWS_SECRET_ACCESS_KEY], { encoding: "utf8" });
  return JSON.parse(stdout);
}

before(async () => {
  sink = await smtpSink();
  server = await startServer(["--smtp-url", `smtp://127.0.0.1:${sink.port}`]);
  const profile = server.bootstrapAdmin("Admin");
  env = {
    PATH: process.env.PATH,
    HOME: server.dataDir,
    AWS_CONFIG_FILE: "/dev/null",
    AWS_SHARED_CREDENTIALS_FILE: "/dev/null",
    AWS_ACCESS_KEY_ID: profile.match(/aws_access_key_id\s*=\s*(\S+)/)[1],
    AWS_SECRET_ACCESS_KEY: profile.match(/aws_secret_access_key\s*=\s*(\S+)/)[1],
  };
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
  sink?.close();
});

test("John accepts the invitation, registers MFA and takes access keys from the portal", async () => {
  // The administrator's side, as the tutorial's commands do it.
  aws("organizations", "create-organization", "--feature-set", "ALL");
  const instance = aws("sso-admin", "create-instance", "--name", "tutorial").InstanceArn;
  const store = aws("sso-admin", "describe-instance", "--instance-arn", instance).IdentityStoreId;
  const request = aws("organizations", "create-account", "--email", "sandbox@example.com", "--account-name", "sandbox").CreateAccountStatus.Id;
  const account = aws("organizations", "describe-create-account-status", "--create-account-request-id", request).CreateAccountStatus.AccountId;
  const john = aws("identitystore", "create-user", "--identity-store-id", store, "--user-name", "John", "--display-name", "John Doe",
    "--name", "GivenName=John,FamilyName=Doe", "--emails", "Value=john@example.com,Primary=true").UserId;
  const admins = aws("identitystore", "create-group", "--identity-store-id", store, "--display-name", "Admins").GroupId;
  aws("identitystore", "create-group-membership", "--identity-store-id", store, "--group-id", admins, "--member-id", `UserId=${john}`);
  const ps = aws("sso-admin", "create-permission-set", "--instance-arn", instance, "--name", "AdministratorAccess", "--session-duration", "PT1H").PermissionSet.PermissionSetArn;
  aws("sso-admin", "attach-managed-policy-to-permission-set", "--instance-arn", instance, "--permission-set-arn", ps, "--managed-policy-arn", "arn:aws:iam::aws:policy/AdministratorAccess");
  aws("sso-admin", "create-account-assignment", "--instance-arn", instance, "--target-id", account, "--target-type", "AWS_ACCOUNT",
    "--permission-set-arn", ps, "--principal-type", "GROUP", "--principal-id", admins);
  const sent = await signedPost("/_portcullis/identity-center/invitation", { IdentityStoreId: store, UserId: john });
  assert.equal(sent.SentTo, "john@example.com");

  // John's side: the invitation e-mail.
  for (let i = 0; i < 50 && sink.messages.length === 0; i++) await new Promise((ok) => setTimeout(ok, 100));
  const mail = sink.messages.at(-1);
  assert.ok(mail.includes("Subject: Invitation to join AWS IAM Identity Center"), mail);
  const link = mail.replace(/=\r?\n/g, "").match(/(http:\/\/\S+\/invitation\?token=\S+)/)[1].replace(/=3D/g, "=");
  const page = await (await browser.newContext()).newPage();
  await page.goto(link);
  await screenshot(page, "portal-invitation");
  await page.getByLabel("New password").fill("John-Passw0rd!");
  await page.getByLabel("Confirm password").fill("John-Passw0rd!");
  await page.getByRole("button", { name: "Set new password" }).click();

  // Identity Center's default: a user without an MFA device registers one right away.
  await page.getByRole("heading", { name: "Register an MFA device" }).waitFor();
  assert.match(page.url(), /\/mfa$/);
  const secret = (await page.locator("#secret").textContent()).trim();
  const { TOTP, Secret } = await import("otpauth");
  const totp = new TOTP({ secret: Secret.fromBase32(secret), digits: 6, period: 30, algorithm: "SHA1" });
  await page.getByLabel("Authenticator code").fill(totp.generate());
  await page.getByRole("button", { name: "Assign MFA" }).click();
  await page.locator("#mfa-registered").waitFor();

  // Signing in again asks for a code.
  await page.getByRole("link", { name: "Done" }).click();
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.getByLabel("Username").fill("John");
  await page.getByLabel("Password", { exact: true }).fill("John-Passw0rd!");
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByLabel("MFA code").waitFor();
  await page.getByLabel("Password", { exact: true }).fill("John-Passw0rd!");
  await page.getByLabel("MFA code").fill(totp.generate({ timestamp: Date.now() + 30_000 }));
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { name: "AWS accounts" }).waitFor();
  const home = await page.textContent("main");
  assert.ok(home.includes(account) && home.includes("AdministratorAccess"), home);
  await screenshot(page, "portal-accounts");

  // Access keys for AdministratorAccess, and GetCallerIdentity with them.
  await page.getByRole("link", { name: "Access keys" }).click();
  const value = async (id) => (await page.locator(`#${id}`).textContent()).trim();
  const keys = { AWS_ACCESS_KEY_ID: await value("access-key-id"), AWS_SECRET_ACCESS_KEY: await value("secret-access-key"), AWS_SESSION_TOKEN: await value("session-token") };
  const who = JSON.parse(execFileSync(AWS, ["--endpoint-url", `http://127.0.0.1:${server.port}`, "--region", "us-east-1", "--output", "json", "sts", "get-caller-identity"],
    { env: { ...env, ...keys }, encoding: "utf8" }));
  assert.equal(who.Account, account);
  assert.match(who.Arn, new RegExp(`^arn:aws:sts::${account}:assumed-role/AWSReservedSSO_AdministratorAccess_[0-9a-f]{16}/John$`));
});

test("the same tutorial in the console: Enable, a user, a group, a permission set, an assignment", async () => {
  const own = await startServer(["--smtp-url", `smtp://127.0.0.1:${sink.port}`]);
  try {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${own.base}/`);
    await page.getByLabel("Root user", { exact: true }).check();
    await page.getByRole("button", { name: "Next" }).click();
    await page.getByLabel("Root user email address").fill("root@example.com");
    await page.getByRole("button", { name: "Next" }).click();
    await page.getByLabel("Password").fill(own.rootPassword);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL(/\/console$/);
    const account = (await page.textContent("main")).match(/Account ID\s*(\d{12})/)[1];

    await page.getByRole("navigation").getByRole("link", { name: "IAM Identity Center" }).click();
    await page.getByRole("button", { name: "Enable" }).click();
    await page.getByRole("status").filter({ hasText: "IAM Identity Center is enabled." }).waitFor();
    const portal = (await page.locator("#portal-url").textContent()).trim();
    const mfaSetting = page.getByLabel("If a user does not yet have a registered MFA device");
    assert.equal(await mfaSetting.inputValue(), "REQUIRE_REGISTRATION");
    await mfaSetting.selectOption("BLOCK_SIGN_IN");
    await page.getByRole("button", { name: "Save MFA settings" }).click();
    await page.getByRole("status").filter({ hasText: "MFA settings saved." }).waitFor();
    assert.equal(await mfaSetting.inputValue(), "BLOCK_SIGN_IN");
    await mfaSetting.selectOption("REQUIRE_REGISTRATION");
    await page.getByRole("button", { name: "Save MFA settings" }).click();
    await page.getByRole("status").filter({ hasText: "MFA settings saved." }).waitFor();

    const before = sink.messages.length;
    await page.getByLabel("Username", { exact: true }).fill("Jane");
    await page.getByLabel("Email address").fill("jane@example.com");
    await page.getByLabel("First name").fill("Jane");
    await page.getByLabel("Last name").fill("Roe");
    await page.getByLabel("Display name").fill("Jane Roe");
    await page.getByRole("button", { name: "Add user" }).click();
    await page.getByRole("status").filter({ hasText: "An invitation was sent to jane@example.com." }).waitFor();
    await page.getByLabel("Group name").fill("Admins");
    await page.getByLabel("Add users (usernames, separated by commas)").fill("Jane");
    await page.getByRole("button", { name: "Create group" }).click();
    await page.getByRole("status").filter({ hasText: "Group Admins created." }).waitFor();
    await page.getByLabel("Predefined permission set (AWS managed policy)").selectOption("AdministratorAccess");
    await page.getByLabel("Session duration").selectOption("PT1H");
    await page.getByRole("button", { name: "Create permission set" }).click();
    await page.getByRole("status").filter({ hasText: "Permission set AdministratorAccess created." }).waitFor();
    await page.getByLabel("AWS account").selectOption(account);
    await page.getByLabel("User or group").selectOption({ label: "Group Admins" });
    await page.getByLabel("Permission set", { exact: true }).selectOption({ label: "AdministratorAccess" });
    await page.getByRole("button", { name: "Submit" }).click();
    await page.getByRole("status").filter({ hasText: `Assigned in account ${account}.` }).waitFor();
    await screenshot(page, "identity-center-console");

    // Jane accepts her invitation and takes access keys from the portal.
    for (let i = 0; i < 50 && sink.messages.length === before; i++) await new Promise((ok) => setTimeout(ok, 100));
    const mail = sink.messages.at(-1);
    assert.ok(mail.includes("Your username: Jane") && mail.includes(portal), mail);
    const link = mail.replace(/=\r?\n/g, "").match(/(http:\/\/\S+\/invitation\?token=\S+)/)[1].replace(/=3D/g, "=");
    const jane = await (await browser.newContext()).newPage();
    await jane.goto(link);
    await jane.getByLabel("New password").fill("Jane-Passw0rd!");
    await jane.getByLabel("Confirm password").fill("Jane-Passw0rd!");
    await jane.getByRole("button", { name: "Set new password" }).click();
    const secret = (await jane.locator("#secret").textContent()).trim();
    const { TOTP, Secret } = await import("otpauth");
    await jane.getByLabel("Authenticator code").fill(new TOTP({ secret: Secret.fromBase32(secret) }).generate());
    await jane.getByRole("button", { name: "Assign MFA" }).click();
    await jane.getByRole("link", { name: "Done" }).click();
    await jane.getByRole("link", { name: "Access keys" }).click();
    const value = async (id) => (await jane.locator(`#${id}`).textContent()).trim();
    const keys = { AWS_ACCESS_KEY_ID: await value("access-key-id"), AWS_SECRET_ACCESS_KEY: await value("secret-access-key"), AWS_SESSION_TOKEN: await value("session-token") };
    const who = JSON.parse(execFileSync(AWS, ["--endpoint-url", `http://127.0.0.1:${own.port}`, "--region", "us-east-1", "--output", "json", "sts", "get-caller-identity"],
      { env: { PATH: process.env.PATH, HOME: own.dataDir, AWS_CONFIG_FILE: "/dev/null", AWS_SHARED_CREDENTIALS_FILE: "/dev/null", ...keys }, encoding: "utf8" }));
    assert.match(who.Arn, new RegExp(`^arn:aws:sts::${account}:assumed-role/AWSReservedSSO_AdministratorAccess_[0-9a-f]{16}/Jane$`));
  } finally {
    await own.stop();
  }
});

test("a directory user registers a security key and signs in to the portal with it", async () => {
  // The organization and instance of the first test, or new ones when run alone.
  let instance = aws("sso-admin", "list-instances").Instances?.[0]?.InstanceArn;
  if (!instance) {
    aws("organizations", "create-organization", "--feature-set", "ALL");
    instance = aws("sso-admin", "create-instance", "--name", "keys").InstanceArn;
  }
  const store = aws("sso-admin", "describe-instance", "--instance-arn", instance).IdentityStoreId;
  const kim = aws("identitystore", "create-user", "--identity-store-id", store, "--user-name", "Kim", "--display-name", "Kim Lee",
    "--name", "GivenName=Kim,FamilyName=Lee", "--emails", "Value=kim@example.com,Primary=true").UserId;
  const { Password: oneTime } = await signedPost("/_portcullis/identity-center/one-time-password", { IdentityStoreId: store, UserId: kim });

  const context = await browser.newContext();
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send("WebAuthn.enable");
  const { authenticatorId } = await cdp.send("WebAuthn.addVirtualAuthenticator", {
    options: { protocol: "ctap2", transport: "usb", hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
  });
  const portal = `${server.base}/start/${store}`;
  await page.goto(portal);
  await page.getByLabel("Username").fill("Kim");
  await page.getByLabel("Password", { exact: true }).fill(oneTime);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByLabel("New password").waitFor();
  await page.getByLabel("Password", { exact: true }).fill(oneTime);
  await page.getByLabel("New password").fill("Kim-Passw0rd!");
  await page.getByRole("button", { name: "Sign in" }).click();

  // Register the key (the portal asks for a device before anything else).
  await page.getByRole("button", { name: "Register security key" }).click();
  await page.locator("#mfa-registered").waitFor();
  const created = (await cdp.send("WebAuthn.getCredentials", { authenticatorId })).credentials;
  assert.equal(created.length, 1);
  await screenshot(page, "portal-security-key");

  // Signing in again asks for the key (no code field: Kim has no authenticator app).
  await page.getByRole("link", { name: "Done" }).click();
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.getByLabel("Username").fill("Kim");
  await page.getByLabel("Password", { exact: true }).fill("Kim-Passw0rd!");
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("button", { name: "Use security key" }).waitFor();
  assert.equal(await page.getByLabel("MFA code").count(), 0);
  const before = (await cdp.send("WebAuthn.getCredentials", { authenticatorId })).credentials[0].signCount;
  await page.getByRole("button", { name: "Use security key" }).click();
  await page.getByRole("heading", { name: "AWS accounts" }).waitFor();
  const after = (await cdp.send("WebAuthn.getCredentials", { authenticatorId })).credentials[0].signCount;
  assert.ok(after > before, `the key signed the challenge (${before} → ${after})`);

  // Without the key (another browser), the password alone does not sign in, and a made-up
  // answer is refused.
  const other = await (await browser.newContext()).newPage();
  await other.goto(portal);
  await other.getByLabel("Username").fill("Kim");
  await other.getByLabel("Password", { exact: true }).fill("Kim-Passw0rd!");
  await other.getByRole("button", { name: "Sign in" }).click();
  await other.getByRole("button", { name: "Use security key" }).waitFor();
  const pending = await other.locator("input[name=pending]").inputValue();
  const forged = await other.request.post(`${portal}/signin/key`, { form: { pending, key_response: JSON.stringify({ id: "AAAA", rawId: "AAAA", type: "public-key", response: { clientDataJSON: "e30", authenticatorData: "AAAA", signature: "AAAA" } }) }, maxRedirects: 0 });
  assert.equal(forged.status(), 200);
  assert.ok((await forged.text()).includes("could not be verified"));
  assert.ok(!(forged.headers()["set-cookie"] || "").includes("portcullis-portal="));
});
