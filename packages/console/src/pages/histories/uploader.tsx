import { useState } from "preact/hooks";
import { messageOf } from "../../api/client.ts";
import { uploadFile } from "../../api/upload.ts";
import { formatBytes } from "../../ui/format.ts";

interface Item {
  key: string;
  name: string;
  size: number;
  loaded: number;
  state: "waiting" | "uploading" | "done" | "failed";
  error?: string;
}

/** Upload by drag-and-drop (or the file picker, for keyboards), one progress bar per file. */
export function Uploader({ historyId, onUploaded }: { historyId: string; onUploaded: () => void }) {
  const [items, setItems] = useState<Item[]>([]);
  const [over, setOver] = useState(false);
  const update = (key: string, patch: Partial<Item>) => setItems((all) => all.map((i) => (i.key === key ? { ...i, ...patch } : i)));

  const start = async (files: File[]) => {
    const batch = files.map((f, n) => ({ file: f, item: { key: `${Date.now()}-${n}-${f.name}`, name: f.name, size: f.size, loaded: 0, state: "waiting" as const } }));
    setItems((all) => [...batch.map((b) => b.item), ...all]);
    // One at a time: the bars fill in order and the link is not split between files.
    for (const { file, item } of batch) {
      update(item.key, { state: "uploading" });
      try {
        // The request is a bit larger than the file (multipart framing): show the file's share.
        await uploadFile(historyId, file, (p) => update(item.key, { loaded: p.total > 0 ? Math.min(file.size, Math.round((p.loaded / p.total) * file.size)) : 0 }));
        update(item.key, { state: "done", loaded: file.size });
      } catch (err) {
        update(item.key, { state: "failed", error: messageOf(err) });
      }
      onUploaded();
    }
  };

  const onDrop = (e: DragEvent) => {
    e.preventDefault();
    setOver(false);
    const files = Array.from(e.dataTransfer?.files ?? []);
    if (files.length) void start(files);
  };

  return (
    <div class="upload">
      <div
        class={`dropzone${over ? " dropzone-over" : ""}`}
        data-testid="dropzone"
        onDragOver={(e) => {
          e.preventDefault();
          setOver(true);
        }}
        onDragLeave={() => setOver(false)}
        onDrop={onDrop}
      >
        <p>Drop files here to upload them into this history, or choose them:</p>
        <label for="upload-input">Files to upload</label>
        <input
          id="upload-input"
          type="file"
          multiple
          onChange={(e) => {
            const files = Array.from(e.currentTarget.files ?? []);
            e.currentTarget.value = "";
            if (files.length) void start(files);
          }}
        />
      </div>
      {items.length > 0 ? (
        <ul class="uploads" aria-label="Uploads">
          {items.map((i) => (
            <li key={i.key} data-testid="upload-item" data-state={i.state}>
              <div class="row spread">
                <span class="break">{i.name}</span>
                <span class="muted">
                  {formatBytes(i.loaded)} / {formatBytes(i.size)} · {i.state}
                </span>
              </div>
              <progress max={i.size || 1} value={i.state === "done" ? i.size || 1 : i.loaded} aria-label={`Upload of ${i.name}`} />
              {i.error ? (
                <p class="field-error" role="alert">
                  {i.name}: {i.error}
                </p>
              ) : null}
            </li>
          ))}
        </ul>
      ) : null}
    </div>
  );
}
