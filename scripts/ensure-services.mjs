// Makes sure the PostgreSQL and Redis servers the tests use are reachable, and that pgbouncer and Chromium are installed:
// uses running ones; on Debian (as root) installs and starts them; otherwise says what to start.
import { execSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import net from "node:net";

const pgUrl = new URL(process.env.TEST_DATABASE_URL || "postgres://postgres@127.0.0.1:5432/postgres");
const redisUrl = new URL(process.env.TEST_REDIS_URL || "redis://127.0.0.1:6379");
const services = [
  { name: "PostgreSQL", host: pgUrl.hostname, port: Number(pgUrl.port || 5432) },
  { name: "Redis", host: redisUrl.hostname, port: Number(redisUrl.port || 6379) },
];

function reachable({ host, port }) {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port, timeout: 1000 });
    socket.once("connect", () => { socket.destroy(); resolve(true); });
    socket.once("error", () => resolve(false));
    socket.once("timeout", () => { socket.destroy(); resolve(false); });
  });
}

async function waitFor(service, seconds) {
  for (let i = 0; i < seconds * 4; i++) {
    if (await reachable(service)) return true;
    await new Promise((r) => setTimeout(r, 250));
  }
  return false;
}

function sh(command) {
  execSync(command, { stdio: "inherit", env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
}

function hasCommand(command) {
  try { execSync(`command -v ${command}`, { stdio: "ignore", shell: "/bin/sh" }); return true; } catch { return false; }
}

function trustLocalConnections() {
  for (const version of readdirSync("/etc/postgresql")) {
    const hba = `/etc/postgresql/${version}/main/pg_hba.conf`;
    const text = readFileSync(hba, "utf8");
    const trusted = "host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust\nlocal all all trust\n";
    if (!text.startsWith(trusted)) writeFileSync(hba, trusted + text);
  }
}

function startPostgres() {
  if (!existsSync("/etc/postgresql")) sh("apt-get update -q && apt-get install -y -q postgresql");
  trustLocalConnections();
  for (const version of readdirSync("/etc/postgresql")) {
    sh(`pg_ctlcluster --skip-systemctl-redirect ${version} main start || pg_ctlcluster --skip-systemctl-redirect ${version} main reload`);
  }
}

function startRedis() {
  if (!hasCommand("redis-server")) sh("apt-get update -q && apt-get install -y -q redis-server");
  sh(`redis-server --daemonize yes --bind 127.0.0.1 --port ${services[1].port} --save "" --appendonly no`);
}

const starters = { PostgreSQL: startPostgres, Redis: startRedis };
const canInstall = existsSync("/etc/debian_version") && process.getuid?.() === 0;
// Not a service: test/integration/pgbouncer.test.ts starts its own pgbouncer in front of the test PostgreSQL.
if (!hasCommand("pgbouncer")) {
  if (canInstall) {
    console.log("pgbouncer is not installed; installing it");
    try { sh("apt-get update -q && apt-get install -y -q pgbouncer"); } catch (error) { console.error(String(error)); }
  }
  if (!hasCommand("pgbouncer")) console.error("pgbouncer is not installed: the PgBouncer tests need it (apt-get install pgbouncer)");
}
const missing = [];
for (const service of services) {
  if (await reachable(service)) continue;
  const local = service.host === "127.0.0.1" || service.host === "localhost";
  if (canInstall && local) {
    console.log(`${service.name} is not running on ${service.host}:${service.port}; installing/starting it`);
    try { starters[service.name](); } catch (error) { console.error(String(error)); }
    if (await waitFor(service, 30)) continue;
  }
  missing.push(service);
}
// The console's browser tests drive Debian's chromium through playwright-core (whose own download cannot run here).
const chromiumPath = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
if (!existsSync(chromiumPath)) {
  if (canInstall && !process.env.CHROMIUM_PATH) {
    console.log("chromium is not installed; installing it for the console's browser tests");
    try { sh("apt-get update -q && apt-get install -y -q chromium"); } catch (error) { console.error(String(error)); }
  }
  if (!existsSync(chromiumPath)) missing.push({ name: "Chromium", host: chromiumPath, port: "" });
}
if (missing.length > 0) {
  for (const s of missing) {
    if (s.name === "Chromium") console.error(`Chromium is not at ${s.host}: install Debian's chromium package or set CHROMIUM_PATH`);
    else console.error(`${s.name} is not reachable at ${s.host}:${s.port}: start it (trust auth for PostgreSQL) or set TEST_DATABASE_URL / TEST_REDIS_URL`);
  }
  process.exit(1);
}
