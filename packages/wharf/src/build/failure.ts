/**
 * Turns the tail of a failed `docker build` / `docker buildx build` / `docker
 * push` output into one sentence: the Dockerfile step that failed when it can
 * be recognised, and the last meaningful line the tool printed.
 */

export interface FailureSummary {
  /** The failing instruction (`RUN npm ci`), when recognisable. */
  step?: string;
  /** `2/5` for the classic builder, `build 3/4` for BuildKit stages. */
  stepNumber?: string;
  /** `Dockerfile:7` when BuildKit names the line. */
  location?: string;
  /** The last meaningful line (BuildKit's ERROR line when there is one). */
  reason: string;
}

const NOISE = [
  /^-+$/,
  /^\s*$/,
  /^Removing intermediate container/,
  /^ ---> /,
  /^DEPRECATED: /,
  /^\s+(BuildKit is currently disabled|Install the buildx component|environment-variable|https:\/\/docs\.docker\.com)/,
  /^#\d+ (DONE|CANCELED|CACHED)/,
  /^Run 'docker .* --help'/,
];

function meaningful(line: string): boolean {
  return !NOISE.some((re) => re.test(line));
}

/** Removes terminal colour codes (the classic builder colours a step's stderr). */
export function stripAnsi(text: string): string {
  return text.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '');
}

/** Strips BuildKit's `#12 0.345 ` progress prefix. */
function stripProgress(line: string): string {
  return line.replace(/^#\d+ \d+(\.\d+)? /, '').replace(/^#\d+ /, '');
}

export function summarizeFailure(lines: readonly string[]): FailureSummary {
  const clean = lines.map((l) => stripAnsi(l).replace(/\r/g, '').trimEnd());
  const summary: FailureSummary = { reason: '' };

  // BuildKit: "ERROR: failed to solve: …" (or "error: …"), the failing step as " > [build 3/4] RUN …:".
  const errorLine = [...clean].reverse().find((l) => /^(ERROR|error)(:| \[)/.test(stripProgress(l)));
  const bkStep = [...clean]
    .reverse()
    .map((l) => /^\s*> \[([^\]]+)\] (.+?):?$/.exec(l))
    .find((m) => m);
  const location = [...clean]
    .reverse()
    .map((l) => /^(\S*Dockerfile\S*):(\d+)$/.exec(l.trim()))
    .find((m) => m);
  if (bkStep) {
    summary.stepNumber = bkStep[1]!;
    summary.step = bkStep[2]!;
  }
  if (location) summary.location = `${location[1]}:${location[2]}`;

  // Classic builder: "Step 2/3 : RUN …", then "The command '…' returned a non-zero code: N".
  if (!bkStep) {
    const classic = [...clean]
      .reverse()
      .map((l) => /^Step (\d+\/\d+) : (.+)$/.exec(l))
      .find((m) => m);
    if (classic) {
      summary.stepNumber = classic[1]!;
      summary.step = classic[2]!;
    }
  }

  const reason = errorLine
    ? stripProgress(errorLine).replace(/^(ERROR|error):\s*/, '')
    : ([...clean].reverse().map(stripProgress).find(meaningful) ?? '');
  summary.reason = reason.trim().replace(/\.$/, '');
  return summary;
}

/** One sentence: what failed, where, why, and what to do. */
export function failureSentence(what: string, summary: FailureSummary, hint: string): string {
  const where = summary.step
    ? ` at ${summary.location ? `${summary.location} ` : ''}step ${summary.stepNumber ? `${summary.stepNumber} ` : ''}\`${truncate(summary.step, 100)}\``
    : '';
  const why = summary.reason ? `: ${truncate(summary.reason, 300)}` : '';
  return `${what} failed${where}${why}; ${hint}.`;
}

function truncate(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
