import { describeTenancy } from "../helpers/scenarios/tenancy.js";

// The small version: two organizations, each on the other's objects; npm run test:chaos uses four (test/chaos/tenancy.chaos.ts).
describeTenancy({ orgs: 2 });
