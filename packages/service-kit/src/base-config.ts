import { Type } from "@sinclair/typebox";

/**
 * Settings every service shares. A service's config schema spreads these properties and adds
 * its own; `@skyferry/config` reads each from the environment variable of the same name.
 */
export const BaseConfig = {
  /** Interface to listen on. */
  HOST: Type.String({ default: "127.0.0.1" }),
  /** NATS server URL(s), comma-separated; `tls://host:4222` requires TLS (docs/trust.md). */
  SKYFERRY_NATS_URL: Type.String({ default: "tls://127.0.0.1:4222" }),
  /**
   * File holding this service's NKey seed (`SU…`, mode 0600): the identity NATS authenticates and
   * whose permissions apply. Required unless SKYFERRY_NATS_CREDS_FILE is given.
   */
  SKYFERRY_NATS_NKEY_SEED_FILE: Type.String({ default: "" }),
  /** A decentralized-JWT `.creds` file (made with `nsc`), instead of the seed. */
  SKYFERRY_NATS_CREDS_FILE: Type.String({ default: "" }),
  /** The CA that signed the NATS server's certificate; required when the URL is `tls://`. */
  SKYFERRY_NATS_TLS_CA_FILE: Type.String({ default: "" }),
  /** Optional client certificate (PEM) for a server that verifies clients; with its key below. */
  SKYFERRY_NATS_TLS_CERT_FILE: Type.String({ default: "" }),
  /** The client certificate's private key (PEM). */
  SKYFERRY_NATS_TLS_KEY_FILE: Type.String({ default: "" }),
  /** Subject prefix isolating one deployment from another on a shared NATS. */
  SKYFERRY_NAMESPACE: Type.String({ default: "skyferry", pattern: "^[a-z0-9][a-z0-9_-]{0,62}$" }),
  /** MongoDB (or FerretDB) connection string. */
  MONGO_URL: Type.String({ default: "mongodb://127.0.0.1:27017" }),
  /** Database name; each service uses its own collections inside it. */
  MONGO_DB: Type.String({ default: "skyferry", pattern: "^[A-Za-z0-9_-]{1,63}$" }),
  /** Append the shape (fields, no values) of every MongoDB query to this file: the tests check each is indexed. */
  SKYFERRY_DB_QUERY_SHAPES: Type.Optional(Type.String({ minLength: 1 })),
  /**
   * Port of this service's Prometheus `/metrics` listener, apart from its own port (which for the
   * gateway is the public edge). 0: no listener (the metrics are still kept).
   */
  SKYFERRY_METRICS_PORT: Type.Integer({ default: 0, minimum: 0, maximum: 65535 }),
  /** Interface of the metrics listener; empty: HOST. */
  SKYFERRY_METRICS_HOST: Type.String({ default: "" }),
  /**
   * OpenTelemetry: the OTLP/HTTP endpoint spans are sent to (e.g. http://otel-collector:4318; the
   * standard variable). Empty, the default: tracing off.
   */
  OTEL_EXPORTER_OTLP_ENDPOINT: Type.String({ default: "" }),
  /** Share of new traces recorded, 0 to 1 (a trace begun upstream keeps its caller's decision). */
  SKYFERRY_TRACE_SAMPLE_RATIO: Type.Number({ default: 1, minimum: 0, maximum: 1 }),
  LOG_LEVEL: Type.Union(
    [Type.Literal("fatal"), Type.Literal("error"), Type.Literal("warn"), Type.Literal("info"), Type.Literal("debug"), Type.Literal("trace"), Type.Literal("silent")],
    { default: "info" },
  ),
};
