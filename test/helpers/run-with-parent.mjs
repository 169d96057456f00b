// Runs a command (the arguments after this file) that stops with the test process that started it,
// even when that process dies by SIGKILL: its IPC channel closes and the command gets SIGTERM.
import { spawn } from "node:child_process";

const [command, ...args] = process.argv.slice(2);
const child = spawn(command, args, { stdio: "inherit" });
const forward = (signal) => () => child.kill(signal);
process.on("SIGTERM", forward("SIGTERM"));
process.on("SIGINT", forward("SIGINT"));
process.on("disconnect", forward("SIGTERM"));
process.channel?.unref();
child.on("error", (error) => {
  console.error(`${command}: ${error.message}`);
  process.exit(127);
});
child.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
