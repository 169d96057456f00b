// Preloaded (node --import) into every app process a test starts: when the test process dies, even
// by SIGKILL, its IPC channel closes and the child stops itself the way SIGTERM would stop it.
process.on("disconnect", () => process.kill(process.pid, "SIGTERM"));
process.channel?.unref();
