import { FatalRunnerError, runRunner } from "../runner/loop.js";
import { parseRunnerSettings, RUNNER_USAGE, SettingsError } from "../runner/settings.js";

// The agent runner: `npm run agent -- --url … --key … --preset claude`. See src/runner/.

function fail(message: string): never {
  process.stderr.write(`runner: ${message}\n`);
  process.exit(2);
}

const argv = process.argv.slice(2);
if (argv.includes("--help") || argv.includes("-h")) {
  process.stdout.write(`${RUNNER_USAGE}\n`);
  process.exit(0);
}

let settings;
try {
  settings = parseRunnerSettings(argv, process.env);
} catch (error) {
  if (!(error instanceof SettingsError)) throw error;
  fail(`${error.message} (--help shows every setting)`);
}

// The first SIGINT/SIGTERM stops the runner cleanly (the run in progress is finished as stopped); a second one exits now.
const stop = new AbortController();
const onSignal = (signal: NodeJS.Signals) => {
  if (stop.signal.aborted) process.exit(signal === "SIGINT" ? 130 : 143);
  process.stderr.write(`runner: ${signal}: stopping\n`);
  stop.abort();
};
process.on("SIGINT", onSignal);
process.on("SIGTERM", onSignal);

try {
  await runRunner(settings, {
    stopSignal: stop.signal,
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
  });
  process.exit(0);
} catch (error) {
  if (error instanceof FatalRunnerError) fail(error.message);
  throw error;
}
