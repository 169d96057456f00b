import { describeCrashAndRestart } from "../helpers/scenarios/crash-restart.js";

describeCrashAndRestart({ deliveries: 2000, sendWindowMs: 20_000, concurrency: 32, drainMs: 300_000 });
