// Self time of a V8 .cpuprofile (node --cpu-prof), by function and by package.
import { readFileSync } from "node:fs";
import { round } from "./services.mjs";

const NOT_JS = new Set(["(idle)", "(program)", "(garbage collector)", "(root)"]);

function packageOf(url) {
  if (!url) return "(native)";
  if (url.startsWith("node:")) return "node";
  const modules = url.lastIndexOf("/node_modules/");
  if (modules >= 0) {
    const [first, second] = url.slice(modules + "/node_modules/".length).split("/");
    return first.startsWith("@") ? `${first}/${second}` : first;
  }
  const dist = url.indexOf("/dist/");
  return dist >= 0 ? `app ${url.slice(dist + 1).replace(/^file:\/\//, "")}` : url.replace(/^file:\/\//, "");
}

function shortUrl(url) {
  if (!url) return "";
  const modules = url.lastIndexOf("/node_modules/");
  if (modules >= 0) return url.slice(modules + "/node_modules/".length);
  const dist = url.indexOf("/dist/");
  return dist >= 0 ? url.slice(dist + 1) : url.replace(/^file:\/\//, "");
}

/** Top functions and packages by self time; idle, GC and "(program)" are reported apart. */
export function summarizeProfile(file, top = 15) {
  const profile = JSON.parse(readFileSync(file, "utf8"));
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfUs = new Map();
  profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));

  const functions = new Map();
  const packages = new Map();
  const special = new Map();
  let busyUs = 0;
  for (const [id, us] of selfUs) {
    const { callFrame } = byId.get(id);
    const name = callFrame.functionName || "(anonymous)";
    if (NOT_JS.has(name)) {
      special.set(name, (special.get(name) ?? 0) + us);
      if (name !== "(idle)") busyUs += us;
      continue;
    }
    busyUs += us;
    const key = `${name} ${shortUrl(callFrame.url)}:${callFrame.lineNumber + 1}`;
    functions.set(key, (functions.get(key) ?? 0) + us);
    const pkg = packageOf(callFrame.url);
    packages.set(pkg, (packages.get(pkg) ?? 0) + us);
  }
  const ranked = (map) =>
    [...map]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, us]) => ({ name, self_ms: round(us / 1000, 0), percent_of_busy: round((100 * us) / busyUs, 1) }));
  return {
    file,
    busy_ms: round(busyUs / 1000, 0),
    idle_ms: round((special.get("(idle)") ?? 0) / 1000, 0),
    gc_ms: round((special.get("(garbage collector)") ?? 0) / 1000, 0),
    program_ms: round((special.get("(program)") ?? 0) / 1000, 0),
    top_functions: ranked(functions),
    top_packages: ranked(packages),
  };
}
