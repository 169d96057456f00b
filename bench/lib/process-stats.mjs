// CPU time and resident memory of the app's processes and of the services, read from /proc (Linux).
import { readdirSync, readFileSync } from "node:fs";
import { round } from "./services.mjs";

/** Clock ticks per second of /proc/<pid>/stat's utime and stime: 100 on Linux. */
const TICKS_PER_S = 100;

/**
 * CPU seconds (user + system) and RSS in MiB of one process (`anon`: only its private memory; `reaped`: also the CPU
 * of its children that have exited and been waited for); undefined once it is gone.
 */
export function processSample(pid, { anon = false, reaped = false } = {}) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name may hold spaces: fields are counted after its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ticks = Number(fields[11]) + Number(fields[12]) + (reaped ? Number(fields[13]) + Number(fields[14]) : 0);
    const cpuS = ticks / TICKS_PER_S;
    const field = anon ? /RssAnon:\s+(\d+)/ : /VmRSS:\s+(\d+)/;
    const rssKb = Number(field.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0);
    return { cpu_s: cpuS, rss_mb: round(rssKb / 1024, 0) };
  } catch {
    return undefined;
  }
}

/**
 * The sum over every process named `name` (all postgres backends, redis-server): machine-wide, so other work counts
 * too. CPU includes the processes that have exited since (a backend, an autovacuum worker), through their parent's
 * count of reaped children, so that it never goes down between two samples. Memory is their private memory:
 * PostgreSQL's shared buffers would count once per backend otherwise.
 */
export function serviceSample(name) {
  let cpuS = 0;
  let rssMb = 0;
  let found = 0;
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let comm;
    try {
      comm = readFileSync(`/proc/${entry}/comm`, "utf8").trim();
    } catch {
      continue;
    }
    if (comm !== name) continue;
    const sample = processSample(entry, { anon: true, reaped: true });
    if (!sample) continue;
    found += 1;
    cpuS += sample.cpu_s;
    rssMb += sample.rss_mb;
  }
  return found === 0 ? undefined : { cpu_s: cpuS, rss_mb: rssMb };
}

/** A snapshot of the named processes and of the services. */
export function snapshot(processes) {
  const taken = new Map();
  for (const { name, pid } of processes) taken.set(name, processSample(pid));
  for (const service of ["postgres", "redis-server"]) taken.set(service, serviceSample(service));
  return taken;
}

/**
 * What each process spent between two snapshots: CPU seconds, CPU seconds per 1,000 deliveries of the phase,
 * and its RSS at the end (for the services, the sum over their processes).
 */
export function phaseCost(before, after, deliveries) {
  const rows = [];
  for (const [name, end] of after) {
    if (!end) continue;
    const start = before.get(name);
    const cpuS = start ? end.cpu_s - start.cpu_s : end.cpu_s;
    rows.push({
      process: name,
      cpu_s: round(cpuS, 2),
      cpu_s_per_1000: deliveries > 0 ? round((cpuS / deliveries) * 1000, 2) : null,
      rss_mb: end.rss_mb,
    });
  }
  return rows;
}
