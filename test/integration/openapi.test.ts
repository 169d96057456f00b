import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import SwaggerParser from "@apidevtools/swagger-parser";
import { createTenant, startTestRuntime, type TestRuntime } from "../helpers/app-runtime.js";

let rt: TestRuntime;
let doc: Record<string, any>;

beforeAll(async () => {
  rt = await startTestRuntime({ label: "openapi" });
  doc = (await rt.server.inject({ method: "GET", url: "/api/openapi.json" })).json();
});
afterAll(async () => {
  await rt?.stop();
});

function operations(): [string, string, Record<string, any>][] {
  return Object.entries(doc.paths as Record<string, Record<string, any>>).flatMap(([path, methods]) => Object.entries(methods).map(([method, op]) => [path, method, op] as [string, string, Record<string, any>]));
}

describe("GET /api/openapi.json", () => {
  it("is a valid OpenAPI 3.1 document, as a maintained validator reads it", async () => {
    await expect(SwaggerParser.validate(structuredClone(doc) as never)).resolves.toBeDefined();
    // The check can fail: a document whose operation answers nothing is refused.
    const broken = structuredClone(doc);
    broken.paths["/api/v1/health"].get.responses = "none";
    await expect(SwaggerParser.validate(broken as never)).rejects.toThrow();
  });

  it("gives every operation a tag, a summary, a 2xx answer and its error answers with the error schema and an example", () => {
    const ops = operations();
    expect(ops.length).toBeGreaterThan(50);
    for (const [path, method, op] of ops) {
      const where = `${method} ${path}`;
      expect({ where, tags: op.tags?.length > 0, summary: typeof op.summary }).toEqual({ where, tags: true, summary: "string" });
      expect({ where, has2xx: Object.keys(op.responses).some((s) => s.startsWith("2")) }).toEqual({ where, has2xx: true });
      for (const [status, response] of Object.entries(op.responses as Record<string, any>)) {
        // Health answers its own body when something is down.
        if (!/^[45]/.test(status) || (path === "/api/v1/health" && status === "503")) continue;
        expect({ where, status, schema: response.content["application/json"].schema }).toEqual({ where, status, schema: { $ref: "#/components/schemas/Error" } });
        expect(response.content["application/json"].example.error).toEqual({ code: expect.any(String), message: expect.any(String) });
      }
    }
    expect(doc.components.schemas.Error.properties.error.required).toEqual(["code", "message"]);
  });

  it("describes every success answer with its schema: none is left as Default Response", () => {
    for (const [path, method, op] of operations()) {
      const where = `${method} ${path}`;
      const success = Object.entries(op.responses as Record<string, any>).filter(([status]) => status.startsWith("2"));
      expect({ where, descriptions: success.map(([, r]) => r.description).filter((d) => d === "Default Response") }).toEqual({ where, descriptions: [] });
      for (const [status, response] of success) {
        const schema = response.content?.["application/json"]?.schema;
        // A 204 has no body, so no schema; every other success answer has one.
        expect({ where, status, schema: status === "204" ? "none" : typeof schema }).toEqual({ where, status, schema: status === "204" ? "none" : "object" });
        if (status === "204") expect(response.content).toBeUndefined();
      }
    }
    expect(doc.paths["/api/v1/health"].get.responses["503"].content["application/json"].schema).toEqual({ $ref: "#/components/schemas/Health" });
    expect(doc.components.schemas.Task.examples[0]).toMatchObject({ id: 601, status: "todo" });
  });

  it("keeps only the components the document refers to", () => {
    const text = JSON.stringify(doc);
    for (const name of Object.keys(doc.components.schemas)) expect(text).toContain(`"#/components/schemas/${name}"`);
    expect(Object.keys(doc.components.schemas).filter((name) => name.endsWith("Input"))).toEqual([]);
  });

  it("lists exactly the fields the API answers with", async () => {
    const acme = await createTenant(rt, "acme");
    const headers = { "x-api-key": acme.apiKey };
    const post = async (url: string, payload: object) => (await rt.server.inject({ method: "POST", url, headers, payload })).json();
    const fieldsOf = (name: string) => Object.keys(doc.components.schemas[name].properties).sort();
    const task = await post(`/api/v1/teams/${acme.teamId}/tasks`, { title: "Document me" });
    const webhook = await post("/api/v1/webhooks", { team_id: acme.teamId, name: "repo", events: ["issues"] });
    const agent = await post(`/api/v1/teams/${acme.teamId}/agents`, { name: "alice", role: "engineer" });
    const team = (await rt.server.inject({ method: "GET", url: `/api/v1/teams/${acme.teamId}`, headers })).json();
    expect(Object.keys(task).sort()).toEqual(fieldsOf("Task"));
    expect(Object.keys(webhook).sort()).toEqual(fieldsOf("CreatedWebhook"));
    expect(Object.keys(agent).sort()).toEqual(fieldsOf("Agent"));
    expect(Object.keys(team).sort()).toEqual(fieldsOf("Team"));
    expect(task.created_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  it("asks no credential on the public routes and the rest for one, answered 401 without it", () => {
    for (const [path, method, op] of operations()) {
      const isPublic = ["/api/v1/health", "/api/github/webhooks", "/api/v1/webhooks/{id}/receive"].includes(path);
      expect({ route: `${method} ${path}`, security: op.security ?? "global" }).toEqual({ route: `${method} ${path}`, security: isPublic ? [] : "global" });
      if (!isPublic) expect(op.responses["401"]).toBeDefined();
    }
    expect(doc.security).toEqual([{ apiKey: [] }, { bearer: [] }]);
  });

  it("documents the webhook receivers' signature headers, body and answers", () => {
    for (const path of ["/api/github/webhooks", "/api/v1/webhooks/{id}/receive"]) {
      const op = doc.paths[path].post;
      expect(op.parameters.filter((p: { in: string }) => p.in === "header").map((p: { name: string; required: boolean }) => [p.name, p.required])).toEqual([
        ["X-Hub-Signature-256", true], ["X-GitHub-Event", true], ["X-GitHub-Delivery", false],
      ]);
      expect(op.requestBody.content["application/json"].schema.type).toBe("object");
      expect(Object.keys(op.responses).sort()).toEqual(["200", "202", "400", "401", "404", "413", "415", "503"]);
    }
  });
});
