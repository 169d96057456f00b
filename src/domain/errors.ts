/** Domain failures; the HTTP layer maps each to one status in one place. */
export class DomainError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
    this.name = new.target.name;
  }
}

export class NotFoundError extends DomainError {
  constructor(what: string) {
    super("not_found", `${what} not found`);
  }
}

export class ValidationError extends DomainError {
  constructor(message: string, code = "invalid_request") {
    super(code, message);
  }
}

export class ConflictError extends DomainError {
  constructor(message: string, code = "conflict") {
    super(code, message);
  }
}

export class UnauthorizedError extends DomainError {
  constructor(message = "a valid X-API-Key or Authorization: Bearer token is required") {
    super("unauthorized", message);
  }
}

/** The caller is known, but its credential may not do this. */
export class ForbiddenError extends DomainError {
  constructor(message: string, code = "forbidden") {
    super(code, message);
  }
}

/** Past a rate limit; the caller may try again after `retryAfterSeconds`. */
export class RateLimitedError extends DomainError {
  constructor(message: string, readonly retryAfterSeconds: number) {
    super("rate_limited", message);
  }
}

export class GoneError extends DomainError {
  constructor(message: string) {
    super("gone", message);
  }
}

/** Something the server needs is not usable now (a secret its key cannot open); the caller may try again later. */
export class ServiceUnavailableError extends DomainError {
  constructor(message: string, code = "unavailable") {
    super(code, message);
  }
}
