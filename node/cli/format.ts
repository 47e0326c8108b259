/** Output helpers for CLI commands: readable aligned tables, or JSON for scripts. */

/** Prints `[label, value]` rows with the values aligned in one column. */
export function printTable(rows: readonly (readonly [string, string])[], out = process.stdout): void {
  const width = Math.max(0, ...rows.map(([label]) => label.length));
  for (const [label, value] of rows) out.write(`${label.padEnd(width)}  ${value}\n`);
}

/** Prints one JSON value on stdout, pretty, with a trailing newline. */
export function printJson(value: unknown, out = process.stdout): void {
  out.write(`${JSON.stringify(value, null, 2)}\n`);
}
