// The issue's targets, checked against a run's figures, and the short table printed at the end.

const TARGETS = { ratio: 0.6, p99AtRateMs: 50, endToEndP99Ms: 250 };

/** Each target with its figure; missing a target is reported, never an error. */
export function targets(results) {
  const list = [];
  for (const row of results.ingest ?? []) {
    list.push({
      target: `ingest throughput ≥ ${TARGETS.ratio} × plain Probot (${row.size}, web + ${row.workers} workers)`,
      value: row.ratio,
      met: row.ratio >= TARGETS.ratio,
    });
  }
  for (const row of [...(results.rate_web_alone ?? []), ...(results.rate ?? [])]) {
    list.push({
      target: `p99 time to 202 ≤ ${TARGETS.p99AtRateMs} ms at ${row.target_rate} req/s (${row.size}, ${row.workers ? `${row.workers} workers running` : "web process alone"})`,
      value: row.latency_ms.p99,
      met: row.latency_ms.p99 <= TARGETS.p99AtRateMs && row.non_2xx + row.errors === 0,
    });
    if (!row.stored) continue;
    const e2e = row.stored.end_to_end_ms;
    list.push({
      target: `end-to-end p99 ≤ ${TARGETS.endToEndP99Ms} ms at ${row.target_rate} req/s (${row.size})`,
      value: e2e?.p99 ?? null,
      met: e2e !== null && e2e.p99 <= TARGETS.endToEndP99Ms,
    });
  }
  if (results.bulk) {
    const { bulk } = results;
    const errors = bulk.non_2xx + bulk.errors + bulk.timeouts + bulk.stored.failed + bulk.stored.waiting;
    list.push({
      target: `${bulk.deliveries} deliveries → ${bulk.deliveries} tasks, 0 errors`,
      value: `${bulk.stored.tasks} tasks, ${errors} errors`,
      met: bulk.ok === bulk.deliveries && bulk.stored.tasks === bulk.deliveries && errors === 0,
    });
  }
  return list;
}

function table(headers, rows) {
  const cells = [headers, ...rows.map((row) => row.map((c) => (c === null || c === undefined ? "-" : String(c))))];
  const widths = headers.map((_, i) => Math.max(...cells.map((row) => row[i].length)));
  return cells.map((row) => row.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ")).join("\n");
}

const errors = (load) => load.errors + load.timeouts;
const failures = (load) => load.non_2xx + errors(load);

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
      `last task after ${b.seconds_to_last_task} s`);
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
