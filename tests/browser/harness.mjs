// Shared pieces of the browser tests: a real `portcullis serve` on a free port with a fresh
// data directory and the test clock, and Debian's Chromium driven by playwright-core.
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { chromium } from "playwright-core";

const REPO = resolve(import.meta.dirname, "../..");
export const BIN = process.env.PORTCULLIS_BIN || join(REPO, "target/debug/portcullis");
export const SCREENSHOTS = join(REPO, "target/browser-screenshots");
const CHROMIUM = process.env.PORTCULLIS_CHROMIUM || "/usr/bin/chromium";

/** Starts a server (with `extraArgs` for `serve`); resolves to {base, port, rootPassword,
 * dataDir, stop, bootstrapAdmin}. */
export async function startServer(extraArgs = []) {
  const dataDir = mkdtempSync(join(tmpdir(), "portcullis-browser-"));
  const proc = spawn(BIN, ["serve", "--listen", "127.0.0.1:0", "--test-clock", "--data-dir", dataDir, ...extraArgs], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let log = "";
  proc.stderr.on("data", (d) => { log += d; });
  const info = await new Promise((ok, fail) => {
    let out = "";
    const timer = setTimeout(() => fail(new Error(`server did not start:\n${out}\n${log}`)), 60_000);
    proc.stdout.on("data", (d) => {
      out += d;
      const listening = out.match(/listening on http:\/\/127\.0\.0\.1:(\d+)/);
      if (listening) {
        clearTimeout(timer);
        ok({ port: Number(listening[1]), rootPassword: out.match(/shown only now\): (\S+)/)?.[1] });
      }
    });
    proc.on("exit", (code) => fail(new Error(`server exited (${code}):\n${out}\n${log}`)));
  });
  // WebAuthn refuses IP addresses, so pages are opened as localhost.
  const base = `http://localhost:${info.port}`;
  return {
    base,
    port: info.port,
    rootPassword: info.rootPassword,
    dataDir,
    log: () => log,
    /** Adds an administrator user with an access key (the CLI, as the README shows). */
    bootstrapAdmin(name) {
      return execFileSync(BIN, ["bootstrap-admin", "--user-name", name, "--data-dir", dataDir], { encoding: "utf8" });
    },
    /** Moves the server's clock. */
    async advance(seconds) {
      const r = await fetch(`http://127.0.0.1:${info.port}/_portcullis/clock`, {
        method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ advance_seconds: seconds }),
      });
      return (await r.json()).now;
    },
    async stop() {
      proc.kill("SIGTERM");
      await new Promise((ok) => proc.once("exit", ok));
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export async function launchBrowser() {
  mkdirSync(SCREENSHOTS, { recursive: true });
  return chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", "--disable-dev-shm-usage"] });
}

export async function screenshot(page, name) {
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}
