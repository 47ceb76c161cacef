/** Where a command writes: results to stdout, progress to stderr (silent with -q). */
export interface Output {
  quiet: boolean;
  verbose: boolean;
  json: boolean;
  /** A progress line for people (stderr); dropped with --quiet or --json. */
  progress(line: string): void;
  /** The command's result (stdout). */
  result(text: string): void;
}

export function makeOutput(flags: { quiet?: boolean; verbose?: boolean; json?: boolean }): Output {
  const quiet = Boolean(flags.quiet);
  const json = Boolean(flags.json);
  return {
    quiet,
    json,
    verbose: Boolean(flags.verbose),
    progress(line) {
      if (!quiet && !json) process.stderr.write(`${line}\n`);
    },
    result(text) {
      process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
    },
  };
}

/** Left-aligned columns for small tables. */
export function table(rows: string[][]): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows
    .map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  '))
    .join('\n');
}
