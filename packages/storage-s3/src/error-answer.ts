/** Reading an S3 error answer outside the SDK (the direct PUTs): its body, headers and error. */

/** An error answer's body is read up to this many bytes. */
const MAX_ERROR_BODY = 64 * 1024;

/** A response header's first value under `as`, or nothing when absent. */
export function header<K extends string>(headers: Record<string, string | string[] | undefined>, name: string, as: K): Partial<Record<K, string>> {
  const v = headers[name];
  const s = Array.isArray(v) ? v[0] : v;
  return s ? ({ [as]: s } as Record<K, string>) : {};
}

/** An error answer's body as text, at most MAX_ERROR_BODY bytes of it. */
export async function readLimited(body: AsyncIterable<Buffer> & { destroy(): void }): Promise<string> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of body) {
    chunks.push(c);
    n += c.length;
    if (n >= MAX_ERROR_BODY) {
      body.destroy();
      break;
    }
  }
  return Buffer.concat(chunks).toString("utf8");
}

/** The SDK's error shape for an S3 error answer: `<Error><Code>…</Code><Message>…</Message></Error>`. */
export function s3ErrorOf(status: number, xml: string, headers: Record<string, string | string[] | undefined>): Error {
  const tag = (t: string) => xml.match(new RegExp(`<${t}>([^<]*)</${t}>`))?.[1];
  const code = tag("Code");
  const err = new Error(tag("Message") ?? (code ? code : `HTTP ${status}`));
  err.name = code ?? (status === 404 ? "NotFound" : status === 412 ? "PreconditionFailed" : "Error");
  Object.assign(err, { Code: code, $metadata: { httpStatusCode: status, requestId: header(headers, "x-amz-request-id", "id").id } });
  return err;
}
