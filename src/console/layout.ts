import type { ConsoleSession } from "../db/entities/console-session.js";
import { html, type Html } from "./html.js";
import { CONSOLE_PATH } from "./session.js";

export const NAV = [
  ["overview", "Overview", CONSOLE_PATH],
  ["deliveries", "Deliveries", `${CONSOLE_PATH}/deliveries`],
  ["tasks", "Tasks", `${CONSOLE_PATH}/tasks`],
  ["agents", "Agents", `${CONSOLE_PATH}/agents`],
  ["outbound", "Outbound webhooks", `${CONSOLE_PATH}/outbound`],
  ["installations", "Installations", `${CONSOLE_PATH}/installations`],
  ["queues", "Queues", `${CONSOLE_PATH}/queues`],
] as const;

export type Section = (typeof NAV)[number][0];

export interface PageOptions {
  title: string;
  section?: Section;
  session?: ConsoleSession;
  /** When the page's data was read (ms): live updates start after it. */
  since?: number;
}

/** The hidden field every form of a signed-in page carries. */
export function csrfField(session: ConsoleSession): Html {
  return html`<input type="hidden" name="_csrf" value="${session.csrf_token}">`;
}

/** A button that posts to `action` (a change), with the session's CSRF token. */
export function postButton(session: ConsoleSession, action: string, label: string, fields: Record<string, string> = {}, kind = ""): Html {
  return html`<form method="post" action="${action}" class="inline">${csrfField(session)}${Object.entries(fields).map(([name, value]) =>
    html`<input type="hidden" name="${name}" value="${value}">`)}<button type="submit" class="${kind}">${label}</button></form>`;
}

/** The whole page: its only script is /admin/assets/console.js (the CSP forbids inline script). */
export function page(options: PageOptions, content: Html): Html {
  const { session } = options;
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${options.title} · Entourage</title>
<link rel="stylesheet" href="${CONSOLE_PATH}/assets/console.css">
<script src="${CONSOLE_PATH}/assets/console.js" defer></script>
</head>
<body data-since="${options.since ?? ""}">
<header class="top">
  <a class="brand" href="${CONSOLE_PATH}">Entourage</a>
  ${session ? html`<nav aria-label="Sections">${NAV.map(([key, label, path]) =>
    html`<a href="${path}"${options.section === key ? html` aria-current="page"` : ""}>${label}</a>`)}</nav>
  <form method="post" action="${CONSOLE_PATH}/logout" class="signout">${csrfField(session)}<button type="submit">Sign out</button></form>` : ""}
</header>
<main id="main">
<h1>${options.title}</h1>
${content}
</main>
</body>
</html>`;
}

/** A status as a small coloured label. */
export function badge(status: string): Html {
  return html`<span class="badge badge-${status.replace(/[^a-z_]/g, "")}">${status}</span>`;
}
