export { fromContent, fromName, SNIFF_BYTES, type SniffInput, type SniffResult, sniffDatatype } from "./sniff.ts";
export { COMPRESSED_VARIANTS, KNOWN_EXTS, mimeTypeOf, SUFFIX_TO_EXT } from "./extensions.ts";
export type { Compression } from "./magic.ts";
