import { describeTenancy } from "../helpers/scenarios/tenancy.js";

describeTenancy({ orgs: 4 });
