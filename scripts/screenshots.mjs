// Regenerates the README's pictures of the console: starts the app on the embedded default in a scratch
// DATA_DIR, runs `npm run demo` against it, signs in to /admin in Chromium (Debian's, through playwright-core)
// and saves the task board and a delivery's page to docs/. Run it with `npm run screenshots`.
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const dataDir = mkdtempSync(path.join(tmpdir(), "entourage-screenshots-"));

function freePort() {
  return new Promise((resolve) => {
    const server = net.createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

const port = await freePort();
const base = `http://127.0.0.1:${port}`;
// The embedded default: no database, Redis or GitHub App from the shell or a .env.
const env = {
  PATH: process.env.PATH, HOME: process.env.HOME, PORT: String(port), HOST: "127.0.0.1", DATA_DIR: dataDir,
  ENV_FILE: path.join(dataDir, ".env"), LOG_LEVEL: "warn",
};
const app = spawn(process.execPath, [path.join(root, "dist", "index.js")], { cwd: root, env, stdio: ["ignore", "inherit", "inherit"] });

async function waitForApp() {
  for (let i = 0; i < 120; i++) {
    try {
      if ((await globalThis.fetch(`${base}/api/v1/health`)).ok) return;
    } catch { /* not listening yet */ }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error("the app did not start");
}

let browser;
try {
  await waitForApp();
  const demo = spawnSync(process.execPath, [path.join(root, "dist", "cli", "demo.js")], { cwd: root, env, stdio: "inherit" });
  if (demo.status !== 0) throw new Error("the demo failed");
  const key = readFileSync(path.join(dataDir, "admin-api-key"), "utf8").trim();
  browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium", headless: true, args: ["--no-sandbox"] });
  const page = await browser.newPage({ viewport: { width: 1360, height: 760 }, deviceScaleFactor: 1 });
  await page.goto(`${base}/admin/login`);
  await page.fill("#key", key);
  await Promise.all([page.waitForNavigation(), page.click("button[type=submit]")]);

  await page.goto(`${base}/admin/tasks`);
  // The demo's critical issue, dragged to "in progress" as an admin would.
  const critical = page.locator(".task-card", { hasText: "Login broken on Safari" });
  const id = await critical.getAttribute("id");
  await Promise.all([page.waitForNavigation(), page.dragAndDrop(`#${id}`, 'section.column[data-status="in_progress"]')]);
  await page.waitForSelector("#live-state.on");
  await page.screenshot({ path: path.join(root, "docs", "console-board.png") });

  await page.goto(`${base}/admin/deliveries?event=issues`);
  await Promise.all([page.waitForNavigation(), page.click("#delivery-list tbody tr a")]);
  await page.waitForSelector("#live-state.on");
  await page.screenshot({ path: path.join(root, "docs", "console-delivery.png") });
  console.log("Wrote docs/console-board.png and docs/console-delivery.png");
} finally {
  await browser?.close();
  app.kill("SIGTERM");
  await new Promise((resolve) => app.once("exit", resolve));
  rmSync(dataDir, { recursive: true, force: true });
}
