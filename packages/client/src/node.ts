export * from "./index.ts";
export { type NodeUploadOptions, uploadFile, type UploadProgress } from "./upload-node.ts";
