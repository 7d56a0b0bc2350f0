import { type Dataset, uploadBrowserFile } from "@skyferry/client/browser";
import { csrf, CSRF_HEADER } from "./client.ts";

export interface UploadProgress {
  loaded: number;
  total: number;
}

/** Uploads one file into a history with progress (the SDK's XMLHttpRequest upload, with the session's CSRF token). */
export async function uploadFile(historyId: string, file: File, onProgress: (p: UploadProgress) => void, signal?: AbortSignal): Promise<Dataset[]> {
  const token = await csrf();
  return uploadBrowserFile("", historyId, file, { headers: token ? { [CSRF_HEADER]: token } : {}, onProgress, ...(signal ? { signal } : {}) });
}
