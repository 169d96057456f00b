import { Probot, ProbotOctokit } from "probot";
import type { Config } from "../config.js";
import type { Logger } from "../log.js";

type OctokitClass = typeof ProbotOctokit;

/** Stands in for App credentials before the App is registered; any GitHub call made with it fails with 401. */
const UNCONFIGURED_TOKEN = "entourage-app-not-configured";

export interface ProbotOptions {
  /** Another Octokit class, e.g. with retries and throttling set for tests. */
  Octokit?: OctokitClass;
}

/** The Probot instance that runs the app's event handlers in worker processes. */
export function createProbot(config: Config, log: Logger, options: ProbotOptions = {}): Probot {
  const common = {
    log: log.child({ name: "probot" }) as never,
    baseUrl: config.githubBaseUrl,
    Octokit: options.Octokit ?? ProbotOctokit,
  };
  if (!config.app) return new Probot({ ...common, githubToken: UNCONFIGURED_TOKEN });
  return new Probot({
    ...common,
    appId: config.app.appId,
    privateKey: config.app.privateKey,
    secret: config.app.webhookSecret,
  });
}
