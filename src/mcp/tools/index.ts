import type { Tool } from "../tool.js";
import { getInbox, getTask, listTasks, listTeamAgents } from "./read-tools.js";
import { acknowledgeTaskTool, askHumanTool, changeTaskStatus, createSubtasksTool, reportProgressTool } from "./work-tools.js";

/** Every tool an agent sees, in the order tools/list gives them. */
export const TOOLS: readonly Tool[] = [
  getInbox, getTask, listTasks, listTeamAgents, acknowledgeTaskTool, changeTaskStatus, reportProgressTool, createSubtasksTool, askHumanTool,
];
