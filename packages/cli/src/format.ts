import Table from "cli-table3";
import type { Colors } from "./context.ts";

const UNITS = ["B", "KiB", "MiB", "GiB", "TiB"] as const;

/** 1536 -> "1.5 KiB". */
export function bytes(n: number): string {
  let v = n;
  let u = 0;
  while (v >= 1024 && u < UNITS.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${v} B` : `${v.toFixed(v < 10 ? 1 : 0)} ${UNITS[u]}`;
}

export function seconds(s: number): string {
  if (!Number.isFinite(s) || s < 0) return "-";
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)}s`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m}m${String(Math.round(s % 60)).padStart(2, "0")}s` : `${Math.floor(m / 60)}h${String(m % 60).padStart(2, "0")}m`;
}

/** A table with a coloured header (when colours are on) and no borders: easy to read and to grep. */
export function table(c: Colors, head: string[], rows: Array<Array<string | number>>): string {
  const t = new Table({
    head: head.map((h) => c.bold(h)),
    style: { head: [], border: [], compact: true, "padding-left": 0, "padding-right": 2 },
    chars: { top: "", "top-mid": "", "top-left": "", "top-right": "", bottom: "", "bottom-mid": "", "bottom-left": "", "bottom-right": "", left: "", "left-mid": "", mid: "", "mid-mid": "", right: "", "right-mid": "", middle: "" },
  });
  for (const r of rows) t.push(r.map(String));
  return t.toString().split("\n").map((l) => l.trimEnd()).join("\n");
}

export function stateColor(c: Colors, state: string): string {
  if (state === "ok") return c.green(state);
  if (state === "error" || state === "deleted" || state === "failed") return c.red(state);
  if (state === "running") return c.cyan(state);
  return c.yellow(state);
}
