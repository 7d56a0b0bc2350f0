export type { CompletedPart, ListOptions, ListPage, ObjectInfo, ObjectStore, PutInput, PutResult } from "./port.ts";
export { isStorageError, StorageError, StorageErrorCode } from "./errors.ts";
