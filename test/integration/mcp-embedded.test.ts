import { describeGuideRunOverMcp } from "../helpers/scenarios/mcp-guide-run.js";

describeGuideRunOverMcp({ label: "mcp_embedded", services: false });
