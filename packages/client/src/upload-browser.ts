import { clientError, errorFromText } from "./errors.ts";
import type { Dataset } from "./types.ts";

export interface BrowserUploadOptions {
  /** Extra headers (the console's CSRF token). */
  headers?: Record<string, string>;
  onProgress?: (p: { loaded: number; total: number }) => void;
  signal?: AbortSignal;
}

/**
 * Uploads one browser `File` into a history (`POST {baseUrl}/api/histories/{id}/contents`,
 * multipart) with the session cookie. XMLHttpRequest rather than fetch: only it reports upload progress.
 */
export function uploadBrowserFile(baseUrl: string, historyId: string, file: File, opts: BrowserUploadOptions = {}): Promise<Dataset[]> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", `${baseUrl}/api/histories/${encodeURIComponent(historyId)}/contents`);
    xhr.withCredentials = true;
    xhr.setRequestHeader("accept", "application/json");
    for (const [k, v] of Object.entries(opts.headers ?? {})) xhr.setRequestHeader(k, v);
    xhr.upload.addEventListener("progress", (e) => opts.onProgress?.({ loaded: e.loaded, total: e.lengthComputable ? e.total : file.size }));
    xhr.addEventListener("load", () => {
      if (xhr.status < 200 || xhr.status >= 300) return reject(errorFromText(xhr.status, xhr.responseText, xhr.statusText));
      try {
        const body = JSON.parse(xhr.responseText) as { outputs?: Dataset[] } | Dataset[];
        resolve(Array.isArray(body) ? body : (body.outputs ?? []));
      } catch (err) {
        reject(clientError("CLIENT_BAD_RESPONSE", "The upload's answer was not JSON.", err));
      }
    });
    xhr.addEventListener("error", () => reject(clientError("CLIENT_UNREACHABLE", "The upload failed: the connection was lost.")));
    xhr.addEventListener("abort", () => reject(clientError("CLIENT_ABORTED", "The upload was cancelled.")));
    opts.signal?.addEventListener("abort", () => xhr.abort());
    const form = new FormData();
    form.append("file_type", "auto");
    form.append("files_0|file_data", file, file.name);
    xhr.send(form);
  });
}
