/** The few fields of a payload shown in delivery lists: enough to recognize it, never the whole body. */
export function deliverySummary(payload: Record<string, unknown>): Record<string, unknown> {
  const summary: Record<string, unknown> = {};
  if (typeof payload.action === "string") summary.action = payload.action;
  for (const key of ["issue", "pull_request"] as const) {
    const item = payload[key] as { number?: unknown; title?: unknown; html_url?: unknown } | undefined;
    if (item && typeof item === "object") {
      summary[key] = { number: item.number, title: item.title, html_url: item.html_url };
    }
  }
  const repository = payload.repository as { full_name?: unknown } | undefined;
  if (typeof repository?.full_name === "string") summary.repository = repository.full_name;
  const sender = payload.sender as { login?: unknown } | undefined;
  if (typeof sender?.login === "string") summary.sender = sender.login;
  const installation = payload.installation as { id?: unknown } | undefined;
  if (typeof installation?.id === "number") summary.installation_id = installation.id;
  return summary;
}
