import { timingSafeEqual } from "node:crypto";
import type { FastifyReply, FastifyRequest } from "fastify";
import type { DataSource } from "typeorm";
import type { ConsoleSession } from "../db/entities/console-session.js";
import { findConsoleSession } from "../domain/console-sessions.js";
import { cookieValue } from "../http/cookies.js";
import { ForbiddenError } from "../domain/errors.js";

export const SESSION_COOKIE = "entourage_console";
export const CONSOLE_PATH = "/admin";

declare module "fastify" {
  interface FastifyRequest {
    consoleSession: ConsoleSession | null;
  }
}


/** HttpOnly keeps it from scripts, SameSite=Strict from other sites' requests, Path from the rest of the app. */
export function sessionCookie(request: FastifyRequest, token: string, expiresAt: Date): string {
  const maxAge = Math.max(0, Math.floor((expiresAt.getTime() - Date.now()) / 1000));
  return `${SESSION_COOKIE}=${token}; Path=${CONSOLE_PATH}; HttpOnly; SameSite=Strict; Max-Age=${maxAge}${request.protocol === "https" ? "; Secure" : ""}`;
}

export function clearedSessionCookie(): string {
  return `${SESSION_COOKIE}=; Path=${CONSOLE_PATH}; HttpOnly; SameSite=Strict; Max-Age=0`;
}

/** The session the request's cookie opens, if any. */
export async function loadSession(db: DataSource, request: FastifyRequest): Promise<ConsoleSession | undefined> {
  const token = cookieValue(request, SESSION_COOKIE);
  return token ? findConsoleSession(db, token) : undefined;
}

/** A change must come from a page of this very origin: a browser names the page's origin on every POST it sends. */
export function assertSameOrigin(request: FastifyRequest): void {
  const origin = request.headers.origin;
  if (origin === undefined) return;
  if (origin !== `${request.protocol}://${request.host}`) throw new ForbiddenError("the request comes from another site", "cross_origin");
}

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Every form carries the session's CSRF token, which another site cannot read. */
export function assertCsrfToken(request: FastifyRequest, session: ConsoleSession): void {
  const body = request.body as Record<string, unknown> | undefined;
  const sent = typeof body?._csrf === "string" ? body._csrf : request.headers["x-csrf-token"];
  if (typeof sent !== "string" || !same(sent, session.csrf_token)) {
    throw new ForbiddenError("the form is stale or from another site: reload the page and try again", "csrf_token_invalid");
  }
}

/** Redirects to the page given, after a form's change (post, redirect, get). */
export function backTo(reply: FastifyReply, location: string): FastifyReply {
  return reply.redirect(location, 303);
}
