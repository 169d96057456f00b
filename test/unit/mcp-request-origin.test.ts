import { describe, expect, it } from "@jest/globals";
import { originPolicy, refusedOrigin } from "../../src/mcp/request-origin.js";

describe("originPolicy", () => {
  it.each([
    ["any Host on a server bound to every address", { bindHost: "0.0.0.0", allowedHosts: [], allowedOrigins: [] }, { allowedHosts: undefined, allowedOrigins: [] }],
    ["loopback names on a server bound to loopback", { bindHost: "127.0.0.1", allowedHosts: [], allowedOrigins: [] }, { allowedHosts: ["localhost", "127.0.0.1", "[::1]"], allowedOrigins: [] }],
    ["BASE_URL's host and origin too", { bindHost: "::1", baseUrl: "https://entourage.example:8443", allowedHosts: [], allowedOrigins: [] },
      { allowedHosts: ["localhost", "127.0.0.1", "[::1]", "entourage.example:8443"], allowedOrigins: ["https://entourage.example:8443"] }],
    ["MCP_ALLOWED_HOSTS as given", { bindHost: "0.0.0.0", allowedHosts: ["Laptop.local", "::1"], allowedOrigins: ["http://localhost:6274"] },
      { allowedHosts: ["laptop.local", "[::1]"], allowedOrigins: ["http://localhost:6274"] }],
    ["* for any Host", { bindHost: "127.0.0.1", allowedHosts: ["*"], allowedOrigins: [] }, { allowedHosts: undefined, allowedOrigins: [] }],
  ])("%s", (_name, input, expected) => {
    expect(originPolicy(input)).toEqual(expected);
  });
});

describe("refusedOrigin", () => {
  const laptop = { allowedHosts: ["localhost", "127.0.0.1", "[::1]"], allowedOrigins: ["http://localhost:6274"] };
  it.each([
    ["a loopback Host with a port", { host: "127.0.0.1:3000" }, laptop, undefined],
    ["an IPv6 loopback Host", { host: "[::1]:3000" }, laptop, undefined],
    ["a rebound name", { host: "evil.example:3000" }, laptop, "Host \"evil.example:3000\" is not one this server answers on /mcp; allowed: localhost, 127.0.0.1, [::1] (MCP_ALLOWED_HOSTS)"],
    ["no Host at all", {}, laptop, "Host \"\" is not one this server answers on /mcp; allowed: localhost, 127.0.0.1, [::1] (MCP_ALLOWED_HOSTS)"],
    ["an allowed Origin", { host: "localhost:3000", origin: "http://localhost:6274" }, laptop, undefined],
    ["a foreign Origin", { host: "localhost:3000", origin: "http://evil.example" }, laptop, "Origin \"http://evil.example\" may not call /mcp; allowed: http://localhost:6274"],
    ["any Host behind a load balancer", { host: "mcp.example.com" }, { allowedOrigins: [] }, undefined],
    ["a browser Origin where none is allowed", { host: "mcp.example.com", origin: "https://mcp.example.com" }, { allowedOrigins: [] },
      "Origin \"https://mcp.example.com\" may not call /mcp; allowed: none (set MCP_ALLOWED_ORIGINS)"],
    ["any Origin with *", { host: "x", origin: "https://a.example" }, { allowedOrigins: ["*"] }, undefined],
  ])("%s", (_name, headers, policy, expected) => {
    expect(refusedOrigin(headers, policy)).toBe(expected);
  });
});
