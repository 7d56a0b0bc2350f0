export type {
  BodyReader,
  CompletedPart,
  GetOptions,
  ListOptions,
  ListPage,
  ObjectInfo,
  ObjectStore,
  PendingUpload,
  PutInput,
  PutResult,
} from "./port.ts";
export { isStorageError, StorageError, StorageErrorCode, storageCodeForStatus } from "./errors.ts";
export { bodyStream, expectEnd, isBodyReader, openBody, planParts, readFully, readParts, type BodyPart, type OpenedBody, type PartLimits, type PartPlan } from "./parts.ts";
export { abortedError, forEachBounded } from "./pool.ts";
export { getInRanges, type RangeRead, readInRangesOrWhole } from "./ranged.ts";
export { createRenewer, type Expiring } from "./renewing.ts";
export { classifyFailure, type ClassifiedFailure, failureText, isTransientFailure, networkFailure, TRANSIENT_FAILURES } from "./failure.ts";
