// GitHub's REST API as far as the app's workers call it, answered at once on 127.0.0.1, so the
// bench measures the app and not the network (the app reaches it as GitHub Enterprise: GHE_HOST).
// Installation tokens are granted, repository files (.github/entourage.yml) do not exist, list
// calls are empty, writes succeed. GET /_bench/calls returns how many calls each route had.
// Env: PORT.
import { createServer } from "node:http";

const calls = new Map();
let nextId = 1;

/** Routes by method and path (without /api/v3), most specific first. */
const ROUTES = [
  ["POST", /^\/app\/installations\/\d+\/access_tokens$/, "create installation token", () => [201, {
    token: "ghs_bench_installation_token",
    expires_at: new Date(Date.now() + 3_600_000).toISOString(),
    permissions: { issues: "write", contents: "read", metadata: "read" },
    repository_selection: "all",
  }]],
  ["GET", /^\/repos\/[^/]+\/[^/]+\/contents\//, "read repository file", () => [404, { message: "Not Found" }]],
  ["GET", /^\/repos\/[^/]+\/[^/]+\/issues\/\d+\/comments$/, "list comments", () => [200, []]],
  ["GET", /^\/app\/hook\/deliveries$/, "list app deliveries", () => [200, []]],
  ["POST", /^\/repos\/[^/]+\/[^/]+\/issues\/\d+\/comments$/, "create comment", () => [201, { id: nextId++, body: "" }]],
  ["PATCH", /^\/repos\/[^/]+\/[^/]+\/issues\/comments\/\d+$/, "update comment", () => [200, { id: nextId++ }]],
  ["PATCH", /^\/repos\/[^/]+\/[^/]+\/issues\/\d+$/, "update issue", () => [200, { state: "closed" }]],
];

function answer(method, path) {
  for (const [routeMethod, pattern, name, respond] of ROUTES) {
    if (routeMethod === method && pattern.test(path)) return [name, ...respond()];
  }
  return [`${method} (other)`, method === "GET" ? 404 : 200, method === "GET" ? { message: "Not Found" } : {}];
}

const server = createServer((request, response) => {
  const path = (request.url ?? "/").split("?")[0].replace(/^\/api\/v3/, "");
  if (path === "/_bench/calls") {
    response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(Object.fromEntries(calls)));
    return;
  }
  request.resume();
  request.on("end", () => {
    const [name, status, body] = answer(request.method, path);
    calls.set(name, (calls.get(name) ?? 0) + 1);
    response.writeHead(status, { "content-type": "application/json; charset=utf-8" }).end(JSON.stringify(body));
  });
});
server.listen(Number(process.env.PORT), "127.0.0.1");

const stop = () => server.close(() => process.exit(0));
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
