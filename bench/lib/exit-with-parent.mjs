// Preloaded (node --import) into every process the bench starts: when the bench dies, even by
// SIGKILL, its IPC channel closes and the child stops itself the way SIGTERM would stop it.
process.on("disconnect", () => process.kill(process.pid, "SIGTERM"));
process.channel?.unref();
