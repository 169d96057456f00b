/** The HTML pages of the /setup flow: plain, no scripts, every value escaped. */

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function page(title: string, body: string): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} | Entourage</title>
<style>
body { font: 16px/1.5 system-ui, sans-serif; max-width: 40rem; margin: 3rem auto; padding: 0 1rem; color: #1f2328; }
code, pre { background: #f6f8fa; border-radius: 4px; padding: 0.1rem 0.3rem; }
pre { padding: 0.6rem; overflow-x: auto; }
button, .button { font: inherit; background: #1f883d; color: #fff; border: 0; border-radius: 6px; padding: 0.5rem 1rem; cursor: pointer; text-decoration: none; display: inline-block; }
.error { color: #cf222e; }
.warning { border-left: 4px solid #bf8700; background: #fff8c5; padding: 0.5rem 0.8rem; }
</style>
</head>
<body>
${body}
</body>
</html>
`;
}

export interface SetupPageInput {
  /** GitHub's form URL, with the state. */
  formAction: string;
  manifestJson: string;
  webhookUrl: string;
  /** The webhook URL is an address of this machine or a private network, which GitHub cannot reach. */
  webhookUnreachable?: boolean;
  org?: string;
  envFile: string;
}

export function setupPage(input: SetupPageInput): string {
  const owner = input.org ? `the organization <strong>${escapeHtml(input.org)}</strong>` : "your GitHub account";
  return page("Register the GitHub App", `<h1>Register the Entourage GitHub App</h1>
<p>No GitHub App is configured yet. The button below asks GitHub to register one for ${owner}, with the events and
permissions of <code>app.yml</code>. GitHub then sends you back here, and its credentials are written to
<code>${escapeHtml(input.envFile)}</code>.</p>
<p>GitHub will deliver events to <code>${escapeHtml(input.webhookUrl)}</code>.</p>
${input.webhookUnreachable ? unreachableWarning() : ""}<form action="${escapeHtml(input.formAction)}" method="post">
<input type="hidden" name="manifest" value="${escapeHtml(input.manifestJson)}">
<button type="submit">Register the GitHub App</button>
</form>
<p>${input.org ? "" : "To register it for an organization instead, open <code>/setup?org=&lt;organization login&gt;</code>. "}To use an App
you already have, set <code>APP_ID</code>, <code>PRIVATE_KEY</code> and <code>WEBHOOK_SECRET</code> and restart.</p>`);
}

function unreachableWarning(): string {
  return `<div class="warning">
<p><strong>GitHub cannot reach this address</strong>: it belongs to this machine or a private network. The App would be
registered, but no event would arrive.</p>
<p>For development, create a channel at <a href="https://smee.io/new">https://smee.io/new</a>, set
<code>WEBHOOK_PROXY_URL</code> to it, restart Entourage and open this page again: GitHub then delivers to the channel,
and Entourage forwards each delivery to itself. In production, open this page at the server's public address, or set
<code>BASE_URL</code> to it.</p>
</div>
`;
}

export function registeredPage(input: { appName: string; installUrl: string; envFile: string }): string {
  return page("GitHub App registered", `<h1>The GitHub App ${escapeHtml(input.appName)} is registered</h1>
<p>Its credentials are in <code>${escapeHtml(input.envFile)}</code>. <strong>Restart Entourage</strong> to use them
(<code>npm start</code>, or restart your processes); until then the App endpoint answers 503.</p>
<p>Then install the App on the repositories whose issues and pull requests should become tasks:</p>
<p><a class="button" href="${escapeHtml(input.installUrl)}">Install the App</a></p>`);
}

export function setupErrorPage(title: string, message: string): string {
  return page(title, `<h1 class="error">${escapeHtml(title)}</h1>
<p>${escapeHtml(message)}</p>
<p><a href="/setup">Start again</a></p>`);
}

export function setupClosedPage(message: string): string {
  return page("The GitHub App is configured", `<h1>The GitHub App is configured</h1>
<p>${escapeHtml(message)}</p>`);
}
