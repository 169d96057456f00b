import { describeCrashAndRestart } from "../helpers/scenarios/crash-restart.js";

// The small version; npm run test:chaos sends 2,000 (test/chaos/crash-restart.chaos.ts).
describeCrashAndRestart({ deliveries: 200, sendWindowMs: 5000, concurrency: 16, drainMs: 90_000 });
