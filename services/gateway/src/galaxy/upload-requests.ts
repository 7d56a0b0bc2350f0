import { Type } from "@sinclair/typebox";
import { TypeCompiler } from "@sinclair/typebox/compiler";
import { invalidField } from "@skyferry/errors";

const strict = { additionalProperties: false } as const;
const Ext = Type.Optional(Type.String({ maxLength: 32 }));
const DbKey = Type.Optional(Type.String({ maxLength: 64 }));
/** Pasted content travels in the request body: bounded like any JSON body. */
const MAX_PASTE = 16 * 1024 * 1024;

/** One element of a fetch target (Galaxy's `FetchDataPayload`), the sources skyferry makes datasets from. */
export const FetchElement = Type.Object(
  {
    src: Type.Union([Type.Literal("files"), Type.Literal("pasted"), Type.Literal("url")]),
    ext: Ext,
    dbkey: DbKey,
    name: Type.Optional(Type.Union([Type.String({ maxLength: 255 }), Type.Null()])),
    to_posix_lines: Type.Optional(Type.Boolean()),
    space_to_tab: Type.Optional(Type.Boolean()),
    paste_content: Type.Optional(Type.String({ maxLength: MAX_PASTE })),
    url: Type.Optional(Type.String({ minLength: 1, maxLength: 8192 })),
    /** Accepted for compatibility; skyferry keeps files as uploaded. */
    auto_decompress: Type.Optional(Type.Boolean()),
    info: Type.Optional(Type.Union([Type.String({ maxLength: 4096 }), Type.Null()])),
    created_from_basename: Type.Optional(Type.String({ maxLength: 255 })),
  },
  strict,
);
export type FetchElement = typeof FetchElement.static;
const FetchTarget = Type.Object(
  {
    destination: Type.Object({ type: Type.Literal("hdas", { description: "only history datasets (no collections, no libraries)" }) }, strict),
    elements: Type.Array(FetchElement, { minItems: 1, maxItems: 100 }),
    auto_decompress: Type.Optional(Type.Boolean()),
  },
  strict,
);
/** `files_N|file_data` as JSON: a finished tus session. */
export const SessionRef = Type.Object({ session_id: Type.String({ maxLength: 64 }), name: Type.Optional(Type.String({ maxLength: 255 })) }, strict);
export const FILE_FIELD = /^files_([0-9]{1,3})\|file_data$/;
export const FetchBody = Type.Object(
  {
    history_id: Type.String({ maxLength: 64 }),
    targets: Type.Array(FetchTarget, { minItems: 1, maxItems: 20 }),
    auto_decompress: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false, patternProperties: { [FILE_FIELD.source]: SessionRef } },
);
export type FetchBody = typeof FetchBody.static & Record<string, unknown>;

/** The `upload1` tool's inputs as Galaxy's clients send them (one file, `files_0`). */
const FileInputs = {
    "files_0|type": Type.Optional(Type.Literal("upload_dataset")),
    "files_0|NAME": Type.Optional(Type.String({ maxLength: 255 })),
    "files_0|url_paste": Type.Optional(Type.String({ maxLength: MAX_PASTE })),
    "files_0|to_posix_lines": Type.Optional(Type.Union([Type.Boolean(), Type.Literal("Yes"), Type.Literal("No")])),
    "files_0|space_to_tab": Type.Optional(Type.Union([Type.Boolean(), Type.Literal("Yes"), Type.Literal("No"), Type.Null()])),
    "files_0|auto_decompress": Type.Optional(Type.Boolean()),
};
export const UploadInputs = Type.Object({ file_type: Ext, dbkey: DbKey, ...FileInputs }, strict);
/** BioBlend puts `files_0|url_paste` (and `files_0|file_data`) beside `inputs`; Galaxy merges them in. */
export const ToolsBody = Type.Object({ history_id: Type.String({ maxLength: 64 }), tool_id: Type.String({ maxLength: 255 }), inputs: Type.Optional(UploadInputs), ...FileInputs }, strict);
export type ToolsBody = typeof ToolsBody.static;

const fetchCheck = TypeCompiler.Compile(FetchBody);
const toolsCheck = TypeCompiler.Compile(ToolsBody);

/** Validates a body assembled from multipart fields (JSON route bodies are validated by their schema). */
export function checkFormBody<T>(kind: "fetch" | "tools", value: unknown): T {
  const check = kind === "fetch" ? fetchCheck : toolsCheck;
  if (check.Check(value)) return value as T;
  const first = check.Errors(value).First();
  const field = first?.path.split("/").filter(Boolean).join(".") || "(root)";
  throw invalidField(field, `Invalid body field '${field}': ${first?.message ?? "is invalid"}.`);
}

/** A multipart text field that holds JSON (`targets`, `inputs`). */
export function jsonField(name: string, value: string): unknown {
  try {
    return JSON.parse(value);
  } catch {
    throw invalidField(name, `The form field '${name}' is not valid JSON.`);
  }
}

/** Galaxy's `url_paste`: every non-blank line a URL makes URL uploads, anything else is pasted content. */
export function pastedUrls(text: string): string[] | undefined {
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
  return lines.length > 0 && lines.every((l) => /^(https?|ftp):\/\//i.test(l)) ? lines : undefined;
}

const yes = (v: unknown) => v === true || v === "Yes";

/** Turns `upload1` inputs into one fetch element, so both APIs share one path. */
export function elementsOfTool(body: ToolsBody, hasFile: boolean): FetchElement[] {
  const { history_id: _h, tool_id: _t, inputs: given, ...beside } = body;
  const inputs = { ...beside, ...given };
  const ext = inputs.file_type && inputs.file_type !== "auto" ? inputs.file_type : undefined;
  const common = {
    ...(ext ? { ext } : {}),
    ...(inputs.dbkey ? { dbkey: inputs.dbkey } : {}),
    ...(inputs["files_0|NAME"] ? { name: inputs["files_0|NAME"] } : {}),
    to_posix_lines: inputs["files_0|to_posix_lines"] === undefined ? true : yes(inputs["files_0|to_posix_lines"]),
    space_to_tab: yes(inputs["files_0|space_to_tab"]),
  };
  if (hasFile) return [{ src: "files", ...common }];
  const paste = inputs["files_0|url_paste"];
  if (paste === undefined || paste === "") throw invalidField("inputs.files_0|file_data", "The upload has no file, pasted content or URL (files_0|file_data or files_0|url_paste).");
  const urls = pastedUrls(paste);
  return urls ? urls.map((url) => ({ src: "url", url, ...common })) : [{ src: "pasted", paste_content: paste, ...common }];
}
