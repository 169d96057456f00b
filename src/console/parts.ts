import { html, href, type Html } from "./html.js";

/** The "newer / older" links of a list paged with the API's cursors. */
export function pager(path: string, query: Record<string, string | undefined>, nextCursor: string | null): Html {
  const first = query.cursor ? html`<a href="${href(path, { ...query, cursor: undefined })}">← Newest</a>` : "";
  const next = nextCursor ? html`<a href="${href(path, { ...query, cursor: nextCursor })}" rel="next">Older →</a>` : "";
  return html`<nav class="pager" aria-label="Pages">${first}${next}</nav>`;
}

/** A select of a filter form; `options` are [value, label] pairs, the first one "any". */
export function selectFilter(name: string, label: string, selected: string | undefined, options: readonly (readonly [string, string])[]): Html {
  return html`<label>${label}<select name="${name}"><option value="">any</option>${options.map(([value, text]) =>
    html`<option value="${value}"${value === selected ? html` selected` : ""}>${text}</option>`)}</select></label>`;
}

export function textFilter(name: string, label: string, value: string | undefined, placeholder = ""): Html {
  return html`<label>${label}<input type="text" name="${name}" value="${value ?? ""}" placeholder="${placeholder}"></label>`;
}

/** A link to an http(s) address from GitHub or a user; any other scheme (javascript:, data:) is shown as text only. */
export function outsideLink(url: string | null | undefined, text: string): Html {
  if (!url || !/^https?:\/\//i.test(url)) return html`${text}`;
  return html`<a href="${url}" rel="noopener noreferrer" target="_blank">${text}</a>`;
}

/** The indicator the live script turns on once the page hears changes. */
export const liveState: Html = html`<span id="live-state" class="live-dot">not live</span>`;
