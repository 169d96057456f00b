import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import SwaggerParser from "@apidevtools/swagger-parser";
import { startTestRuntime, type TestRuntime } from "../helpers/app-runtime.js";

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
        if (!/^[45]/.test(status)) continue;
        expect({ where, status, schema: response.content["application/json"].schema }).toEqual({ where, status, schema: { $ref: "#/components/schemas/Error" } });
        expect(response.content["application/json"].example.error).toEqual({ code: expect.any(String), message: expect.any(String) });
      }
    }
    expect(doc.components.schemas.Error.properties.error.required).toEqual(["code", "message"]);
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
