import { AssumeRoleWithWebIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { SkyferryError, unavailable } from "@skyferry/errors";

/** What `assumeRoleWithWebIdentity` needs: the role, the identity's current ID token, the session. */
export interface WebIdentityRequest {
  /** STS endpoint; omitted for AWS itself (the SDK derives it from the region). */
  endpoint?: string;
  region: string;
  roleArn: string;
  webIdentityToken: string;
  durationSeconds: number;
  roleSessionName: string;
}

/** Temporary credentials for the role, valid until `expiration`. */
export interface WebIdentityCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  expiration: Date;
}

const REQUEST_TIMEOUT_MS = 15_000;
const CONNECT_TIMEOUT_MS = 5_000;

/**
 * Exchanges an OpenID Connect ID token for temporary credentials (STS AssumeRoleWithWebIdentity).
 * The call is unsigned: the ID token is the proof, so no AWS credentials are involved.
 *
 * @throws SkyferryError `AUTHZ_STS_REFUSED` (401, 401001) when STS refuses the token or the role
 *   (expired, wrong audience, bad signature, untrusted issuer, no such role, ...), with STS's reason.
 * @throws SkyferryError `AUTHZ_STS_UNAVAILABLE` (503, retryable) when STS cannot be reached, throttles,
 *   fails on its side, cannot reach the identity provider, or answers without credentials.
 */
export async function assumeRoleWithWebIdentity(input: WebIdentityRequest): Promise<WebIdentityCredentials> {
  const client = new STSClient({
    region: input.region,
    ...(input.endpoint ? { endpoint: input.endpoint } : {}),
    requestHandler: { requestTimeout: REQUEST_TIMEOUT_MS, connectionTimeout: CONNECT_TIMEOUT_MS },
  });
  client.middlewareStack.add(
    (next) => async (args) => {
      const out = await next(args);
      const res = out.response as { statusCode?: number; body?: unknown };
      const status = res.statusCode ?? 0;
      if (status >= 400 && status < 500 && status !== 429) throw refused(status, await readText(res.body));
      return out;
    },
    // "low" runs inside the SDK's deserializer, so it sees the raw answer. Ceph radosgw answers STS
    // errors as a bare <Error> document that the SDK's awsQuery parser turns into "UnknownError",
    // dropping the code; reading the body ourselves keeps the provider's reason for every STS.
    { step: "deserialize", priority: "low", name: "skyferryStsRefusal" },
  );
  try {
    const out = await client.send(
      new AssumeRoleWithWebIdentityCommand({
        RoleArn: input.roleArn,
        RoleSessionName: input.roleSessionName,
        WebIdentityToken: input.webIdentityToken,
        DurationSeconds: input.durationSeconds,
      }),
    );
    const c = out.Credentials;
    if (!c?.AccessKeyId || !c.SecretAccessKey || !c.SessionToken || !(c.Expiration instanceof Date)) {
      throw unavailable("AUTHZ_STS_UNAVAILABLE", "STS answered AssumeRoleWithWebIdentity without complete credentials.");
    }
    return { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, sessionToken: c.SessionToken, expiration: c.Expiration };
  } catch (err) {
    if (err instanceof SkyferryError) throw err;
    throw unavailable("AUTHZ_STS_UNAVAILABLE", `STS could not be reached or failed (${describe(err)}); try again shortly.`, err);
  } finally {
    client.destroy();
  }
}

function refused(status: number, body: string): SkyferryError {
  // Both AWS (<ErrorResponse><Error>…) and radosgw (<Error>…) put Code and Message in these elements.
  const code = xmlText(body, "Code") ?? `HTTP ${status}`;
  const message = xmlText(body, "Message");
  const reason = message ? `${code}: ${message}` : code;
  // AWS answers 400 IDPCommunicationError when it could not reach the issuer: a retry may succeed.
  if (code === "IDPCommunicationError") return unavailable("AUTHZ_STS_UNAVAILABLE", `STS could not reach the identity provider (${reason}); try again shortly.`);
  return new SkyferryError("AUTHZ_STS_REFUSED", `STS refused the web identity token: ${reason}`, { status: 401, errCode: 401001 });
}

function xmlText(xml: string, element: string): string | undefined {
  const m = new RegExp(`<${element}>([^<]*)</${element}>`).exec(xml);
  const text = m?.[1]
    ?.replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, "&")
    .trim();
  return text ? text.slice(0, 300) : undefined;
}

async function readText(body: unknown): Promise<string> {
  if (typeof body === "string") return body;
  if (!body || typeof (body as AsyncIterable<unknown>)[Symbol.asyncIterator] !== "function") return "";
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Uint8Array | string>) {
    const buf = typeof chunk === "string" ? Buffer.from(chunk) : Buffer.from(chunk);
    size += buf.length;
    if (size > 64 * 1024) break; // an error document is small; do not buffer a runaway answer
    chunks.push(buf);
  }
  return Buffer.concat(chunks).toString("utf8");
}

function describe(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    return [err.name, typeof code === "string" ? code : undefined, status ? `HTTP ${status}` : undefined].filter(Boolean).join(", ");
  }
  return "unknown error";
}
