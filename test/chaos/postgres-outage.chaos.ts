import { describePostgresOutage } from "../helpers/scenarios/postgres-outage.js";

describePostgresOutage({ deliveries: 2000, sendWindowMs: 20_000, concurrency: 32, outageMs: 5000, drainMs: 300_000 });
