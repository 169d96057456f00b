// npm run bench: the app (web + worker processes on PostgreSQL and Redis) side by side with a plain
// Probot receiver, in one run. See bench/README.md for what each phase measures and the knobs.
import { execFile } from "node:child_process";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import { Children, freePort } from "./lib/children.mjs";
import { sendDeliveries } from "./lib/load.mjs";
import { deliveryMaker, issueNumbers, issueOpenedTemplate, PAYLOAD_OWNER } from "./lib/payloads.mjs";
import { phaseCost, snapshot } from "./lib/process-stats.mjs";
import { summarizeProfile } from "./lib/profile.mjs";
import { printReport, targets } from "./lib/report.mjs";
import { appDatabase, cleanRedisPrefix, createDatabase, deliveryQueue, dropDatabase, leftoverDatabases, round } from "./lib/services.mjs";
import { loadSettings, SettingsError } from "./lib/settings.mjs";

const { fetch } = globalThis;
const BASELINE_SCRIPT = fileURLToPath(new URL("./baseline-receiver.mjs", import.meta.url));
const FAKE_GITHUB_SCRIPT = fileURLToPath(new URL("./fake-github.mjs", import.meta.url));
const READY_TIMEOUT_MS = 60_000;
const POLL_MS = 100;
/** A run's database is `<stem>_<pid>_<random>`, its Redis prefix `bench_<pid>_<random>`. */
const DATABASE_STEM = "entourage_bench";
const redisPrefix = (runId) => `bench_${runId}`;

/** Undo steps, run last-in first-out once, on success, failure or Ctrl-C. */
const undo = [];
let children;
let cleaning;

function cleanup() {
  cleaning ??= (async () => {
    await children?.stopAll().catch(() => children.killAllNow());
    for (const step of undo.reverse()) {
      try {
        await step();
      } catch (error) {
        console.error(`bench: cleanup step failed: ${error.message}`);
      }
    }
  })();
  return cleaning;
}

for (const signal of ["SIGINT", "SIGTERM"]) {
  process.once(signal, () => {
    console.error(`\nbench: ${signal}, stopping the processes and removing the database`);
    void cleanup().finally(() => process.exit(signal === "SIGINT" ? 130 : 143));
  });
}
process.on("exit", () => children?.killAllNow());

async function waitUntil(what, timeoutMs, check) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    children.check();
    const value = await check().catch(() => undefined);
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(POLL_MS);
  }
}

/** A service URL fit for the results file. */
function withoutPassword(url) {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = "***";
  return parsed.toString();
}

const answers = (port, urlPath) => async () => (await fetch(`http://127.0.0.1:${port}${urlPath}`)).ok;

/** A database and a Redis prefix of the run's own, removed at the end. */
async function scratchServices(settings, id) {
  const database = await createDatabase(settings.postgresUrl, `${DATABASE_STEM}_${id}`);
  undo.push(() => database.drop());
  const prefix = redisPrefix(id);
  undo.push(() => cleanRedisPrefix(settings.redisUrl, prefix));
  const db = appDatabase(database.url);
  undo.push(() => db.close());
  return { database, prefix, db };
}

async function main(settings, results) {
  const dist = path.join(settings.appDir, "dist");
  if (!existsSync(path.join(dist, "index.js"))) throw new SettingsError(`${dist}/index.js is missing: run npm run build first`);
  // Runs killed outright (SIGKILL) leave their databases and keys behind: remove those first.
  for (const name of await leftoverDatabases(settings.postgresUrl, DATABASE_STEM)) {
    await dropDatabase(settings.postgresUrl, name);
    await cleanRedisPrefix(settings.redisUrl, redisPrefix(name.slice(DATABASE_STEM.length + 1)));
    console.log(`bench: removed ${name}, left by a run that was killed`);
  }
  const runId = `${process.pid}_${randomBytes(3).toString("hex")}`;
  const workDir = mkdtempSync(path.join(os.tmpdir(), "entourage-bench-"));
  let keepLogs = true;
  undo.push(() => (keepLogs ? undefined : rmSync(workDir, { recursive: true, force: true })));
  children = new Children(workDir);
  console.log(`bench: logs in ${workDir}`);
  const say = (line) => console.log(`bench: ${line}`);

  // The workers call GitHub (installation tokens, repository settings, comments): a stand-in answers on this machine.
  const githubPort = await freePort();
  children.start("github", FAKE_GITHUB_SCRIPT, { cwd: path.dirname(FAKE_GITHUB_SCRIPT), port: githubPort, env: { PORT: String(githubPort) } });
  await waitUntil("the stand-in GitHub API", READY_TIMEOUT_MS, answers(githubPort, "/_bench/calls"));

  const secret = randomBytes(24).toString("hex");
  const appEnv = {
    REDIS_URL: settings.redisUrl,
    APP_ID: "424242",
    PRIVATE_KEY: generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ type: "pkcs1", format: "pem" }).toString(),
    WEBHOOK_SECRET: secret,
    JWT_SECRET: randomBytes(32).toString("hex"),
    ENCRYPTION_KEY: randomBytes(32).toString("hex"),
    LOG_LEVEL: "warn",
    HOST: "127.0.0.1",
    DATA_DIR: path.join(workDir, "data"),
    GHE_HOST: `127.0.0.1:${githubPort}`,
    GHE_PROTOCOL: "http",
    ...(settings.workerConcurrency ? { WORKER_CONCURRENCY: String(settings.workerConcurrency) } : {}),
  };

  const profiles = [];
  /** With BENCH_PROFILE=1 each app process writes a V8 CPU profile next to the results when it stops. */
  const profiled = (name) => {
    if (!settings.profile) return [];
    const file = `${results.started_at.replace(/[:.]/g, "-")}-${name}.cpuprofile`;
    profiles.push({ name, file: path.join(settings.resultsDir, file) });
    return ["--cpu-prof", `--cpu-prof-dir=${settings.resultsDir}`, `--cpu-prof-name=${file}`];
  };
  const startApp = async (name, role, env) => {
    const port = await freePort();
    const child = children.start(name, path.join(dist, "index.js"), {
      cwd: workDir,
      port,
      env: { ...env, ROLE: role, PORT: String(port) },
      nodeArgs: profiled(name),
    });
    await waitUntil(name, READY_TIMEOUT_MS, answers(port, "/api/v1/health"));
    return child;
  };

  const numbers = issueNumbers();
  const templates = new Map([...settings.sizes, ...settings.rateSizes, settings.processingSize].map((size) => [size.name, issueOpenedTemplate(size.bytes)]));
  const send = (port, size, tag, options) => {
    const template = templates.get(size.name);
    return sendDeliveries({ port, makeDelivery: deliveryMaker({ template, secret, tag, numbers }), connections: settings.connections, ...options });
  };

  // Web and workers on the main database, whose organization gets the tasks: what a user runs.
  const { database, prefix, db } = await scratchServices(settings, runId);
  const env = { ...appEnv, DATABASE_URL: database.url, QUEUE_PREFIX: prefix };
  await promisify(execFile)(process.execPath, [path.join(dist, "cli", "admin.js"), "bootstrap", "--org", "bench", "--github-login", PAYLOAD_OWNER],
    { cwd: workDir, env: { ...process.env, ...env }, timeout: READY_TIMEOUT_MS });
  await db.clockTaskCommits();
  const queue = deliveryQueue(settings.redisUrl, prefix);
  undo.push(() => queue.close());
  const webPort = (await startApp("web", "web", env)).port;

  const workers = [];
  let workersStarted = 0;
  /** Starts or stops worker processes until `count` of them work the delivery queue. */
  async function setWorkers(count) {
    while (workers.length > count) await children.stop(workers.pop());
    while (workers.length < count) workers.push(await startApp(`worker-${++workersStarted}`, "worker", env));
    await waitUntil(`${count} queue workers`, READY_TIMEOUT_MS, async () => (await queue.workers()) === count);
  }

  /** Waits until no delivery of the phase is left in `received`: deliveries that never get processed mean the app is broken here. */
  async function drain(tag) {
    try {
      await waitUntil(`the ${tag} deliveries to be processed`, settings.drainTimeoutS * 1000, async () => (await db.waitingIn(tag)) === 0);
    } catch (error) {
      children.check();
      const left = await db.waitingIn(tag);
      const lastError = await db.lastError(tag);
      throw new Error(`${left} ${tag} deliveries still waiting after ${settings.drainTimeoutS} s${lastError ? `; last processing error: ${lastError}` : ""}`, { cause: error });
    }
  }

  /** The app's processes running now (web, workers), for CPU and memory figures. */
  const appProcesses = () => [...children.running]
    .filter((child) => child.name === "web" || child.name.startsWith("worker-"))
    .map((child) => ({ name: child.name, pid: child.process.pid }));
  results.costs = [];
  /** Starts measuring what the app's processes spend; the returned function ends it, per delivery processed meanwhile. */
  const startCost = async (phase) => {
    const before = snapshot(appProcesses());
    const { processed } = await db.totals();
    return async () => {
      const count = (await db.totals()).processed - processed;
      results.costs.push({ phase, deliveries: count, processes: phaseCost(before, snapshot(appProcesses()), count) });
    };
  };

  if (settings.phases.has("ingest")) {
    const ingestCost = await startCost("ingest");
    await setWorkers(settings.workers);
    const baselinePort = await freePort();
    const baseline = children.start("baseline", BASELINE_SCRIPT, {
      cwd: path.dirname(BASELINE_SCRIPT),
      port: baselinePort,
      env: { PORT: String(baselinePort), APP_ID: appEnv.APP_ID, PRIVATE_KEY: appEnv.PRIVATE_KEY, WEBHOOK_SECRET: secret },
    });
    await waitUntil("the baseline receiver", READY_TIMEOUT_MS, answers(baselinePort, "/health"));
    // The extra row: the web process alone (verify, store, queue) on a database of its own that no worker processes.
    const alone = await scratchServices(settings, `${runId}_alone`);
    const webAlone = await startApp("web-alone", "web", { ...appEnv, DATABASE_URL: alone.database.url, QUEUE_PREFIX: alone.prefix });
    // No task is made there, but the phase query reads the clock's table.
    await alone.db.clockTaskCommits();

    /** Every process that may spend CPU on a request: the receivers, the workers, the services and the load generator (this process). */
    const everyProcess = () => [...[...children.running].map((child) => ({ name: child.name, pid: child.process.pid })), { name: "load generator", pid: process.pid }];
    /**
     * A warm-up, then the measured run; `settle` runs between the two, `finish` after the run (the workers' backlog).
     * The run's `cpu_ms_per_request` is what each process spent from its start to the end of `finish`, per 2xx.
     */
    const measure = async (label, port, size, tag, { settle, finish } = {}) => {
      say(`ingest ${size.name} → ${label}: ${settings.warmupS} s warm-up, ${settings.durationS} s at ${settings.connections} connections`);
      if (settings.warmupS > 0) {
        await send(port, size, "warmup", { durationS: settings.warmupS });
        await settle?.();
      }
      children.check();
      const before = snapshot(everyProcess());
      const load = await send(port, size, tag, { durationS: settings.durationS });
      await finish?.();
      const spent = phaseCost(before, snapshot(everyProcess()), load.ok);
      load.cpu_ms_per_request = Object.fromEntries(spent.filter((row) => row.cpu_s > 0).map((row) => [row.process, row.cpu_s_per_1000]));
      children.check();
      return load;
    };
    results.ingest = [];
    for (const size of settings.sizes) {
      const tag = `ingest-${size.name}`;
      const row = { size: size.name, payload_bytes: templates.get(size.name).bytes, workers: settings.workers };
      row.baseline = await measure("plain Probot", baselinePort, size, tag);
      // The warm-up's backlog is processed first, so that the measured deliveries do not queue behind it.
      row.app = await measure(`app, web + ${settings.workers} workers`, webPort, size, tag, {
        settle: () => drain("warmup"),
        finish: async () => {
          say(`ingest ${size.name}: waiting for the workers to process the backlog`);
          await drain(tag);
        },
      });
      row.app.stored = await db.phase(tag);
      row.ratio = round(row.app.requests_per_s / row.baseline.requests_per_s, 2);
      row.web_alone = await measure("web process alone", webAlone.port, size, tag);
      row.web_alone.stored = (await alone.db.phase(tag)).deliveries;
      row.web_alone_ratio = round(row.web_alone.requests_per_s / row.baseline.requests_per_s, 2);
      results.ingest.push(row);
    }
    // The time to 202 at the fixed rate with no worker beside the web process: what ingest alone costs.
    results.rate_web_alone = [];
    for (const size of settings.phases.has("rate") ? settings.rateSizes : []) {
      say(`fixed rate ${settings.rate} req/s, ${size.name}, web process alone: ${settings.rateDurationS} s`);
      const load = await send(webAlone.port, size, `rate-alone-${size.name}`, { durationS: settings.rateDurationS, overallRate: settings.rate });
      results.rate_web_alone.push({ size: size.name, workers: 0, target_rate: settings.rate, ...load });
    }
    await children.stop(baseline);
    await children.stop(webAlone);
    await ingestCost();
  }

  const { processingSize } = settings;
  if (settings.phases.has("bulk")) {
    await setWorkers(settings.workers);
    say(`${settings.bulkDeliveries} deliveries (${processingSize.name}) at ${settings.connections} connections, ${settings.workers} worker processes running`);
    const bulkCost = await startCost("bulk");
    const started = Date.now();
    const load = await send(webPort, processingSize, "bulk", { amount: settings.bulkDeliveries, connections: Math.min(settings.connections, settings.bulkDeliveries) });
    const lastAccepted = Date.now();
    await drain("bulk");
    const stored = await db.phase("bulk");
    await bulkCost();
    const lastTask = stored.last_committed ? new Date(stored.last_committed).getTime() : Date.now();
    results.bulk = { deliveries: settings.bulkDeliveries, workers: settings.workers, ...load, stored,
      seconds_to_last_task: round((lastTask - started) / 1000, 1),
      seconds_after_last_accepted: round(Math.max(0, lastTask - lastAccepted) / 1000, 1) };
    if (stored.tasks !== stored.deliveries) results.bulk.sample_problem = await db.sampleProblem("bulk");
  }

  if (settings.phases.has("rate")) {
    await setWorkers(settings.rateWorkers);
    results.rate = [];
    for (const size of settings.rateSizes) {
      say(`fixed rate ${settings.rate} req/s, ${size.name}, ${settings.rateWorkers} worker process(es): ${settings.rateDurationS} s`);
      // After the ingest or bulk run the processes are warm already.
      if (!results.ingest && !results.bulk && settings.warmupS > 0) {
        await send(webPort, size, "warmup", { durationS: settings.warmupS, overallRate: settings.rate });
        await drain("warmup");
      }
      const rateCost = await startCost(`rate-${size.name}`);
      const load = await send(webPort, size, `rate-${size.name}`, { durationS: settings.rateDurationS, overallRate: settings.rate });
      await drain(`rate-${size.name}`);
      await rateCost();
      results.rate.push({ size: size.name, workers: settings.rateWorkers, target_rate: settings.rate, ...load, stored: await db.phase(`rate-${size.name}`) });
    }
  }

  if (settings.phases.has("scaling")) {
    results.scaling = [];
    for (const count of settings.scalingWorkers) {
      const tag = `scale-${count}`;
      say(`scaling: ${settings.scalingDeliveries} deliveries (${processingSize.name}) queued, then ${count} worker process(es)`);
      await queue.pause();
      await setWorkers(count);
      const load = await send(webPort, processingSize, tag, { amount: settings.scalingDeliveries, connections: Math.min(settings.connections, settings.scalingDeliveries) });
      // Measured from the release: what processing alone costs, the web process's part of it already spent.
      const scalingCost = await startCost(tag);
      const resumedAt = Date.now();
      await queue.resume();
      await drain(tag);
      await scalingCost();
      const stored = await db.phase(tag);
      const seconds = stored.last_processed ? (new Date(stored.last_processed).getTime() - resumedAt) / 1000 : null;
      results.scaling.push({
        workers: count,
        deliveries: settings.scalingDeliveries,
        accepted: load.ok,
        processed: stored.processed,
        seconds: seconds === null ? null : round(seconds, 2),
        processed_per_s: seconds ? round(stored.processed / seconds, 0) : null,
        tasks: stored.tasks,
      });
    }
  }

  if (settings.phases.has("soak")) await soak(settings, results, { setWorkers, send, drain, db, webPort, appProcesses, say });

  results.totals = await db.totals();
  results.github_calls = await (await fetch(`http://127.0.0.1:${githubPort}/_bench/calls`)).json();
  // Stopped by SIGTERM, so profiled processes write their profiles.
  await children.stopAll();
  if (settings.profile) results.profiles = profiles.filter((p) => existsSync(p.file)).map((p) => ({ process: p.name, ...summarizeProfile(p.file) }));
  keepLogs = false;
}

/**
 * BENCH_SOAK_S at BENCH_SOAK_RATE req/s, with workers running, in one-minute slices: each slice's p99 time to
 * 202, end-to-end p99, every process's CPU seconds, and every app process's RSS at its end and at its lowest (sampled
 * each second), so that growth from the first minute to the last shows. The lowest is what the heap keeps after a
 * collection: a leak raises it, while the end sample also catches wherever the collector's sawtooth happens to be.
 * BENCH_SOAK_WARMUP_S at the same rate come first, reported as minute 0 and not compared: freshly started processes
 * grow their heaps and compile their code then, which is not growth over time.
 */
async function soak(settings, results, { setWorkers, send, drain, db, webPort, appProcesses, say }) {
  await setWorkers(settings.workers);
  const size = settings.rateSizes[0];
  say(`soak: ${settings.soakRate} req/s of ${size.name} for ${settings.soakWarmupS} s of warm-up, then ${settings.soakS} s in one-minute slices, ${settings.workers} worker processes`);
  const slice = async (minute, seconds) => {
    const floor = {};
    const sampler = setInterval(() => {
      for (const [name, sample] of snapshot(appProcesses())) if (sample) floor[name] = Math.min(floor[name] ?? Infinity, sample.rss_mb);
    }, 1000);
    const before = snapshot(appProcesses());
    const load = await send(webPort, size, `soak-${minute}`, { durationS: seconds, overallRate: settings.soakRate }).finally(() => clearInterval(sampler));
    const after = snapshot(appProcesses());
    const rss = Object.fromEntries([...after].filter(([, s]) => s).map(([name, s]) => [name, s.rss_mb]));
    return {
      minute, seconds, requests_per_s: load.requests_per_s, p99_ms: load.latency_ms.p99, failures: load.non_2xx + load.errors + load.timeouts,
      rss_mb: rss, rss_floor_mb: Object.fromEntries(Object.keys(rss).map((name) => [name, Math.min(floor[name] ?? rss[name], rss[name])])),
      cpu_s: Object.fromEntries(phaseCost(before, after, 0).map((row) => [row.process, row.cpu_s])),
    };
  };
  const minutes = settings.soakWarmupS > 0 ? [await slice(0, settings.soakWarmupS)] : [];
  for (let done = 0, minute = 1; done < settings.soakS; minute += 1) {
    const seconds = Math.min(60, settings.soakS - done);
    minutes.push(await slice(minute, seconds));
    done += seconds;
  }
  for (const row of minutes) {
    await drain(`soak-${row.minute}`);
    row.end_to_end_p99_ms = (await db.phase(`soak-${row.minute}`)).end_to_end_ms?.p99 ?? null;
  }
  results.soak = { rate: settings.soakRate, size: size.name, seconds: settings.soakS, warmup_s: settings.soakWarmupS, workers: settings.workers, minutes };
}

const startedAt = new Date();
const results = {
  started_at: startedAt.toISOString(),
  machine: { cpus: os.cpus().length, cpu_model: os.cpus()[0]?.model, node: process.version, load_average_at_start: os.loadavg().map((l) => round(l, 2)) },
};
let exitCode = 0;
try {
  const settings = loadSettings();
  results.settings = { ...settings, phases: [...settings.phases], postgresUrl: withoutPassword(settings.postgresUrl), redisUrl: withoutPassword(settings.redisUrl) };
  mkdirSync(settings.resultsDir, { recursive: true });
  try {
    await main(settings, results);
  } catch (error) {
    exitCode = 1;
    results.error = error.message;
    console.error(`bench: ${error instanceof SettingsError ? error.message : error.stack}`);
  } finally {
    await cleanup();
  }
  results.finished_at = new Date().toISOString();
  results.seconds = round((Date.now() - startedAt.getTime()) / 1000, 0);
  results.targets = targets(results);
  const file = path.join(settings.resultsDir, `${results.started_at.replace(/[:.]/g, "-")}.json`);
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  printReport(results, settings);
  console.log(`\nresults: ${path.relative(process.cwd(), file)}`);
} catch (error) {
  exitCode = 1;
  console.error(`bench: ${error instanceof SettingsError ? error.message : error.stack}`);
  await cleanup();
}
process.exit(exitCode);
