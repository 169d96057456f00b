import { describeInjection } from "../helpers/scenarios/injection.js";

// The small version; npm run test:chaos adds 300 generated strings (test/chaos/injection.chaos.ts).
describeInjection({ generated: 20 });
