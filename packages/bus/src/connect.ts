import { readFileSync, statSync } from "node:fs";
import { forbidden, SkyferryError, unavailable } from "@skyferry/errors";
import {
  type Authenticator,
  type ConnectionOptions,
  connect,
  credsAuthenticator,
  ErrorCode,
  type NatsConnection,
  NatsError,
  nkeyAuthenticator,
  type TlsOptions,
} from "nats";
import type { BusLogger } from "./types.ts";

/**
 * How one process proves who it is to NATS and checks it talks to the real server (docs/trust.md):
 * an NKey seed (or a decentralized-JWT `.creds` file) and the CA of the server's certificate.
 */
export interface NatsCredentials {
  /** File holding this identity's NKey seed (`SU…`), mode 0600. */
  nkeySeedFile?: string;
  /** A decentralized-JWT `.creds` file, instead of the seed. */
  credsFile?: string;
  /** The CA that signed the NATS server's certificate; required with a `tls://` URL. */
  tlsCaFile?: string;
  /** Optional client certificate and its key (servers that verify clients). */
  tlsCertFile?: string;
  tlsKeyFile?: string;
}

export interface NatsConnectSettings {
  /** NATS server URL(s), comma-separated; `tls://` requires TLS. */
  url: string;
  /** The connection name the server shows (monitoring, logs). */
  name: string;
  /**
   * The identity this connection authenticates as: its replies arrive under `_INBOX.<identity>.`,
   * the only inbox subjects its permissions let it subscribe to.
   */
  identity: string;
  credentials: NatsCredentials;
}

/** Identities are subject tokens: no dots, no wildcards, no spaces. */
const IDENTITY = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * The problems with a set of NATS settings, all at once (empty when usable). Checked before
 * anything connects, so a service with a missing seed stops at start-up with a clear message.
 */
export function natsSettingsProblems(settings: { url: string; identity: string; credentials: NatsCredentials }, names = SETTING_NAMES): string[] {
  const c = settings.credentials;
  const problems: string[] = [];
  if (!IDENTITY.test(settings.identity)) problems.push(`identity '${settings.identity}' is not a subject token ([A-Za-z0-9_-])`);
  if (!c.nkeySeedFile && !c.credsFile) problems.push(`${names.nkeySeedFile}: required (or ${names.credsFile}): every NATS connection authenticates`);
  if (c.nkeySeedFile && c.credsFile) problems.push(`${names.nkeySeedFile} and ${names.credsFile}: give one, not both`);
  if (usesTls(settings.url) && !c.tlsCaFile) problems.push(`${names.tlsCaFile}: required with a tls:// URL (the CA that signed the NATS server's certificate)`);
  if (Boolean(c.tlsCertFile) !== Boolean(c.tlsKeyFile)) problems.push(`${names.tlsCertFile} and ${names.tlsKeyFile}: give both or neither`);
  for (const key of ["nkeySeedFile", "credsFile", "tlsCaFile", "tlsCertFile", "tlsKeyFile"] as const) {
    const file = c[key];
    if (!file) continue;
    try {
      if (!statSync(file).isFile()) problems.push(`${names[key]}: ${file} is not a file`);
    } catch {
      problems.push(`${names[key]}: cannot read ${file}`);
    }
  }
  return problems;
}

/** The environment variable behind each credential (messages name what the operator sets). */
export const SETTING_NAMES = {
  nkeySeedFile: "SKYFERRY_NATS_NKEY_SEED_FILE",
  credsFile: "SKYFERRY_NATS_CREDS_FILE",
  tlsCaFile: "SKYFERRY_NATS_TLS_CA_FILE",
  tlsCertFile: "SKYFERRY_NATS_TLS_CERT_FILE",
  tlsKeyFile: "SKYFERRY_NATS_TLS_KEY_FILE",
} as const;

function usesTls(url: string): boolean {
  return url.split(",").some((s) => s.trim().startsWith("tls://"));
}

/** nats.js connection options for `settings`: authenticator, TLS, per-identity inbox. */
export function connectionOptions(settings: NatsConnectSettings, logger?: BusLogger): ConnectionOptions {
  const problems = natsSettingsProblems(settings);
  if (problems.length > 0) throw new SkyferryError("BUS_SETTINGS_INVALID", `Invalid NATS settings:\n  - ${problems.join("\n  - ")}`, { status: 500 });
  const c = settings.credentials;
  let authenticator: Authenticator;
  if (c.credsFile) {
    warnIfShared(c.credsFile, logger);
    authenticator = credsAuthenticator(readFileSync(c.credsFile));
  } else {
    const file = c.nkeySeedFile!;
    warnIfShared(file, logger);
    const seed = readFileSync(file, "utf8").trim();
    if (!seed.startsWith("SU")) throw new SkyferryError("BUS_SETTINGS_INVALID", `${file} does not hold a user NKey seed (SU…).`, { status: 500 });
    authenticator = nkeyAuthenticator(new TextEncoder().encode(seed));
  }
  const tls: TlsOptions | undefined =
    usesTls(settings.url) || c.tlsCaFile || c.tlsCertFile
      ? { ...(c.tlsCaFile ? { caFile: c.tlsCaFile } : {}), ...(c.tlsCertFile ? { certFile: c.tlsCertFile, keyFile: c.tlsKeyFile } : {}) }
      : undefined;
  return {
    servers: settings.url.split(",").map((s) => s.trim().replace(/^(tls|nats):\/\//, "")),
    name: settings.name,
    authenticator,
    ...(tls ? { tls } : {}),
    inboxPrefix: `_INBOX.${settings.identity}`,
  };
}

/**
 * Connects to NATS as `settings.identity`. A refused connection (no, wrong or unknown key; a
 * certificate that does not verify) is a coded error, BUS_AUTH_REFUSED / BUS_TLS_FAILED /
 * BUS_CONNECT_FAILED, not a raw client error.
 */
export async function connectNats(settings: NatsConnectSettings, extra: Partial<ConnectionOptions> = {}, logger?: BusLogger): Promise<NatsConnection> {
  const options = connectionOptions(settings, logger);
  try {
    return await connect({ ...options, ...extra });
  } catch (err) {
    throw connectFailure(err, settings);
  }
}

function connectFailure(err: unknown, settings: NatsConnectSettings): SkyferryError {
  const where = `${settings.url} as '${settings.identity}'`;
  if (err instanceof NatsError && (err.code === ErrorCode.AuthorizationViolation || err.isAuthError())) {
    return new SkyferryError("BUS_AUTH_REFUSED", `NATS refused the connection to ${where}: ${err.message}.`, { status: 503, cause: err });
  }
  const message = err instanceof Error ? err.message : String(err);
  if (/certificate|tls|ssl|self.signed/i.test(message)) {
    return new SkyferryError("BUS_TLS_FAILED", `TLS with the NATS server ${where} failed: ${message}.`, { status: 503, cause: err });
  }
  return unavailable("BUS_CONNECT_FAILED", `Cannot connect to NATS at ${where}: ${message}.`, err);
}

/** A request the server refused under this identity's permissions (nats.js reports it at once). */
export function busPermissionDenied(subject: string, operation = "publish"): SkyferryError {
  return forbidden("BUS_PERMISSION_DENIED", `This service may not ${operation === "subscription" ? "subscribe to" : "publish to"} ${subject} (NATS permissions).`);
}

/** Turns nats.js's permissions violation into BUS_PERMISSION_DENIED; any other error unchanged. */
export function asPermissionError(err: unknown, subject: string): unknown {
  if (err instanceof NatsError && err.code === ErrorCode.PermissionsViolation) {
    return busPermissionDenied(err.permissionContext?.subject ?? subject, err.permissionContext?.operation);
  }
  return err;
}

function warnIfShared(file: string, logger: BusLogger | undefined): void {
  try {
    // Kubernetes Secret volumes are group-readable by design (fsGroup); others must not read it.
    if ((statSync(file).mode & 0o007) !== 0) logger?.warn({ file }, "NATS credentials file is readable by other users; make it 0600");
  } catch {
    // reported by natsSettingsProblems
  }
}
