import { z } from "zod";
import { MAX_PAGE_SIZE } from "../domain/pagination.js";

export const pageQuery = z.object({
  limit: z.coerce.number().int().min(1).max(MAX_PAGE_SIZE).optional(),
  cursor: z.string().min(1).optional(),
});

export const idParams = z.object({ id: z.uuid() });
