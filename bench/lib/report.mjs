// The targets, checked against a run's figures, and the short table printed at the end.
import os from "node:os";
import { round } from "./services.mjs";

const errors = (load) => load.errors + load.timeouts;
const failures = (load) => load.non_2xx + errors(load);

const TARGETS = {
  ratio: 0.5,
  webAloneRatio: 0.8,
  processingPerS: 1500,
  sustainedShare: 0.98,
  p99AtRateMs: 50,
  endToEndP99Ms: 250,
  lastTaskAfterS: 10,
  /** Soak: the last minute's p99 and RSS may exceed the first minute's by this share, noise on a shared machine. */
  soakGrowth: 0.2,
};

/**
 * The soak's first and last minute, and whether p99 and each process's RSS stayed level between them. RSS is each
 * minute's lowest sample (after a collection), where there is one: a single sample lands anywhere on the
 * collector's sawtooth, and would call a process that collected just before the first minute ended grown.
 */
export function soakGrowth(soak) {
  // Minute 0 is the warm-up.
  const measured = soak.minutes.filter((minute) => minute.minute > 0);
  if (measured.length < 2) return undefined;
  const first = measured[0];
  const last = measured.at(-1);
  const level = (a, b) => b <= a * (1 + TARGETS.soakGrowth);
  const rss = (minute) => minute.rss_floor_mb ?? minute.rss_mb;
  // The app's processes: Redis holds the queue's backlog, which grows whenever processing falls behind.
  const grown = Object.keys(rss(first))
    .filter((name) => (name === "web" || name.startsWith("worker-")) && name in rss(last) && !level(rss(first)[name], rss(last)[name]));
  return { first, last, p99Level: level(Math.max(first.p99_ms, 1), last.p99_ms), rssGrown: grown };
}

/** Each target of issue 17 with its figure; missing a target is reported, never an error. */
export function targets(results) {
  const list = [];
  for (const row of results.ingest ?? []) {
    list.push({
      target: `ingest throughput ≥ ${TARGETS.ratio} × plain Probot (${row.size}, web + ${row.workers} workers)`,
      value: row.ratio,
      met: row.ratio >= TARGETS.ratio,
    });
    list.push({
      target: `ingest throughput ≥ ${TARGETS.webAloneRatio} × plain Probot (${row.size}, web process alone)`,
      value: row.web_alone_ratio,
      met: row.web_alone_ratio >= TARGETS.webAloneRatio,
    });
  }
  const scaling = new Map((results.scaling ?? []).map((row) => [row.workers, row]));
  if (scaling.has(1)) {
    const one = scaling.get(1).processed_per_s ?? 0;
    list.push({ target: `processing ≥ ${TARGETS.processingPerS} deliveries/s with 1 worker process`, value: one, met: one >= TARGETS.processingPerS });
    if (scaling.has(2)) {
      const two = scaling.get(2).processed_per_s ?? 0;
      list.push({ target: "processing with 2 worker processes > with 1", value: `${two} vs ${one}`, met: two > one });
    }
  }
  for (const row of results.rate ?? []) {
    const where = `at ${row.target_rate} req/s (${row.size}, ${row.workers} workers running)`;
    list.push({
      target: `${row.target_rate} req/s sustained (≥ ${TARGETS.sustainedShare} ×), no error ${where}`,
      value: row.requests_per_s,
      met: row.requests_per_s >= row.target_rate * TARGETS.sustainedShare && failures(row) === 0,
    });
    list.push({ target: `p99 time to 202 ≤ ${TARGETS.p99AtRateMs} ms ${where}`, value: row.latency_ms.p99, met: row.latency_ms.p99 <= TARGETS.p99AtRateMs });
    const e2e = row.stored?.end_to_end_ms;
    list.push({ target: `end-to-end p99 ≤ ${TARGETS.endToEndP99Ms} ms ${where}`, value: e2e?.p99 ?? null, met: Boolean(e2e) && e2e.p99 <= TARGETS.endToEndP99Ms });
  }
  if (results.bulk) {
    const { bulk } = results;
    const errors = bulk.non_2xx + bulk.errors + bulk.timeouts + bulk.stored.failed + bulk.stored.waiting;
    list.push({
      target: `${bulk.deliveries} deliveries → ${bulk.deliveries} tasks, 0 errors`,
      value: `${bulk.stored.tasks} tasks, ${errors} errors`,
      met: bulk.ok === bulk.deliveries && bulk.stored.tasks === bulk.deliveries && errors === 0,
    });
    list.push({
      target: `${bulk.deliveries} deliveries: last task ≤ ${TARGETS.lastTaskAfterS} s after the last delivery is accepted`,
      value: bulk.seconds_after_last_accepted,
      met: bulk.seconds_after_last_accepted <= TARGETS.lastTaskAfterS,
    });
  }
  const growth = results.soak && soakGrowth(results.soak);
  if (growth) {
    const { first, last, p99Level, rssGrown } = growth;
    list.push({ target: `soak: p99 of the last minute ≤ ${1 + TARGETS.soakGrowth} × the first's`, value: `${first.p99_ms} → ${last.p99_ms} ms`, met: p99Level });
    list.push({ target: `soak: lowest RSS of each app process in the last minute ≤ ${1 + TARGETS.soakGrowth} × in the first`, value: rssGrown.length ? `grew: ${rssGrown.join(", ")}` : "level", met: rssGrown.length === 0 });
  }
  return list;
}

function table(headers, rows) {
  const cells = [headers, ...rows.map((row) => row.map((c) => (c === null || c === undefined ? "-" : String(c))))];
  const widths = headers.map((_, i) => Math.max(...cells.map((row) => row[i].length)));
  return cells.map((row) => row.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ")).join("\n");
}

/**
 * What each process spent per request in each measured ingest run (with entourage's workers, until they had processed
 * the run's deliveries), and the pace at which that CPU would fill the machine's cores.
 */
function ingestCpuTable(ingest) {
  const runs = ingest.flatMap((row) => [[`plain Probot ${row.size}`, row.baseline], [`entourage ${row.size}`, row.app], [`web alone ${row.size}`, row.web_alone]])
    .filter(([, run]) => run.cpu_ms_per_request);
  if (runs.length === 0) return [];
  const names = [...new Set(runs.flatMap(([, run]) => Object.keys(run.cpu_ms_per_request)))];
  const cores = os.cpus().length;
  return [
    `\nCPU ms per request of each run, by process (the load generator is the bench itself), and the req/s at which ${cores} cores would be full`,
    table(["run", ...names, "total", "req/s CPU allows"], runs.map(([label, run]) => {
      const total = Object.values(run.cpu_ms_per_request).reduce((sum, ms) => sum + ms, 0);
      return [label, ...names.map((name) => run.cpu_ms_per_request[name] ?? "-"), round(total, 3), total > 0 ? Math.round((cores * 1000) / total) : "-"];
    })),
  ];
}

export function printReport(results, settings) {
  const out = [];
  if (results.ingest) {
    const workers = results.ingest[0]?.workers;
    out.push(`\nIngest: ${settings.connections} connections, ${settings.durationS} s after a ${settings.warmupS} s warm-up; entourage is web + ${workers} ` +
      "worker processes working as the load arrives, its stored deliveries and tasks counted once they are all processed");
    const rows = [];
    for (const row of results.ingest) {
      const { baseline, app, web_alone: alone } = row;
      const e2e = app.stored.end_to_end_ms;
      rows.push([`plain Probot ${row.size}`, baseline.requests_per_s, "", baseline.latency_ms.p50, baseline.latency_ms.p99, baseline.non_2xx, errors(baseline), baseline.ok, "", "", "", ""]);
      rows.push([`entourage    ${row.size}`, app.requests_per_s, row.ratio, app.latency_ms.p50, app.latency_ms.p99, app.non_2xx, errors(app),
        app.ok, app.stored.deliveries, app.stored.tasks, e2e?.p50, e2e?.p99]);
      rows.push([`  extra: web alone ${row.size}`, alone.requests_per_s, row.web_alone_ratio, alone.latency_ms.p50, alone.latency_ms.p99, alone.non_2xx, errors(alone),
        alone.ok, alone.stored, "", "", ""]);
    }
    out.push(table(["receiver", "req/s", "× baseline", "p50 ms", "p99 ms", "non-2xx", "errors", "2xx", "stored", "tasks", "e2e p50 ms", "e2e p99 ms"], rows));
    out.push(...ingestCpuTable(results.ingest));
  }
  const rateRows = [...(results.rate_web_alone ?? []), ...(results.rate ?? [])];
  if (rateRows.length > 0) {
    out.push(`\nFixed rate: ${settings.rate} req/s for ${settings.rateDurationS} s (workers 0: the web process alone)`);
    out.push(table(
      ["size", "workers", "req/s", "p50 ms", "p99 ms", "errors", "e2e p50 ms", "e2e p99 ms", "stored", "tasks"],
      rateRows.map((r) => [r.size, r.workers, r.requests_per_s, r.latency_ms.p50, r.latency_ms.p99, failures(r),
        r.stored?.end_to_end_ms?.p50, r.stored?.end_to_end_ms?.p99, r.stored?.deliveries, r.stored?.tasks]),
    ));
  }
  if (results.scaling) {
    out.push(`\nProcessing: ${settings.scalingDeliveries} queued deliveries (${settings.processingSize.name}) released to N worker processes`);
    out.push(table(
      ["workers", "processed/s", "seconds", "processed", "tasks"],
      results.scaling.map((r) => [r.workers, r.processed_per_s, r.seconds, r.processed, r.tasks]),
    ));
  }
  if (results.bulk) {
    const b = results.bulk;
    out.push(`\n${b.deliveries} deliveries (${settings.processingSize.name}), ${b.workers} worker processes: accepted ${b.ok}, ` +
      `tasks ${b.stored.tasks}, non-2xx ${b.non_2xx}, errors ${b.errors + b.timeouts}, failed ${b.stored.failed}, ` +
      `waiting ${b.stored.waiting}; ${b.requests_per_s} req/s, p99 ${b.latency_ms.p99} ms, e2e p99 ${b.stored.end_to_end_ms?.p99 ?? "-"} ms, ` +
      `last task after ${b.seconds_to_last_task} s, ${b.seconds_after_last_accepted} s after the last delivery was accepted`);
  }
  if (results.costs?.length > 0) {
    out.push("\nCost per phase: CPU seconds of each process, per 1,000 deliveries processed in the phase, and RSS at its end " +
      "(postgres and redis-server: the sums over all their processes on the machine, private memory only)");
    out.push(table(
      ["phase", "deliveries", "process", "CPU s", "CPU s / 1000", "RSS MiB"],
      results.costs.flatMap((c) => c.processes.map((p) => [c.phase, c.deliveries, p.process, p.cpu_s, p.cpu_s_per_1000, p.rss_mb])),
    ));
  }
  if (results.soak) {
    const { soak } = results;
    out.push(`\nSoak: ${soak.rate} req/s of ${soak.size} for ${soak.seconds} s after ${soak.warmup_s ?? 0} s of warm-up (minute 0, not compared), ${soak.workers} workers`);
    out.push("RSS MiB of each minute (lowest / at its end), then CPU s of each minute");
    const rows = soak.minutes;
    const names = Object.keys(rows[0]?.rss_mb ?? {});
    const busy = Object.keys(rows[0]?.cpu_s ?? {});
    out.push(table(
      ["minute", "req/s", "p99 ms", "e2e p99 ms", "failures", ...names, ...busy.map((n) => `${n} CPU s`)],
      rows.map((m) => [m.minute, m.requests_per_s, m.p99_ms, m.end_to_end_p99_ms, m.failures,
        ...names.map((n) => `${m.rss_floor_mb?.[n] ?? "-"} / ${m.rss_mb[n]}`), ...busy.map((n) => m.cpu_s?.[n] ?? "-")]),
    ));
  }
  // The web process and the busiest worker; every profile's summary is in the JSON.
  const workerProfiles = (results.profiles ?? []).filter((p) => p.process !== "web").sort((a, b) => b.busy_ms - a.busy_ms);
  for (const profile of [...(results.profiles ?? []).filter((p) => p.process === "web"), ...workerProfiles.slice(0, 1)]) {
    out.push(`\n${profile.process} CPU profile: ${profile.busy_ms} ms busy (${profile.gc_ms} ms GC); top self time`);
    out.push(table(["function", "self ms", "% busy"], profile.top_functions.slice(0, 12).map((f) => [f.name, f.self_ms, f.percent_of_busy])));
    out.push(table(["package", "self ms", "% busy"], profile.top_packages.slice(0, 8).map((f) => [f.name, f.self_ms, f.percent_of_busy])));
  }
  if (results.targets.length > 0) {
    out.push("\nTargets");
    for (const t of results.targets) out.push(`  ${t.met ? "met   " : "MISSED"}  ${t.target}: ${t.value ?? "-"}`);
  }
  if (results.error) out.push(`\nthe run broke: ${results.error}`);
  out.push(`\n${results.seconds} s in all`);
  console.log(out.join("\n"));
}
