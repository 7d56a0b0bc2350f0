import type { DatasetObject } from "@skyferry/contracts";
import { ApiError, csrf, CSRF_HEADER, errorFromText } from "./client.ts";

export interface UploadProgress {
  loaded: number;
  total: number;
}

/**
 * Uploads one file into a history (`POST /api/histories/{id}/contents`, multipart). XMLHttpRequest
 * rather than fetch: only it reports upload progress.
 */
export async function uploadFile(historyId: string, file: File, onProgress: (p: UploadProgress) => void, signal?: AbortSignal): Promise<DatasetObject[]> {
  const token = await csrf();
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", `/api/histories/${encodeURIComponent(historyId)}/contents`);
    xhr.withCredentials = true;
    xhr.setRequestHeader("accept", "application/json");
    if (token) xhr.setRequestHeader(CSRF_HEADER, token);
    xhr.upload.addEventListener("progress", (e) => onProgress({ loaded: e.loaded, total: e.lengthComputable ? e.total : file.size }));
    xhr.addEventListener("load", () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        try {
          const body = JSON.parse(xhr.responseText) as { outputs?: DatasetObject[] } | DatasetObject[];
          resolve(Array.isArray(body) ? body : (body.outputs ?? []));
        } catch {
          resolve([]);
        }
      } else {
        reject(errorFromText(xhr.status, xhr.responseText, xhr.statusText));
      }
    });
    xhr.addEventListener("error", () => reject(new ApiError("The upload failed: the connection was lost.", 0)));
    xhr.addEventListener("abort", () => reject(new ApiError("The upload was cancelled.", 0)));
    signal?.addEventListener("abort", () => xhr.abort());
    const form = new FormData();
    form.append("file_type", "auto");
    form.append("files_0|file_data", file, file.name);
    xhr.send(form);
  });
}
