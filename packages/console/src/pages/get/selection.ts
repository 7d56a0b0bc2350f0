// Pure helpers of the get-from-cloud page (no DOM): folder paths, what is selected, and the body
// of `POST /api/cloud/storage/get` built from it. Unit-tested in packages/console/test/.

/** Folders are key prefixes ending in this delimiter, as the providers' listings group them. */
export const DELIMITER = "/";

/** What the person picked: objects by key (with their size), and at most one whole folder. */
export interface Selection {
  objects: ReadonlyMap<string, number>;
  folder: string | undefined;
}

export const EMPTY_SELECTION: Selection = { objects: new Map(), folder: undefined };

export function toggleObject(s: Selection, key: string, size: number): Selection {
  const objects = new Map(s.objects);
  if (objects.has(key)) objects.delete(key);
  else objects.set(key, size);
  return { ...s, objects };
}

/** Selects every listed object, or deselects them all when every one is selected already. */
export function toggleObjects(s: Selection, listed: ReadonlyArray<{ key: string; size: number }>): Selection {
  const objects = new Map(s.objects);
  const all = listed.length > 0 && listed.every((o) => objects.has(o.key));
  for (const o of listed) {
    if (all) objects.delete(o.key);
    else objects.set(o.key, o.size);
  }
  return { ...s, objects };
}

/** One folder per get (the API takes one `prefix`): choosing another replaces it. */
export function toggleFolder(s: Selection, prefix: string): Selection {
  return { ...s, folder: s.folder === prefix ? undefined : prefix };
}

export const selectedCount = (s: Selection): number => s.objects.size + (s.folder === undefined ? 0 : 1);
export const selectedBytes = (s: Selection): number => [...s.objects.values()].reduce((a, b) => a + b, 0);

/** The selection in words: "2 objects (1.2 kB) and every object below a/ selected." */
export function describeSelection(s: Selection, bytes: (n: number) => string): string {
  const n = s.objects.size;
  const objects = n > 0 ? `${n} ${n === 1 ? "object" : "objects"} (${bytes(selectedBytes(s))})` : "";
  const folder = s.folder !== undefined ? `every object below ${s.folder}` : "";
  if (!objects && !folder) return "Nothing selected yet: tick objects above, or a whole folder.";
  const both = objects && folder ? `${objects} and ${folder}` : objects || folder;
  return `${both.charAt(0).toUpperCase()}${both.slice(1)} selected.`;
}

/** `a/b/` -> [{label: "a", prefix: "a/"}, {label: "b", prefix: "a/b/"}]. */
export function crumbs(prefix: string): Array<{ label: string; prefix: string }> {
  const parts = prefix.split(DELIMITER).filter((p, i, all) => p !== "" || i < all.length - 1);
  let acc = "";
  return parts.map((label) => {
    acc += `${label}${DELIMITER}`;
    return { label, prefix: acc };
  });
}

/** A key or prefix as shown inside the folder `prefix`: `a/b/c.txt` in `a/` -> `b/c.txt`. */
export function nameIn(prefix: string, key: string): string {
  return prefix && key.startsWith(prefix) ? key.slice(prefix.length) : key;
}

/** The form's choices for the new items (Galaxy's `input_args`). */
export interface ImportOptions {
  /** A datatype, or "" / "auto" to sniff it. */
  fileType: string;
  /** A genome build, or "" / "?" for none. */
  dbkey: string;
  spaceToTab: boolean;
  toPosixLines: boolean;
}

export const DEFAULT_OPTIONS: ImportOptions = { fileType: "auto", dbkey: "?", spaceToTab: false, toPosixLines: false };

export interface GetBody {
  history_id: string;
  authz_id: string;
  bucket: string;
  objects?: string[];
  prefix?: string;
  input_args: { file_type: string; dbkey: string; space_to_tab: boolean; to_posix_lines: boolean };
}

/** The request for the selection; objects in key order. */
export function getBody(target: { historyId: string; authzId: string; bucket: string }, s: Selection, o: ImportOptions): GetBody {
  const objects = [...s.objects.keys()].sort();
  return {
    history_id: target.historyId,
    authz_id: target.authzId,
    bucket: target.bucket,
    ...(objects.length > 0 || s.folder === undefined ? { objects } : {}),
    ...(s.folder !== undefined ? { prefix: s.folder } : {}),
    input_args: {
      file_type: o.fileType.trim() || "auto",
      dbkey: o.dbkey.trim() || "?",
      space_to_tab: o.spaceToTab,
      to_posix_lines: o.toPosixLines,
    },
  };
}

/** Why a datatype or genome build cannot be sent, or undefined. */
export function optionProblem(o: ImportOptions): string | undefined {
  if (!/^[A-Za-z0-9_.-]{1,32}$/.test(o.fileType.trim() || "auto")) return "A datatype is up to 32 letters, digits, '.', '_' or '-' (or auto).";
  if (o.dbkey.trim().length > 64) return "A genome build is at most 64 characters.";
  return undefined;
}
