import { fromGetAnswer, type GetResult } from "./get-answer.ts";
import { useState } from "preact/hooks";
import { call, sky } from "../../api/client.ts";
import { href } from "../../route.ts";
import { formatBytes } from "../../ui/format.ts";
import { ErrorBox } from "../../ui/messages.tsx";
import { useAction, useLoad } from "../../ui/use-load.ts";
import { DEFAULT_OPTIONS, describeSelection, EMPTY_SELECTION, getBody, type ImportOptions, optionProblem, type Selection, selectedCount, toggleFolder, toggleObject } from "./selection.ts";

export type { GetResult };

const NEW_HISTORY = "new";
/** Suggestions only: any datatype the history service knows is accepted. */
const DATATYPES = ["auto", "bed", "bam", "fasta", "fastqsanger", "fastqsanger.gz", "gff3", "gtf", "sam", "tabular", "txt", "vcf", "csv", "json", "data"];

export interface ImportFormProps {
  authzId: string;
  bucket: string;
  selection: Selection;
  onSelect: (s: Selection) => void;
  initialHistoryId: string | undefined;
  onQueued: (result: GetResult, historyId: string) => void;
}

/** What is selected, where it goes (a history, the datatype and the line options), and the get itself. */
export function ImportForm({ authzId, bucket, selection, onSelect, initialHistoryId, onQueued }: ImportFormProps) {
  const histories = useLoad(() => call(() => sky.api.GET("/api/histories", { params: { query: { keys: "id,name,count" } } })));
  const [historyId, setHistoryId] = useState(initialHistoryId ?? "");
  const [newName, setNewName] = useState("");
  const [options, setOptions] = useState<ImportOptions>(DEFAULT_OPTIONS);
  const action = useAction();
  const chosen = historyId || histories.data?.[0]?.id || NEW_HISTORY;
  const problem = optionProblem(options);
  const count = selectedCount(selection);
  const set = (patch: Partial<ImportOptions>) => setOptions((o) => ({ ...o, ...patch }));

  const submit = (e: Event) => {
    e.preventDefault();
    void action.run(async () => {
      let target = chosen;
      if (target === NEW_HISTORY) {
        const h = await call(() => sky.api.POST("/api/histories", { body: newName.trim() ? { name: newName.trim() } : {} }));
        target = h.id!;
        // Kept chosen: trying again after a refusal reuses this history instead of making another.
        setHistoryId(target);
      }
      const answer = await call(() => sky.api.POST("/api/cloud/storage/get", { body: getBody({ historyId: target, authzId, bucket }, selection, options) }));
      const result = fromGetAnswer(answer, bucket);
      histories.reload(); // the item counts changed
      onQueued(result, target);
    });
  };

  return (
    <form class="form card" onSubmit={submit} noValidate aria-labelledby="get-import-title">
      <h2 id="get-import-title" class="h3">
        Get into a history
      </h2>
      {count === 0 ? (
        <p class="muted" data-testid="selection-summary">
          {describeSelection(selection, formatBytes)}
        </p>
      ) : (
        <div>
          <p data-testid="selection-summary">
            {describeSelection(selection, formatBytes)}{" "}
            <button type="button" class="link" onClick={() => onSelect(EMPTY_SELECTION)}>
              Clear the selection
            </button>
          </p>
          <ul class="chips" aria-label="Selected">
            {selection.folder !== undefined ? (
              <li>
                <span class="break">{selection.folder}</span>{" "}
                <button type="button" class="link" aria-label={`Remove ${selection.folder}`} onClick={() => onSelect(toggleFolder(selection, selection.folder!))}>
                  ×
                </button>
              </li>
            ) : null}
            {[...selection.objects].map(([key, size]) => (
              <li key={key}>
                <span class="break">{key}</span>{" "}
                <button type="button" class="link" aria-label={`Remove ${key}`} onClick={() => onSelect(toggleObject(selection, key, size))}>
                  ×
                </button>
              </li>
            ))}
          </ul>
        </div>
      )}
      <ErrorBox error={histories.error} title="Could not list your histories" />
      <div class="field">
        <label for="get-history">History</label>
        <select id="get-history" value={chosen} onChange={(e) => setHistoryId(e.currentTarget.value)}>
          {(histories.data ?? []).map((h) => (
            <option key={h.id} value={h.id}>
              {h.name} ({h.count ?? 0} {h.count === 1 ? "item" : "items"})
            </option>
          ))}
          <option value={NEW_HISTORY}>A new history…</option>
        </select>
      </div>
      {chosen === NEW_HISTORY ? (
        <div class="field">
          <label for="get-new-history">Name of the new history</label>
          <input id="get-new-history" placeholder="Unnamed history" maxLength={255} value={newName} onInput={(e) => setNewName(e.currentTarget.value)} />
        </div>
      ) : null}
      <div class="field">
        <label for="get-file-type">Datatype</label>
        <input id="get-file-type" list="get-datatypes" value={options.fileType} maxLength={32} aria-invalid={!!problem && problem.startsWith("A datatype")} aria-describedby="get-file-type-hint" onInput={(e) => set({ fileType: e.currentTarget.value })} />
        <datalist id="get-datatypes">
          {DATATYPES.map((d) => (
            <option key={d} value={d} />
          ))}
        </datalist>
        <p id="get-file-type-hint" class="hint">
          auto: detected from the name and the first bytes
        </p>
      </div>
      <div class="field">
        <label for="get-dbkey">Genome build (dbkey)</label>
        <input id="get-dbkey" value={options.dbkey} maxLength={64} placeholder="?" aria-describedby="get-dbkey-hint" onInput={(e) => set({ dbkey: e.currentTarget.value })} />
        <p id="get-dbkey-hint" class="hint">
          e.g. hg38; ? for none
        </p>
      </div>
      <fieldset class="field">
        <legend>While copying</legend>
        <label class="inline">
          <input type="checkbox" checked={options.toPosixLines} onChange={(e) => set({ toPosixLines: e.currentTarget.checked })} /> Convert line endings to POSIX (\n)
        </label>
        <label class="inline">
          <input type="checkbox" checked={options.spaceToTab} onChange={(e) => set({ spaceToTab: e.currentTarget.checked })} /> Convert spaces to tabs
        </label>
      </fieldset>
      {problem ? (
        <p class="field-error" role="alert">
          {problem}
        </p>
      ) : null}
      <ErrorBox error={action.error} title="Not copied" />
      <div class="row">
        <button type="submit" class="button-primary" disabled={action.busy || count === 0 || !!problem || (histories.loading && !histories.data)}>
          {action.busy ? "Starting…" : count === 0 ? "Get" : `Get ${selection.folder !== undefined ? "the selection" : `${count} ${count === 1 ? "object" : "objects"}`}`}
        </button>
        {chosen !== NEW_HISTORY ? <a href={href("histories", chosen)}>Open this history</a> : null}
      </div>
    </form>
  );
}
