import { describe, expect, it } from "@jest/globals";
import { slugFromName, TEAM_SLUG_PATTERN } from "../../src/domain/teams.js";

describe("slugFromName", () => {
  it.each([
    ["Core", "core"],
    ["Core Platform (EU)", "core-platform-eu"],
    ["  --Front_end--  ", "front-end"],
    ["Équipe Données", "equipe-donnees"],
    ["API v2.0", "api-v2-0"],
    ["!!!", ""],
    ["開発チーム", ""],
    [`${"a".repeat(63)} b`, "a".repeat(63)],
  ])("%j → %j", (name, slug) => {
    expect(slugFromName(name)).toBe(slug);
    if (slug) expect(slug).toMatch(TEAM_SLUG_PATTERN);
  });
});
