// Compiles src/ to dist/ with tsc, and stamps dist/ with the time the build started.
// With --if-changed it compiles only when a source, a tsconfig or the package files changed since that stamp,
// so that `npm start`, `npm run admin` and `npm run demo` start at once when nothing changed.
import { spawnSync } from "node:child_process";
import { closeSync, cpSync, existsSync, mkdirSync, openSync, readdirSync, statSync, utimesSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const stamp = path.join(root, "dist", ".build-stamp");
const inputs = ["src", "tsconfig.json", "tsconfig.build.json", "package.json", "package-lock.json"];

/** The newest modification time under a path; a folder counts too, as deleting or renaming a file changes it. */
function newestChange(file) {
  const stats = statSync(file, { throwIfNoEntry: false });
  if (!stats) return 0;
  if (!stats.isDirectory()) return stats.mtimeMs;
  return readdirSync(file).reduce((newest, name) => Math.max(newest, newestChange(path.join(file, name))), stats.mtimeMs);
}

function upToDate() {
  if (!existsSync(stamp)) return false;
  const built = statSync(stamp).mtimeMs;
  return inputs.every((input) => newestChange(path.join(root, input)) <= built);
}

// A package without its sources (the Docker image) runs what dist/ holds.
if (process.argv.includes("--if-changed") && (!existsSync(path.join(root, "src")) || upToDate())) process.exit(0);

const started = new Date();
const tsc = spawnSync(process.execPath, [path.join(root, "node_modules", "typescript", "bin", "tsc"), "-p", path.join(root, "tsconfig.build.json")], {
  cwd: root,
  stdio: "inherit",
});
if (tsc.status !== 0) process.exit(tsc.status ?? 1);
// The console's script and style sheet are served as they are, from beside its compiled modules.
const assets = path.join(root, "src", "console", "assets");
if (existsSync(assets)) cpSync(assets, path.join(root, "dist", "console", "assets"), { recursive: true });
mkdirSync(path.dirname(stamp), { recursive: true });
closeSync(openSync(stamp, "w"));
// The start time, not the end: a source saved while tsc ran is newer than the stamp and is built next time.
utimesSync(stamp, started, started);
