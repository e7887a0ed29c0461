/** Terminal helpers for the operator scripts: tables, a progress bar, and time-window arguments. */

/** C0 and C1 controls, DEL, and the bidirectional overrides that reorder what a terminal shows. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point.
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

/**
 * `text` with every control character written as a `\u001b`-style escape: ARNs, vault names and messages come
 * from events and the ledger, and an ESC sequence in one must not clear or rewrite the operator's terminal.
 */
export function escapeControl(text: string): string {
  return text.replace(CONTROL, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

export interface Column<T> {
  header: string;
  value: (row: T) => string | number;
  /** Longer cells are cut with an ellipsis, so one long error message does not wrap the whole table. */
  maxWidth?: number;
}

/**
 * A plain-text table: a header row, then one row per item, columns padded to their widest cell. Cells are
 * untrusted text: whitespace runs become one space and control characters are escaped.
 */
export function formatTable<T>(rows: readonly T[], columns: readonly Column<T>[]): string {
  const cells = rows.map((row) =>
    columns.map((column) => truncate(String(column.value(row)), column.maxWidth)),
  );
  const widths = columns.map((column, i) =>
    Math.max(column.header.length, ...cells.map((row) => row[i]?.length ?? 0)),
  );
  const isNumeric = columns.map(
    (column) => rows.length > 0 && rows.every((row) => typeof column.value(row) === 'number'),
  );
  const line = (values: string[]) =>
    values
      .map((value, i) => (isNumeric[i] ? value.padStart(widths[i] ?? 0) : value.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(columns.map((column) => column.header)), ...cells.map(line)].join('\n');
}

function truncate(text: string, maxWidth: number | undefined): string {
  const flat = escapeControl(text.replace(/\s+/g, ' '));
  return maxWidth !== undefined && flat.length > maxWidth ? `${flat.slice(0, maxWidth - 1)}…` : flat;
}

export interface Progress {
  update(done: number): void;
  end(): void;
}

/**
 * `label [#####.....] 12/40 3s` on `stream`, redrawn in place, when `stream` is a terminal; nothing otherwise
 * (a log file, CI, a pipe), where the command's summary at the end says the same once.
 */
export function createProgress(
  stream: NodeJS.WritableStream & { isTTY?: boolean },
  label: string,
  total: number,
): Progress {
  if (!stream.isTTY) return { update() {}, end() {} };
  const startedAt = Date.now();
  let drawn = false;
  return {
    update(done) {
      const filled = total === 0 ? 10 : Math.min(10, Math.floor((done / total) * 10));
      const elapsed = formatAge((Date.now() - startedAt) / 1000);
      stream.write(
        `\r${label} [${'#'.repeat(filled)}${'.'.repeat(10 - filled)}] ${done}/${total} ${elapsed}`,
      );
      drawn = true;
    },
    end() {
      if (drawn) stream.write('\n');
    },
  };
}

const UNIT_MS: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000 };

/** An ISO date, or a span back from `now` such as `90m`, `24h`, `7d`. */
export function parseTime(option: string, text: string, now: Date): Date {
  const relative = /^(\d+)([mhd])$/.exec(text);
  if (relative) return new Date(now.getTime() - Number(relative[1]) * (UNIT_MS[relative[2] ?? ''] ?? 0));
  const date = new Date(text);
  if (Number.isNaN(date.getTime()) || !/^\d{4}-\d{2}-\d{2}/.test(text)) {
    throw new Error(
      `--${option} must be an ISO date (2024-05-01T00:00:00Z) or a span like 90m, 24h, 7d; got ${text}`,
    );
  }
  return date;
}

/** `3d 4h`, `2h 5m`, `45s`: the two largest units. */
export function formatAge(seconds: number): string {
  const units: [string, number][] = [
    ['d', 86_400],
    ['h', 3_600],
    ['m', 60],
    ['s', 1],
  ];
  const parts: string[] = [];
  let rest = Math.max(0, Math.floor(seconds));
  for (const [unit, size] of units) {
    const count = Math.floor(rest / size);
    rest -= count * size;
    if (count > 0 || (parts.length > 0 && parts.length < 2)) parts.push(`${count}${unit}`);
    if (parts.length === 2) break;
  }
  return parts.length > 0 ? parts.join(' ') : '0s';
}
