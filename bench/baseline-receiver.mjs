// The receiver a user would write instead: Probot 14's own middleware on node:http, a no-op
// `issues.opened` handler, nothing stored. It verifies the signature and answers 200.
// Env: PORT, APP_ID, PRIVATE_KEY, WEBHOOK_SECRET.
import { createServer } from "node:http";
import { createNodeMiddleware, Probot } from "probot";

const probot = new Probot({
  appId: process.env.APP_ID,
  privateKey: process.env.PRIVATE_KEY,
  secret: process.env.WEBHOOK_SECRET,
  logLevel: "warn",
});
const middleware = await createNodeMiddleware(
  (app) => {
    app.on("issues.opened", async () => {});
  },
  { probot, webhooksPath: "/api/github/webhooks" },
);
const server = createServer((request, response) => {
  if (request.method === "GET" && request.url === "/health") {
    response.writeHead(200).end("ok");
    return;
  }
  middleware(request, response, () => response.writeHead(404).end());
});
server.listen(Number(process.env.PORT), "127.0.0.1");

const stop = () => server.close(() => process.exit(0));
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
