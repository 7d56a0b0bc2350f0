import helmet from "@fastify/helmet";
import type { FastifyInstance } from "fastify";

/**
 * The content security policy of every response, the console's pages included: scripts, styles
 * and connections from this origin only, no framing, no plugins. Only Swagger UI at /api/docs
 * gets `style-src 'unsafe-inline'` as well (DOCS_CONTENT_SECURITY_POLICY).
 */
export const CONTENT_SECURITY_POLICY = {
  "default-src": ["'self'"],
  "script-src": ["'self'"],
  "style-src": ["'self'"],
  "connect-src": ["'self'"],
  "img-src": ["'self'", "data:"],
  "frame-ancestors": ["'none'"],
  "object-src": ["'none'"],
  "base-uri": ["'self'"],
  "form-action": ["'self'"],
} as const;

/**
 * Swagger UI's bundle applies an inline style (Chromium reports the violation under the strict
 * policy): its pages may use inline styles, never inline scripts. Set by plugins/openapi.ts.
 */
export const DOCS_CONTENT_SECURITY_POLICY = { ...CONTENT_SECURITY_POLICY, "style-src": ["'self'", "'unsafe-inline'"] } as const;

/** A policy as the Content-Security-Policy header value, in helmet's format. */
export function cspHeader(policy: Readonly<Record<string, readonly string[]>>): string {
  return Object.entries(policy)
    .map(([directive, values]) => `${directive} ${values.join(" ")}`)
    .join(";");
}

export interface SecurityOptions {
  /** SKYFERRY_PUBLIC_URL; HSTS is sent only when it is https (a plain-http gateway must not pin https). */
  publicUrl: string;
}

/** Security headers on every response (@fastify/helmet), including errors, 404s and SSE streams. */
export async function registerSecurityHeaders(app: FastifyInstance, opts: SecurityOptions): Promise<void> {
  await app.register(helmet, {
    contentSecurityPolicy: {
      useDefaults: false,
      directives: Object.fromEntries(Object.entries(CONTENT_SECURITY_POLICY).map(([k, v]) => [k, [...v]])),
    },
    strictTransportSecurity: opts.publicUrl.startsWith("https://") ? { maxAge: 31_536_000, includeSubDomains: true } : false,
    // Not helmet's no-referrer: under it browsers send `Origin: null` even on same-origin POSTs,
    // and plugins/csrf.ts checks Origin. same-origin keeps the real origin for our own requests
    // and sends nothing to other sites.
    referrerPolicy: { policy: "same-origin" },
  });
}
