import { describeForgery } from "../helpers/scenarios/forgery.js";

describeForgery({ requests: 1000, hugeBodies: 4, concurrency: 16 });
