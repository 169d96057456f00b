import { describe, expect, it } from "@jest/globals";
import { readFileSync } from "node:fs";
import semver from "semver";

const root = new URL("../../", import.meta.url);
const read = (file: string) => readFileSync(new URL(file, root), "utf8");

interface LockedPackage { version?: string; engines?: { node?: string } | string[] }

const supported = JSON.parse(read("package.json")).engines.node as string;
const oldest = semver.minVersion(supported)!.version;
const locked = Object.entries(JSON.parse(read("package-lock.json")).packages as Record<string, LockedPackage>);

describe("the Node versions package.json, the lock file and the image support", () => {
  it("every locked package runs on the oldest Node that engines admits, so npm install warns no EBADENGINE", () => {
    const refusing = locked
      .map(([where, pkg]) => ({ where, node: Array.isArray(pkg.engines) ? undefined : pkg.engines?.node }))
      .filter(({ node }) => node !== undefined && !semver.satisfies(oldest, node))
      .map(({ where, node }) => `${where} needs Node ${node}`);
    expect(refusing).toEqual([]);
  });

  it("the image's Node is a version engines admits", () => {
    const images = [...read("Dockerfile").matchAll(/^FROM node:(\d+)[.-]/gm)];
    expect(images.length).toBeGreaterThan(0);
    for (const [, major] of images) {
      expect(semver.intersects(`${major}.x`, supported)).toBe(true);
      expect(Number(major)).toBe(semver.major(oldest));
    }
  });
});
