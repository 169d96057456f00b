import { z } from "zod";

/** tasks.id is a PostgreSQL integer. */
export const MAX_TASK_ID = 2_147_483_647;

/**
 * The longest description a task takes, however it is written (create, update, sub-task). A GitHub issue's body
 * holds up to 65,536 characters and the task made from it adds a heading and a link: read back and written whole,
 * such a description still fits.
 */
export const MAX_TASK_DESCRIPTION = 100_000;

const TASK_ID_RULE = `must be a task number from 1 to ${MAX_TASK_ID}`;
// One message however the number is wrong: checks after the first that fails would only repeat or contradict it.
const stop = { error: TASK_ID_RULE, abort: true } as const;

/** A task's number in a JSON body. */
export const taskId = z.number({ error: TASK_ID_RULE }).int(stop).min(1, stop).max(MAX_TASK_ID, stop);

/** A task's number in a path or a query string. */
export const taskIdText = z.coerce.number({ error: TASK_ID_RULE }).int(stop).min(1, stop).max(MAX_TASK_ID, stop);

/** A task's description: stored as sent; PostgreSQL text cannot hold NUL characters. */
export const taskDescription = z.string().max(MAX_TASK_DESCRIPTION).refine((v) => !v.includes("\u0000"), "must not contain NUL characters");
