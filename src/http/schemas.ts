import { z } from "zod";
import { MAX_PAGE_SIZE } from "../domain/pagination.js";

export const pageQuery = z.object({
  limit: z.coerce.number().int().min(1).max(MAX_PAGE_SIZE).optional(),
  cursor: z.string().min(1).optional(),
});

export const idParams = z.object({ id: z.uuid() });

// Postgres refuses NUL characters in text and jsonb: refuse them with 400 rather than fail with 500.
const NUL = "\u0000";

/** A trimmed, non-empty name of at most `max` characters. */
export const nameText = (max: number) =>
  z.string().trim().min(1).max(max).refine((v) => !v.includes(NUL), "must not contain NUL characters");

function holdsNul(value: unknown): boolean {
  if (typeof value === "string") return value.includes(NUL);
  if (Array.isArray(value)) return value.some(holdsNul);
  if (value !== null && typeof value === "object") return Object.entries(value).some(([k, v]) => k.includes(NUL) || holdsNul(v));
  return false;
}

/** A free-form JSON object stored as jsonb. */
export const jsonObject = z.record(z.string(), z.unknown()).refine((v) => !holdsNul(v), "must not contain NUL characters");
