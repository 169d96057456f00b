import type { ApplicationFunction } from "probot";
import type { DataSource } from "typeorm";
import { openTaskFromDelivery } from "./domain/intake.js";

export interface AppDeps {
  db: DataSource;
}

/**
 * The Probot app: GitHub events → domain calls. The event's `id` is the stored delivery's id,
 * so each handler records its own outcome on it.
 */
export function entourageApp(deps: AppDeps): ApplicationFunction {
  return (app) => {
    app.on(["issues.opened", "pull_request.opened"], async (context) => {
      await openTaskFromDelivery(deps.db, context.id);
    });
  };
}
