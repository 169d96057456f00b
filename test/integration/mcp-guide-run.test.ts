import { describeGuideRunOverMcp } from "../helpers/scenarios/mcp-guide-run.js";

describeGuideRunOverMcp({ label: "mcp_guide_run", services: true });
