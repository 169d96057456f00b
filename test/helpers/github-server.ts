import { randomBytes } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";

export interface RecordedPullRequest {
  number: number;
  repository: string;
  head: string;
  base: string;
  title: string;
  body: string;
  draft: boolean;
  state: "open" | "closed";
  html_url: string;
}

/** An installation token the App asked for, with the repositories and permissions it was limited to. */
export interface RecordedToken {
  installation_id: number;
  token: string;
  repositories?: string[];
  permissions?: Record<string, string>;
}

/** A reaction of the App, on an issue (`comment_id` null) or on one comment. */
export interface RecordedReaction {
  repository: string;
  issue_number: number | null;
  comment_id: number | null;
  content: string;
}

export interface RecordedComment {
  id: number;
  repository: string;
  issue_number: number;
  body: string;
  /** Times it was edited after it was posted. */
  edits: number;
}

/**
 * GitHub's REST API as far as worker processes call it, on a real port (child processes cannot be
 * nocked): they reach it as GitHub Enterprise (GHE_HOST=127.0.0.1:<port>, GHE_PROTOCOL=http).
 * Installation tokens are granted (each a new one), repository files do not exist, the App's delivery
 * log is empty, comments and pull requests are recorded; a second open pull request for a head is refused as GitHub does.
 */
export class GitHubServer {
  readonly comments: RecordedComment[] = [];
  readonly pullRequests: RecordedPullRequest[] = [];
  readonly tokens: RecordedToken[] = [];
  /** Reactions as GitHub keeps them: one per target and content, a second request answered 200 with the first. */
  readonly reactions: RecordedReaction[] = [];
  /** Each GitHub user's permission on every repository (GitHub's role names); anyone else has `read`. */
  readonly permissions = new Map<string, string>();
  /** The line comments of each review, by review id. */
  readonly reviewComments = new Map<number, { path: string; line: number; body: string }[]>();
  /** "METHOD path" of every call, without /api/v3. */
  readonly calls: string[] = [];
  /** Calls no route answers: the app asked GitHub for something this stand-in does not know. */
  readonly unexpected: string[] = [];
  private server?: http.Server;
  private nextId = 1;

  get host(): string {
    return `127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  /** The environment that points an app process at this server. */
  get env(): Record<string, string> {
    return { GHE_HOST: this.host, GHE_PROTOCOL: "http" };
  }

  async start(): Promise<void> {
    this.server = http.createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on("data", (chunk: Buffer) => chunks.push(chunk));
      request.on("end", () => {
        const method = request.method ?? "GET";
        const url = new URL(request.url ?? "/", "http://stand-in");
        const urlPath = url.pathname.replace(/^\/api\/v3/, "");
        this.calls.push(`${method} ${urlPath}`);
        const text = Buffer.concat(chunks).toString("utf8");
        const [status, body] = this.answer(method, urlPath, text ? (JSON.parse(text) as Record<string, unknown>) : {}, url.searchParams);
        response.writeHead(status, { "content-type": "application/json; charset=utf-8" }).end(JSON.stringify(body));
      });
    });
    this.server.keepAliveTimeout = 1000;
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Comments posted on each issue number, for issues with more than one. */
  repeatedComments(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const c of this.comments) counts.set(`${c.repository}#${c.issue_number}`, (counts.get(`${c.repository}#${c.issue_number}`) ?? 0) + 1);
    return new Map([...counts].filter(([, n]) => n > 1));
  }

  private answer(method: string, urlPath: string, body: Record<string, unknown>, query: URLSearchParams): [number, unknown] {
    let m: RegExpExecArray | null;
    if (method === "POST" && (m = /^\/app\/installations\/(\d+)\/access_tokens$/.exec(urlPath))) {
      const token = `ghs_${randomBytes(27).toString("base64url").replace(/[-_]/g, "x")}`;
      this.tokens.push({
        installation_id: Number(m[1]), token,
        repositories: body.repositories as string[] | undefined, permissions: body.permissions as Record<string, string> | undefined,
      });
      const permissions = (body.permissions as Record<string, string> | undefined) ?? { issues: "write", contents: "read" };
      return [201, { token, expires_at: new Date(Date.now() + 3_600_000).toISOString(), permissions }];
    }
    if ((m = /^\/repos\/([^/]+)\/([^/]+)\/pulls$/.exec(urlPath))) return this.pulls(method, `${m[1]}/${m[2]}`, body, query);
    if (method === "GET" && (m = /^\/repos\/[^/]+\/[^/]+\/collaborators\/([^/]+)\/permission$/.exec(urlPath))) {
      const role = this.permissions.get(decodeURIComponent(m[1]!)) ?? "read";
      const permission = role === "maintain" ? "write" : role === "triage" ? "read" : role;
      return [200, { permission, role_name: role, user: { login: decodeURIComponent(m[1]!) } }];
    }
    if (method === "GET" && (m = /^\/repos\/[^/]+\/[^/]+\/pulls\/\d+\/reviews\/(\d+)\/comments$/.exec(urlPath))) {
      return [200, (this.reviewComments.get(Number(m[1])) ?? []).map((c, i) => ({ id: 70_000 + i, path: c.path, line: c.line, original_line: c.line, body: c.body }))];
    }
    if (method === "POST" && (m = /^\/repos\/([^/]+)\/([^/]+)\/issues\/(comments\/)?(\d+)\/reactions$/.exec(urlPath))) {
      const onComment = m[3] !== undefined;
      const reaction: RecordedReaction = {
        repository: `${m[1]}/${m[2]}`, issue_number: onComment ? null : Number(m[4]), comment_id: onComment ? Number(m[4]) : null, content: String(body.content),
      };
      const same = (r: RecordedReaction) => r.repository === reaction.repository && r.issue_number === reaction.issue_number && r.comment_id === reaction.comment_id && r.content === reaction.content;
      if (this.reactions.some(same)) return [200, { content: reaction.content }];
      this.reactions.push(reaction);
      return [201, { content: reaction.content }];
    }
    if (method === "GET" && (m = /^\/repos\/([^/]+)\/([^/]+)$/.exec(urlPath))) return [200, { full_name: `${m[1]}/${m[2]}`, default_branch: "main" }];
    if (method === "GET" && /^\/repos\/[^/]+\/[^/]+\/contents\//.test(urlPath)) return [404, { message: "Not Found" }];
    // The App's own delivery log (missed-delivery redelivery): GitHub failed none of ours.
    if (method === "GET" && urlPath === "/app/hook/deliveries") return [200, []];
    if ((m = /^\/repos\/([^/]+)\/([^/]+)\/issues\/(\d+)\/comments$/.exec(urlPath))) {
      const repository = `${decodeURIComponent(m[1]!)}/${decodeURIComponent(m[2]!)}`;
      const issueNumber = Number(m[3]);
      if (method === "GET") {
        return [200, this.comments.filter((c) => c.repository === repository && c.issue_number === issueNumber).map((c) => ({ id: c.id, body: c.body, html_url: "" }))];
      }
      if (method === "POST") {
        const comment = { id: this.nextId++, repository, issue_number: issueNumber, body: String(body.body), edits: 0 };
        this.comments.push(comment);
        return [201, { id: comment.id, body: comment.body, html_url: `http://${this.host}/${repository}/issues/${issueNumber}#issuecomment-${comment.id}` }];
      }
    }
    if (method === "PATCH" && (m = /^\/repos\/[^/]+\/[^/]+\/issues\/comments\/(\d+)$/.exec(urlPath))) {
      const comment = this.comments.find((c) => c.id === Number(m![1]));
      if (!comment) return [404, { message: "Not Found" }];
      comment.body = String(body.body);
      comment.edits += 1;
      return [200, { id: comment.id, body: comment.body, html_url: "" }];
    }
    if (method === "PATCH" && /^\/repos\/[^/]+\/[^/]+\/issues\/\d+$/.test(urlPath)) return [200, { state: body.state ?? "open" }];
    this.unexpected.push(`${method} ${urlPath}`);
    return [404, { message: "Not Found" }];
  }

  private pulls(method: string, repository: string, body: Record<string, unknown>, query: URLSearchParams): [number, unknown] {
    const view = (pr: RecordedPullRequest) => ({ number: pr.number, html_url: pr.html_url, state: pr.state, draft: pr.draft, head: { ref: pr.head }, base: { ref: pr.base } });
    const owner = repository.split("/")[0];
    if (method === "GET") {
      const head = query.get("head");
      const state = query.get("state") ?? "open";
      return [200, this.pullRequests
        .filter((pr) => pr.repository === repository && (state === "all" || pr.state === state) && (!head || `${owner}:${pr.head}` === head))
        .map(view)];
    }
    if (method !== "POST") return [404, { message: "Not Found" }];
    const head = String(body.head);
    if (this.pullRequests.some((pr) => pr.repository === repository && pr.head === head && pr.state === "open")) {
      return [422, { message: `Validation Failed: A pull request already exists for ${owner}:${head}.`, errors: [{ message: `A pull request already exists for ${owner}:${head}.` }] }];
    }
    const number = this.nextId++;
    const pr: RecordedPullRequest = {
      number, repository, head, base: String(body.base), title: String(body.title), body: String(body.body ?? ""), draft: body.draft === true,
      state: "open", html_url: `http://${this.host}/${repository}/pull/${number}`,
    };
    this.pullRequests.push(pr);
    return [201, view(pr)];
  }
}
