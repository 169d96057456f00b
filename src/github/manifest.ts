import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Octokit } from "@octokit/rest";
import { parse as parseYaml } from "yaml";

/** app.yml at the package's root (from src/github or dist/github). */
export const APP_YML = fileURLToPath(new URL("../../app.yml", import.meta.url));

/** The GitHub App manifest posted to GitHub's "register an App" form. */
export interface AppManifest {
  name?: string;
  url: string;
  description?: string;
  hook_attributes: { url: string; active?: boolean };
  redirect_url: string;
  public?: boolean;
  default_events?: string[];
  default_permissions?: Record<string, string>;
  [key: string]: unknown;
}

export interface ManifestUrls {
  /** The App's homepage: this server. */
  homepageUrl: string;
  /** Where GitHub posts the App's deliveries. */
  webhookUrl: string;
  /** Where GitHub sends the user back with the code to convert. */
  redirectUrl: string;
}

/** The keys the manifest flow writes to .env. */
export const APP_ENV_KEYS = ["APP_ID", "PRIVATE_KEY", "WEBHOOK_SECRET", "GITHUB_CLIENT_ID", "GITHUB_CLIENT_SECRET"] as const;
export type AppEnv = Record<(typeof APP_ENV_KEYS)[number], string>;

export function readAppYml(file: string = APP_YML): Record<string, unknown> {
  const parsed: unknown = parseYaml(readFileSync(file, "utf8"));
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) throw new Error(`${file} is not a YAML mapping`);
  return parsed as Record<string, unknown>;
}

/** app.yml's name, events and permissions, with this server's addresses. */
export function buildManifest(appYml: Record<string, unknown>, urls: ManifestUrls): AppManifest {
  const hook = (typeof appYml.hook_attributes === "object" && appYml.hook_attributes) || {};
  return {
    ...appYml,
    url: urls.homepageUrl,
    hook_attributes: { ...hook, url: urls.webhookUrl },
    redirect_url: urls.redirectUrl,
  };
}

/** GitHub's form that registers an App from a manifest, for the user or for an organization. */
export function createAppUrl(githubUrl: string, options: { org?: string; state: string }): string {
  const owner = options.org ? `/organizations/${encodeURIComponent(options.org)}` : "";
  return `${githubUrl}${owner}/settings/apps/new?state=${encodeURIComponent(options.state)}`;
}

export function newSetupState(): string {
  return randomBytes(16).toString("hex");
}

/** What POST /app-manifests/{code}/conversions answers, as far as we use it. */
export interface ManifestConversion {
  id: number;
  slug?: string;
  name?: string;
  html_url: string;
  client_id: string;
  client_secret: string;
  webhook_secret: string | null;
  pem: string;
}

/** Trades the one-hour code GitHub sent to the redirect URL for the new App's credentials (no authentication). */
export async function convertManifestCode(code: string, options: { baseUrl?: string } = {}): Promise<ManifestConversion> {
  // The route logs the outcome itself, without the code.
  const quiet = () => undefined;
  const octokit = new Octokit({
    baseUrl: options.baseUrl,
    userAgent: "entourage-setup",
    log: { debug: quiet, info: quiet, warn: quiet, error: quiet },
  });
  const response = await octokit.rest.apps.createFromManifest({ code });
  return response.data as unknown as ManifestConversion;
}

export function appEnv(conversion: ManifestConversion): AppEnv {
  return {
    APP_ID: String(conversion.id),
    PRIVATE_KEY: conversion.pem,
    WEBHOOK_SECRET: conversion.webhook_secret ?? "",
    GITHUB_CLIENT_ID: conversion.client_id,
    GITHUB_CLIENT_SECRET: conversion.client_secret,
  };
}

/** A value as a .env line holds it: bare when plain, else double-quoted with newlines escaped. */
export function envValue(value: string): string {
  if (/^[\w.,:/@+=-]*$/.test(value)) return value;
  if (value.includes("\"")) throw new Error("a .env value cannot hold a double quote");
  return `"${value.replace(/\r?\n/g, "\\n")}"`;
}

const ENV_LINE = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(["'`]?)(.*)$/;

/** The lines of a .env text, a quoted value that spans lines kept as one entry. */
function envEntries(text: string): { key?: string; lines: string[] }[] {
  const lines = text.length > 0 ? text.replace(/\r?\n$/, "").split(/\r?\n/) : [];
  const entries: { key?: string; lines: string[] }[] = [];
  for (let i = 0; i < lines.length; i++) {
    const match = ENV_LINE.exec(lines[i]!);
    const entry = { key: match?.[1], lines: [lines[i]!] };
    const quote = match?.[2];
    if (quote && !match[3]!.includes(quote)) {
      while (i + 1 < lines.length) {
        entry.lines.push(lines[++i]!);
        if (lines[i]!.includes(quote)) break;
      }
    }
    entries.push(entry);
  }
  return entries;
}

/**
 * The .env text with `values` set: each key's first entry replaced in place, its later ones dropped,
 * missing keys appended; every other line (comments included) kept as it was.
 */
export function updateEnvText(text: string, values: Record<string, string>): string {
  const written = new Set<string>();
  const out: string[] = [];
  for (const entry of envEntries(text)) {
    if (entry.key === undefined || !Object.hasOwn(values, entry.key)) {
      out.push(...entry.lines);
    } else if (!written.has(entry.key)) {
      out.push(`${entry.key}=${envValue(values[entry.key]!)}`);
      written.add(entry.key);
    }
  }
  for (const [key, value] of Object.entries(values)) {
    if (!written.has(key)) out.push(`${key}=${envValue(value)}`);
  }
  return `${out.join("\n")}\n`;
}

/** Sets `values` in the .env file (created mode 600 if absent), replacing the file whole so a reader never sees half of it. */
export function writeEnvValues(file: string, values: Record<string, string>): void {
  const existing = existsSync(file) ? readFileSync(file, "utf8") : "";
  const temporary = `${file}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  writeFileSync(temporary, updateEnvText(existing, values), { mode: 0o600 });
  renameSync(temporary, file);
}
