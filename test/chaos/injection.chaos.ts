import { describeInjection } from "../helpers/scenarios/injection.js";

describeInjection({ generated: 300 });
