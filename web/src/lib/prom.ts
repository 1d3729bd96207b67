// A tolerant reader of the Prometheus text format (0.0.4) and what the metrics page derives
// from two successive scrapes: rates from counters, quantiles from histogram bucket deltas.
// Unknown series, comments, timestamps and exemplars are skipped; a bad line is ignored.

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

function parseValue(s: string): number {
  switch (s) {
    case "+Inf":
    case "Inf":
      return Infinity;
    case "-Inf":
      return -Infinity;
    case "NaN":
      return NaN;
  }
  const v = Number(s);
  return s.trim() === "" ? NaN : v;
}

/** Parses one `name{a="b",c="d"} value [timestamp]` line; null when it is not one. */
export function parseLine(line: string): Sample | null {
  const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)/.exec(line);
  if (!m) return null;
  const name = m[1];
  let i = name.length;
  const labels: Record<string, string> = {};
  if (line[i] === "{") {
    i++;
    for (;;) {
      while (line[i] === " " || line[i] === ",") i++;
      if (line[i] === "}") {
        i++;
        break;
      }
      const lm = /^([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"/.exec(line.slice(i));
      if (!lm) return null;
      i += lm[0].length;
      let v = "";
      for (;;) {
        const c = line[i++];
        if (c === undefined) return null;
        if (c === "\\") {
          const e = line[i++];
          v += e === "n" ? "\n" : e ?? "";
        } else if (c === '"') break;
        else v += c;
      }
      labels[lm[1]] = v;
    }
  }
  const rest = line.slice(i).trim().split(/\s+/);
  if (rest.length === 0 || rest[0] === "") return null;
  const value = parseValue(rest[0]);
  if (Number.isNaN(value) && rest[0] !== "NaN") return null;
  return { name, labels, value };
}

export function parseMetrics(text: string): Sample[] {
  const out: Sample[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (!line || line.startsWith("#")) continue;
    const s = parseLine(line);
    if (s) out.push(s);
  }
  return out;
}

export const sum = (samples: Sample[], name: string, where: (l: Record<string, string>) => boolean = () => true): number | null => {
  let total = 0;
  let found = false;
  for (const s of samples)
    if (s.name === name && where(s.labels) && Number.isFinite(s.value)) {
      total += s.value;
      found = true;
    }
  return found ? total : null;
};

/** Per-second rate of a counter between two scrapes; a reset (process restart) counts from 0. */
export function rate(prev: number | null, cur: number | null, seconds: number): number | null {
  if (prev === null || cur === null || seconds <= 0) return null;
  const delta = cur >= prev ? cur - prev : cur;
  return delta / seconds;
}

/** Cumulative buckets (le → count) of one histogram, summed over the series `where` selects. */
export function buckets(samples: Sample[], name: string, where: (l: Record<string, string>) => boolean = () => true): Map<number, number> {
  const out = new Map<number, number>();
  for (const s of samples) {
    if (s.name !== `${name}_bucket` || !where(s.labels) || s.labels.le === undefined) continue;
    const le = parseValue(s.labels.le);
    if (Number.isNaN(le)) continue;
    out.set(le, (out.get(le) ?? 0) + s.value);
  }
  return out;
}

/**
 * The q-quantile of the observations made between two scrapes (cur − prev, bucket by bucket),
 * interpolated linearly inside its bucket as Prometheus's histogram_quantile does. null when
 * nothing was observed in between. A bucket past the last finite bound answers that bound.
 */
export function quantileBetween(prev: Map<number, number> | null, cur: Map<number, number>, q: number): number | null {
  const bounds = [...cur.keys()].sort((a, b) => a - b);
  if (bounds.length === 0) return null;
  const reset = prev !== null && bounds.some((b) => (cur.get(b) ?? 0) < (prev.get(b) ?? 0));
  const counts = bounds.map((b) => (cur.get(b) ?? 0) - (prev && !reset ? prev.get(b) ?? 0 : 0));
  const total = counts[counts.length - 1];
  if (!(total > 0)) return null;
  const rank = q * total;
  for (let i = 0; i < bounds.length; i++) {
    if (counts[i] >= rank) {
      const upper = bounds[i];
      const lower = i === 0 ? 0 : bounds[i - 1];
      if (upper === Infinity) return lower;
      const below = i === 0 ? 0 : counts[i - 1];
      const inBucket = counts[i] - below;
      if (inBucket <= 0) return upper;
      return lower + (upper - lower) * ((rank - below) / inBucket);
    }
  }
  return bounds[bounds.length - 1] === Infinity ? bounds[bounds.length - 2] ?? null : bounds[bounds.length - 1];
}

/** Gauges by one label's value, e.g. xbanku_consumer_lag by partition. */
export function byLabel(samples: Sample[], name: string, label: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const s of samples) if (s.name === name && s.labels[label] !== undefined) out.set(s.labels[label], (out.get(s.labels[label]) ?? 0) + s.value);
  return out;
}
