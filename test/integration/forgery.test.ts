import { describeForgery } from "../helpers/scenarios/forgery.js";

// The small version; npm run test:chaos sends 1,000 (test/chaos/forgery.chaos.ts).
describeForgery({ requests: 300, hugeBodies: 2, concurrency: 8 });
