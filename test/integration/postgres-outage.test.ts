import { describePostgresOutage } from "../helpers/scenarios/postgres-outage.js";

// The small version; npm run test:chaos sends 2,000 through a longer outage (test/chaos/postgres-outage.chaos.ts).
describePostgresOutage({ deliveries: 300, sendWindowMs: 6000, concurrency: 16, outageMs: 2000, drainMs: 90_000 });
