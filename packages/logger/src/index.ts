import { hostname } from "node:os";
import { pino, type Logger, type LoggerOptions } from "pino";

export type { Logger } from "pino";

/**
 * Paths pino censors in every log line. Covers credentials wherever they appear in the objects
 * we log: request headers, configs, provider credentials and token sets.
 */
export const REDACT_PATHS = [
  "req.headers.authorization",
  "req.headers.cookie",
  "req.headers['x-api-key']",
  "req.query.key",
  "headers.authorization",
  "headers.cookie",
  "headers['x-api-key']",
  "res.headers['set-cookie']",
  "*.password",
  "*.secret",
  "*.client_secret",
  "*.secret_access_key",
  "*.secretAccessKey",
  "*.session_token",
  "*.sessionToken",
  "*.account_key",
  "*.sas",
  "*.api_key",
  "*.key",
  "*.token",
  "*.id_token",
  "*.access_token",
  "*.refresh_token",
  "*.credentials",
  "*.encryption_key",
  "*.encryption_keys",
  "password",
  "secret",
  "client_secret",
  "secret_access_key",
  "session_token",
  "account_key",
  "sas",
  "api_key",
  "id_token",
  "access_token",
  "refresh_token",
  "credentials",
  "encryption_key",
  "encryption_keys",
  // A config object logged whole (or under a key): the dataset store's S3 secret.
  "DATASET_STORE_S3_SECRET_ACCESS_KEY",
  "*.DATASET_STORE_S3_SECRET_ACCESS_KEY",
];

export interface CreateLoggerOptions {
  /** Service or package name, logged as `service`. */
  name: string;
  level?: string;
  /** Where lines go; defaults to stdout. Tests pass a stream to capture lines. */
  destination?: NodeJS.WritableStream;
  base?: Record<string, unknown>;
}

/** The one logger factory: JSON lines (with service, host name and pid), redaction on, errors under `err`. */
export function createLogger(options: CreateLoggerOptions): Logger {
  const opts: LoggerOptions = {
    level: options.level ?? "info",
    // The host (a pod's name in Kubernetes) tells replicas apart.
    base: { service: options.name, hostname: hostname(), pid: process.pid, ...options.base },
    redact: { paths: REDACT_PATHS, censor: "[redacted]" },
    serializers: { err: pino.stdSerializers.err, error: pino.stdSerializers.err, req: serializeRequest },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return options.destination ? pino(opts, options.destination as pino.DestinationStream) : pino(opts);
}

/** Query parameters that carry credentials (Galaxy's `?key=`), censored wherever a URL is logged. */
const SECRET_QUERY = /([?&](?:key|api_key|token|access_token|id_token|code|state|sig|se|sp)=)[^&#]*/gi;

export function redactUrl(url: string): string {
  return url.replace(SECRET_QUERY, "$1[redacted]");
}

interface LoggedRequest {
  method?: string;
  url?: string;
  host?: string;
  hostname?: string;
  ip?: string;
  socket?: { remoteAddress?: string; remotePort?: number };
}

/** Fastify's request log line, with credentials in the query string censored. */
function serializeRequest(req: LoggedRequest) {
  return {
    method: req.method,
    url: typeof req.url === "string" ? redactUrl(req.url) : req.url,
    host: req.host ?? req.hostname,
    remoteAddress: req.ip ?? req.socket?.remoteAddress,
    remotePort: req.socket?.remotePort,
  };
}
