import type { Probot } from "probot";

/** GitHub keeps deliveries for 3 days and redelivers only within them. */
export const GITHUB_REDELIVERY_WINDOW_MS = 3 * 24 * 3600 * 1000;

interface HookDelivery {
  id: number;
  guid: string;
  delivered_at: string;
  status: string;
  status_code: number;
  event: string;
  action?: string | null;
}

/** A delivery of the App's webhook that GitHub never got a success for. */
export interface FailedHookDelivery {
  /** GitHub's id of the failed attempt, which a redelivery names. */
  id: number;
  /** The X-GitHub-Delivery id. */
  guid: string;
  /** `event.action`, or the event alone. */
  event: string;
}

/** The App's own webhook deliveries, through the App's JWT (never an installation token). */
export interface AppHookDeliveries {
  /** Delivery attempts GitHub listed since `since`, and the deliveries none of whose attempts succeeded. */
  listFailedSince(since: number): Promise<{ listed: number; failed: FailedHookDelivery[] }>;
  redeliver(delivery: FailedHookDelivery): Promise<void>;
}

export async function appHookDeliveries(probot: Probot): Promise<AppHookDeliveries> {
  const octokit = await probot.auth();
  return {
    async listFailedSince(since) {
      const succeeded = new Set<string>();
      const failed = new Map<string, HookDelivery>();
      let listed = 0;
      pages: for await (const page of octokit.paginate.iterator("GET /app/hook/deliveries", { per_page: 100 })) {
        for (const delivery of page.data as HookDelivery[]) {
          if (Date.parse(delivery.delivered_at) < since) break pages;
          listed += 1;
          if (delivery.status === "OK") succeeded.add(delivery.guid);
          else if (!failed.has(delivery.guid)) failed.set(delivery.guid, delivery);
        }
      }
      const never = [...failed.values()].filter((d) => !succeeded.has(d.guid));
      return { listed, failed: never.map((d) => ({ id: d.id, guid: d.guid, event: d.action ? `${d.event}.${d.action}` : d.event })) };
    },
    async redeliver(delivery) {
      await octokit.request("POST /app/hook/deliveries/{delivery_id}/attempts", { delivery_id: delivery.id });
    },
  };
}
