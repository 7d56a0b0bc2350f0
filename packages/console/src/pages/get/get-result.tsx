import { useEffect, useRef } from "preact/hooks";
import { call, sky } from "../../api/client.ts";
import { href } from "../../route.ts";
import { formatBytes } from "../../ui/format.ts";
import { ErrorBox } from "../../ui/messages.tsx";
import { StateBadge } from "../../ui/state-badge.tsx";
import { Table } from "../../ui/table.tsx";
import { useLoad, useReloadWhile } from "../../ui/use-load.ts";
import type { GetResult } from "./import-form.tsx";

const KEYS = "id,hid,name,extension,file_size,state,misc_info";
const FINAL = new Set(["ok", "error", "failed_metadata", "discarded", "deferred"]);
const COLUMNS = ["#", "Name", "Datatype", "Size", "State", "Job"] as const;

/** The new history items of a get, followed until each is ok or failed, with their jobs. */
export function GetSummary({ result, historyId }: { result: GetResult; historyId: string }) {
  const ids = new Set(result.items.map((i) => i.id));
  const contents = useLoad(() => call(() => sky.api.GET("/api/histories/{id}/contents", { params: { path: { id: historyId }, query: { keys: KEYS } } })), [historyId, result]);
  const now = new Map((contents.data ?? []).filter((d) => ids.has(d.id)).map((d) => [d.id, d]));
  const items = result.items.map((i) => ({ ...i, ...now.get(i.id) }));
  const busy = items.some((i) => !FINAL.has(i.state ?? ""));
  useReloadWhile(busy, contents);
  // Keyboard and screen-reader users land on the outcome (it appears below the form).
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => box.current?.focus(), [result]);
  const jobsLink = `${href("jobs")}?ids=${result.items.map((i) => i.job_id).join(",")}`;

  return (
    <div class="card get-result" role="region" aria-label="The new history items" data-testid="get-result" ref={box} tabIndex={-1}>
      <p>
        {result.items.length} {result.items.length === 1 ? "object" : "objects"} from <code>{result.bucket_name}</code> queued into{" "}
        <a href={href("histories", historyId)}>the history</a>.{" "}
        {result.items.length > 0 ? <a href={jobsLink}>Follow the jobs</a> : null}
      </p>
      {result.failed.length > 0 ? (
        <ul class="alert alert-error" data-testid="get-failed">
          {result.failed.map((f) => (
            <li key={f.object}>
              <code class="break">{f.object}</code>: {f.error}
            </li>
          ))}
        </ul>
      ) : null}
      <ErrorBox error={contents.error} title="Could not follow the new items" />
      {items.length > 0 ? (
        <Table caption="The new history items" columns={COLUMNS}>
          {items.map((i) => (
            <tr key={i.id} data-testid="get-item" data-state={i.state} data-item-id={i.id}>
              <td>{i.hid}</td>
              <td class="break">
                {i.name}
                {i.state === "error" && i.misc_info ? <span class="field-error"> {i.misc_info}</span> : null}
              </td>
              <td>{i.extension ?? "—"}</td>
              <td>{i.state === "ok" ? formatBytes(i.file_size) : "—"}</td>
              <td>
                <StateBadge state={i.state} />
              </td>
              <td>
                <a href={`${href("jobs")}?ids=${i.job_id}`} aria-label={`Job of ${i.name}`}>
                  <code>{i.job_id}</code>
                </a>
              </td>
            </tr>
          ))}
        </Table>
      ) : null}
    </div>
  );
}
