/** A stand-in `docker` for running the deploy's shell scripts in a real `sh` (unit tests). */
import { chmodSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface FakeDocker {
  /** Put this directory first on PATH. */
  dir: string;
  /** Every argv the fake was called with, one line each. */
  calls: () => string[];
  /** What `docker <sub> …` prints. */
  answer: (sub: string, text: string) => void;
  /** `docker <sub> …` fails with this exit code (and a line on stderr). */
  fail: (sub: string, code: number) => void;
}

/** A directory with a `docker` that appends its argv to calls.log, prints <first arg>.out and exits with fail-<first arg>. */
export function fakeDocker(): FakeDocker {
  const dir = mkdtempSync(join(tmpdir(), 'wharf-fake-docker-'));
  writeFileSync(
    join(dir, 'docker'),
    `#!/bin/sh
echo "$*" >> "${dir}/calls.log"
if [ -f "${dir}/$1.out" ]; then cat "${dir}/$1.out"; fi
if [ -f "${dir}/fail-$1" ]; then echo "docker $1 failed: no luck" >&2; exit "$(cat "${dir}/fail-$1")"; fi
exit 0
`,
  );
  chmodSync(join(dir, 'docker'), 0o755);
  return {
    dir,
    calls: () =>
      existsSync(join(dir, 'calls.log'))
        ? readFileSync(join(dir, 'calls.log'), 'utf8').trim().split('\n')
        : [],
    answer: (sub, text) => writeFileSync(join(dir, `${sub}.out`), text),
    fail: (sub, code) => writeFileSync(join(dir, `fail-${sub}`), String(code)),
  };
}
