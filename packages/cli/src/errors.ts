import { SkyferryApiError } from "@skyferry/client";

/** The exit statuses, documented in `skyferry --help` and the README. */
export const EXIT = { ok: 0, failed: 1, usage: 2, auth: 3 } as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export const CLI_ERROR_CODES = ["CLI_USAGE", "CLI_NO_SERVER", "CLI_NO_API_KEY", "CLI_CONFIG", "CLI_NOT_FOUND", "CLI_AMBIGUOUS", "CLI_SECRET"] as const;
export type CliErrorCode = (typeof CLI_ERROR_CODES)[number];

/** A refusal of the CLI's own (bad arguments, missing configuration), with the exit status it means. */
export class CliError extends Error {
  readonly code: CliErrorCode;
  readonly exit: ExitCode;
  constructor(code: CliErrorCode, message: string, exit: ExitCode = EXIT.usage, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = "CliError";
    this.code = code;
    this.exit = exit;
  }
}

export const usage = (message: string) => new CliError("CLI_USAGE", message, EXIT.usage);

/**
 * Exit status for an error: 3 when the server did not accept the credentials (401) or none are
 * configured, 2 when the request was refused as invalid (400: the arguments), 1 otherwise.
 */
export function exitCodeOf(err: unknown): ExitCode {
  if (err instanceof CliError) return err.exit;
  if (err instanceof SkyferryApiError) {
    if (err.status === 401) return EXIT.auth;
    if (err.status === 400) return EXIT.usage;
  }
  return EXIT.failed;
}

/** `err_code: err_msg`, the line printed on stderr: Galaxy's numeric code for the API's refusals, the symbolic code for the CLI's and the SDK's own. */
export function errorLine(err: unknown): string {
  if (err instanceof CliError) return `${err.code}: ${err.message}`;
  if (err instanceof SkyferryApiError) return `${err.status === 0 && err.code ? err.code : err.errCode}: ${err.message}`;
  return `CLI_INTERNAL: ${err instanceof Error ? err.message : String(err)}`;
}
