import nock from "nock";

export interface PostedComment {
  id: number;
  repository: string;
  issue_number: number;
  body: string;
  edits: number;
}

interface Failure {
  method: string;
  path: RegExp;
  status: number;
  headers?: Record<string, string>;
  message?: string;
  times: number;
}

const API = "https://api.github.com";

/**
 * GitHub's REST API as nock answers it for one test file: installation tokens, repository
 * settings files, issue comments and issue updates, with failures to inject.
 */
export class FakeGitHub {
  readonly comments: PostedComment[] = [];
  readonly issueUpdates: { repository: string; issue_number: number; body: Record<string, unknown> }[] = [];
  /** YAML of .github/entourage.yml by "owner/repo". */
  readonly settings = new Map<string, string>();
  /** How long GitHub takes to answer a settings file read, so that reads can overlap. */
  settingsDelayMs = 0;
  readonly requests: string[] = [];
  /** The App's recent deliveries as GET /app/hook/deliveries lists them, newest first. */
  readonly hookDeliveries: Record<string, unknown>[] = [];
  /** What GET /installation/repositories lists for any installation's token. */
  readonly installationRepositories: string[] = [];
  /** The Authorization header of each GET /app/hook/deliveries (the App's JWT, not an installation token). */
  readonly appAuthorizations: string[] = [];
  /** Hook delivery ids GitHub was asked to deliver again. */
  readonly redeliveryRequests: number[] = [];
  private readonly failures: Failure[] = [];
  private nextId = 9000;

  constructor() {
    nock.disableNetConnect();
    nock.enableNetConnect(/127\.0\.0\.1|localhost/);
    const scope = nock(API).persist();
    scope.post(/\/app\/installations\/\d+\/access_tokens/).reply((uri) => this.answer("POST", uri, () => [201, {
      token: "ghs_fake_installation_token",
      expires_at: new Date(Date.now() + 3_600_000).toISOString(),
      permissions: { issues: "write" },
    }]));
    const listAppDeliveries = (uri: string, authorization: string) => {
      this.appAuthorizations.push(authorization);
      return this.answer("GET", uri, () => {
        const url = new URL(uri, API);
        const perPage = Number(url.searchParams.get("per_page") ?? 30);
        const start = Number(url.searchParams.get("cursor") ?? 0);
        const page = this.hookDeliveries.slice(start, start + perPage);
        const next = start + perPage < this.hookDeliveries.length ? `<${API}/app/hook/deliveries?per_page=${perPage}&cursor=${start + perPage}>; rel="next"` : undefined;
        const headers: Record<string, string> = next ? { link: next } : {};
        return [200, page, headers];
      });
    };
    scope.get(/\/app\/hook\/deliveries(\?.*)?$/).reply(function (uri) {
      return listAppDeliveries(uri, String(this.req.headers.authorization ?? ""));
    });
    scope.get(/\/installation\/repositories(\?.*)?$/).reply((uri) => this.answer("GET", uri, () => [200, {
      total_count: this.installationRepositories.length,
      repositories: this.installationRepositories.map((fullName, i) => ({ id: i + 1, name: fullName.split("/")[1], full_name: fullName })),
    }]));
    scope.post(/\/app\/hook\/deliveries\/\d+\/attempts$/).reply((uri) => this.answer("POST", uri, () => {
      this.redeliveryRequests.push(Number(/deliveries\/(\d+)\/attempts/.exec(uri)![1]));
      return [202, {}];
    }));
    scope.get(/\/repos\/[^/]+\/[^/]+\/contents\/\.github%2Fentourage\.yml/).reply(async (uri) => {
      const answer = this.answer("GET", uri, () => {
        const [, owner, repo] = /\/repos\/([^/]+)\/([^/]+)\//.exec(uri)!;
        const yaml = this.settings.get(`${owner}/${repo}`);
        return yaml === undefined ? [404, { message: "Not Found" }] : [200, yaml, { "content-type": "text/plain; charset=utf-8" }];
      });
      if (this.settingsDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.settingsDelayMs));
      return answer;
    });
    scope.post(/\/repos\/[^/]+\/[^/]+\/issues\/\d+\/comments$/).reply((uri, body) => this.answer("POST", uri, () => {
      const [, owner, repo, number] = /\/repos\/([^/]+)\/([^/]+)\/issues\/(\d+)\/comments/.exec(uri)!;
      const comment = { id: this.nextId++, repository: `${owner}/${repo}`, issue_number: Number(number), body: (body as { body: string }).body, edits: 0 };
      this.comments.push(comment);
      return [201, { id: comment.id, body: comment.body, html_url: `https://github.com/${owner}/${repo}/issues/${number}#issuecomment-${comment.id}` }];
    }));
    scope.get(/\/repos\/[^/]+\/[^/]+\/issues\/\d+\/comments/).reply((uri) => this.answer("GET", uri, () => {
      const [, owner, repo, number] = /\/repos\/([^/]+)\/([^/]+)\/issues\/(\d+)\/comments/.exec(uri)!;
      const list = this.comments.filter((c) => c.repository === `${owner}/${repo}` && c.issue_number === Number(number));
      return [200, list.map((c) => ({ id: c.id, body: c.body, html_url: `https://github.com/${c.repository}/issues/${number}#issuecomment-${c.id}` }))];
    }));
    scope.patch(/\/repos\/[^/]+\/[^/]+\/issues\/comments\/\d+$/).reply((uri, body) => this.answer("PATCH", uri, () => {
      const id = Number(/comments\/(\d+)$/.exec(uri)![1]);
      const comment = this.comments.find((c) => c.id === id);
      if (!comment) return [404, { message: "Not Found" }];
      comment.body = (body as { body: string }).body;
      comment.edits += 1;
      return [200, { id, body: comment.body, html_url: "" }];
    }));
    scope.patch(/\/repos\/[^/]+\/[^/]+\/issues\/\d+$/).reply((uri, body) => this.answer("PATCH", uri, () => {
      const [, owner, repo, number] = /\/repos\/([^/]+)\/([^/]+)\/issues\/(\d+)$/.exec(uri)!;
      this.issueUpdates.push({ repository: `${owner}/${repo}`, issue_number: Number(number), body: body as Record<string, unknown> });
      return [200, { number: Number(number), state: (body as { state?: string }).state ?? "open" }];
    }));
  }

  /** The next `times` requests matching method and path get this status instead. */
  fail(method: string, path: RegExp, status: number, options: { headers?: Record<string, string>; message?: string; times?: number } = {}): void {
    this.failures.push({ method, path, status, headers: options.headers, message: options.message, times: options.times ?? 1 });
  }

  commentsOn(repository: string, issueNumber: number): PostedComment[] {
    return this.comments.filter((c) => c.repository === repository && c.issue_number === issueNumber);
  }

  close(): void {
    nock.cleanAll();
    nock.enableNetConnect();
  }

  private answer(method: string, uri: string, ok: () => [number, unknown, Record<string, string>?]): [number, unknown, Record<string, string>] {
    this.requests.push(`${method} ${uri}`);
    const failure = this.failures.find((f) => f.method === method && f.path.test(uri) && f.times > 0);
    if (failure) {
      failure.times -= 1;
      return [failure.status, { message: failure.message ?? `fake failure ${failure.status}` }, failure.headers ?? {}];
    }
    const [status, body, headers] = ok();
    return [status, body, headers ?? {}];
  }
}
