import { useState } from "preact/hooks";
import { call, sky } from "../../api/client.ts";
import { formatBytes, formatTime } from "../../ui/format.ts";
import { ErrorBox, Loading } from "../../ui/messages.tsx";
import { useLoad } from "../../ui/use-load.ts";
import { crumbs, DELIMITER, nameIn, type Selection, toggleFolder, toggleObject, toggleObjects } from "./selection.ts";


export const PAGE_SIZES = [10, 25, 50, 100, 250, 1000] as const;

export interface BucketBrowserProps {
  authzId: string;
  bucket: string;
  /** The folder shown ("" for the top). */
  prefix: string;
  selection: Selection;
  onSelect: (s: Selection) => void;
  /** The page address of another folder of the same bucket (folders are links: back works). */
  folderHref: (prefix: string) => string;
  /** Entries (objects and folders) per page; kept by the parent from folder to folder. */
  pageSize: number;
  onPageSize: (n: number) => void;
}

/**
 * One folder of a bucket, page by page (`GET /api/cloud/storage/objects` with `delimiter=/`):
 * sub-folders first, then objects, each with a checkbox. The parent keys it by folder, so a new
 * folder starts at its first page.
 */
export function BucketBrowser({ authzId, bucket, prefix, selection, onSelect, folderHref, pageSize, onPageSize }: BucketBrowserProps) {
  // The cursor of every page seen so far: page n is read with cursors[n - 1] (undefined for the first).
  const [cursors, setCursors] = useState<Array<string | undefined>>([undefined]);
  const cursor = cursors[cursors.length - 1];
  const page = useLoad(
    () => call(() => sky.api.GET("/api/cloud/storage/objects", { params: { query: { authz_id: authzId, bucket, ...(prefix ? { prefix } : {}), delimiter: DELIMITER, limit: pageSize, ...(cursor ? { cursor } : {}) } } })),
    [authzId, bucket, prefix, pageSize, cursor],
  );
  const listing = page.data;
  const objects = listing?.objects ?? [];
  const allPicked = objects.length > 0 && objects.every((o) => selection.objects.has(o.key));
  const empty = listing && listing.objects.length === 0 && listing.prefixes.length === 0;

  return (
    <div class="card" data-testid="bucket-browser">
      <nav aria-label="Folder">
        <ol class="crumbs">
          <li>
            <a href={folderHref("")} aria-current={prefix === "" ? "location" : undefined}>
              {bucket}
            </a>
          </li>
          {crumbs(prefix).map((c) => (
            <li key={c.prefix}>
              <a href={folderHref(c.prefix)} aria-current={c.prefix === prefix ? "location" : undefined}>
                {c.label || "(empty name)"}
              </a>
            </li>
          ))}
        </ol>
      </nav>
      {page.loading ? <Loading what={`the ${prefix ? "folder" : "bucket"}`} /> : null}
      <ErrorBox error={page.error} title={`Could not list ${bucket}`} />
      {empty && !page.loading ? <p class="muted">{prefix ? "This folder is empty." : "This bucket is empty."}</p> : null}
      {listing && !empty ? (
        <div class="table-wrap">
          <table aria-busy={page.loading}>
            <caption class="sr-only">
              Contents of {bucket}/{prefix}, page {cursors.length}
            </caption>
            <thead>
              <tr>
                <th scope="col" class="check">
                  <input type="checkbox" aria-label="Select every object on this page" checked={allPicked} disabled={objects.length === 0} onChange={() => onSelect(toggleObjects(selection, objects))} />
                </th>
                <th scope="col">Name</th>
                <th scope="col" class="nowrap">Size</th>
                <th scope="col" class="col-modified">Modified</th>
              </tr>
            </thead>
            <tbody>
              {listing.prefixes.map((p) => (
                <tr key={p} data-testid="folder-row">
                  <td class="check">
                    <input type="checkbox" aria-label={`Get the whole folder ${p}`} checked={selection.folder === p} onChange={() => onSelect(toggleFolder(selection, p))} />
                  </td>
                  <td class="break">
                    <span class="badge">folder</span> <a href={folderHref(p)}>{nameIn(prefix, p)}</a>
                  </td>
                  <td class="muted">—</td>
                  <td class="muted col-modified">—</td>
                </tr>
              ))}
              {objects.map((o) => (
                <tr key={o.key} data-testid="object-row" data-key={o.key}>
                  <td class="check">
                    <input type="checkbox" aria-label={`Select ${o.key}`} checked={selection.objects.has(o.key)} onChange={() => onSelect(toggleObject(selection, o.key, o.size))} />
                  </td>
                  <td class="break">{nameIn(prefix, o.key)}</td>
                  <td class="nowrap">{formatBytes(o.size)}</td>
                  <td class="col-modified">{formatTime(o.last_modified)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      <div class="row spread pager">
        <div class="row">
          <button type="button" disabled={cursors.length <= 1 || page.loading} onClick={() => setCursors((c) => c.slice(0, -1))}>
            Previous page
          </button>
          <span data-testid="page-number">Page {cursors.length}</span>
          <button type="button" disabled={!listing?.next_cursor || page.loading} onClick={() => setCursors((c) => [...c, listing!.next_cursor!])}>
            Next page
          </button>
        </div>
        <div class="row">
          <label for="get-page-size">Per page</label>
          <select id="get-page-size" value={pageSize} onChange={(e) => { onPageSize(Number(e.currentTarget.value)); setCursors([undefined]); }}>
            {PAGE_SIZES.map((n) => (
              <option key={n} value={n}>
                {n}
              </option>
            ))}
          </select>
        </div>
      </div>
    </div>
  );
}
