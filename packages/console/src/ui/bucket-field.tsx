const BUCKET_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{1,254}$/;

/** What is wrong with a bucket or container name as typed; falsy when nothing is (or nothing is typed yet). */
export function bucketProblem(name: string): string | undefined {
  return name && !BUCKET_RE.test(name.trim()) ? "A bucket name is 2-255 letters, digits, '.', '_' or '-', starting with a letter or digit." : undefined;
}

/** The "Bucket or container" field, checked as it is typed: under it the problem, else `hint`. */
export function BucketField({ id, grow = false, value, onInput, hint }: { id: string; grow?: boolean; value: string; onInput: (bucket: string) => void; hint: string }) {
  const problem = bucketProblem(value);
  return (
    <div class={grow ? "field grow" : "field"}>
      <label for={id}>Bucket or container</label>
      <input id={id} required value={value} aria-invalid={!!problem} aria-describedby={`${id}-msg`} onInput={(e) => onInput(e.currentTarget.value)} />
      <p id={`${id}-msg`} class={problem ? "field-error" : "hint"}>
        {problem ?? hint}
      </p>
    </div>
  );
}
