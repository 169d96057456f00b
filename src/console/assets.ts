import { readFileSync } from "node:fs";
import type { FastifyInstance } from "fastify";
import { CONSOLE_PATH } from "./session.js";

// Read from beside this module: src/console/assets in a checkout, dist/console/assets once built (scripts/build.mjs copies them).
const ASSETS = {
  "console.js": "text/javascript; charset=utf-8",
  "console.css": "text/css; charset=utf-8",
} as const;

/** The console's one script and one style sheet, read once. */
export async function assetRoutes(app: FastifyInstance): Promise<void> {
  for (const [name, type] of Object.entries(ASSETS)) {
    const body = readFileSync(new URL(`./assets/${name}`, import.meta.url));
    app.get(`${CONSOLE_PATH}/assets/${name}`, { schema: { hide: true } }, async (_request, reply) =>
      reply.type(type).header("cache-control", "public, max-age=300").send(body));
  }
}
