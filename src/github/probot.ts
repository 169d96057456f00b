import Bottleneck from "bottleneck";
import { Probot, ProbotOctokit } from "probot";
import type { Config } from "../config.js";
import type { Logger } from "../log.js";

type OctokitOptions = NonNullable<ConstructorParameters<typeof ProbotOctokit>[0]>;

/** Stands in for App credentials before the App is registered; any GitHub call made with it fails with 401. */
const UNCONFIGURED_TOKEN = "entourage-app-not-configured";

/** The throttling plugin's answer to a rate limit: no wait inside Octokit; the error reaches the job, whose queue waits. */
const leaveToQueue = () => false;

/** One write at a time per installation, `spacingMs` apart; shared by every Octokit of the process, as the plugin's own. */
function writeGroups(spacingMs: number) {
  const group = () => new Bottleneck.Group({ maxConcurrent: 1, minTime: spacingMs });
  return { write: group(), notifications: group() };
}

/** How many installations' Octokits a process keeps for reuse; the least recently made goes first. */
const REUSED_OCTOKITS = 500;

/** What an Octokit made for one of the App's installations carries in `auth` (@octokit/auth-app's options). */
interface InstallationAuth {
  appId?: number | string;
  installationId?: number | string;
}

/**
 * The Octokit class with one instance per installation of the App: Probot makes an Octokit for every event it hands
 * to the handlers, and building one (its plugins, its endpoint methods) costs more than the rest of a delivery's
 * routing. Such an Octokit holds no token and nothing of the event: it asks @octokit/auth-app for the installation's
 * token on each request (cached until it expires), and what differs per event is in the handler's Context. So an
 * installation's events share one. The class serves one App (createProbot makes one per Probot).
 */
function reusedPerInstallation(Base: typeof ProbotOctokit): typeof ProbotOctokit {
  const made = new Map<string, ProbotOctokit>();
  return class extends Base {
    constructor(options?: OctokitOptions) {
      const auth = options?.auth as InstallationAuth | undefined;
      const key = auth?.appId !== undefined && auth.installationId !== undefined ? `${auth.appId}/${auth.installationId}` : undefined;
      const known = key === undefined ? undefined : made.get(key);
      if (known) return known as never;
      super(options);
      if (key === undefined) return;
      made.set(key, this);
      if (made.size > REUSED_OCTOKITS) made.delete(made.keys().next().value!);
    }
  } as typeof ProbotOctokit;
}

/**
 * Probot's Octokit with every wait left to the queue, where it holds no worker slot and survives a
 * restart: the throttling plugin still paces writes, but a rate-limited request fails at once, and the
 * retry plugin is off, so a 5xx is retried by the job's own backoff. `writeSpacingMs` replaces the
 * plugin's pacing (1 s, 3 s for writes that notify). The function form: an object would lose to Probot's defaults.
 */
export function appOctokit(writeSpacingMs?: number): typeof ProbotOctokit {
  const groups = writeSpacingMs === undefined ? {} : writeGroups(writeSpacingMs);
  return reusedPerInstallation(ProbotOctokit.defaults((options: OctokitOptions) => ({
    ...options,
    throttle: { ...options.throttle, ...groups, onRateLimit: leaveToQueue, onSecondaryRateLimit: leaveToQueue },
    retry: { enabled: false },
  })));
}

/** The Probot instance that runs the app's event handlers in worker processes. */
export function createProbot(config: Config, log: Logger): Probot {
  const common = {
    log: log.child({ name: "probot" }) as never,
    baseUrl: config.githubBaseUrl,
    Octokit: appOctokit(config.githubWriteSpacingMs),
  };
  if (!config.app) return new Probot({ ...common, githubToken: UNCONFIGURED_TOKEN });
  return new Probot({
    ...common,
    appId: config.app.appId,
    privateKey: config.app.privateKey,
    secret: config.app.webhookSecret,
  });
}
