/**
 * Reading /proc for the bench: CPU time and RSS of a process tree, and how
 * busy each core was between two snapshots.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { createServer } from 'node:net';

export const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

function statFields(pid) {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may contain spaces.
    return text.slice(text.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** pid and all its descendants that are alive now. */
export function processTree(pid) {
  const children = new Map();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const fields = statFields(entry);
    if (!fields) continue;
    const ppid = Number(fields[1]);
    if (!children.has(ppid)) children.set(ppid, []);
    children.get(ppid).push(Number(entry));
  }
  const tree = [];
  const visit = (p) => {
    tree.push(p);
    for (const c of children.get(p) ?? []) visit(c);
  };
  visit(pid);
  return tree;
}

/** utime + stime of the tree, in microseconds (children that already exited are not counted). */
export function cpuMicros(pids) {
  let ticks = 0;
  for (const pid of pids) {
    const fields = statFields(pid);
    if (fields) ticks += Number(fields[11]) + Number(fields[12]);
  }
  return (ticks * 1e6) / CLK_TCK;
}

/** Resident set size of the tree, in MB. */
export function rssMb(pids) {
  let kb = 0;
  for (const pid of pids) {
    try {
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (m) kb += Number(m[1]);
    } catch {
      /* gone */
    }
  }
  return Math.round((kb / 1024) * 10) / 10;
}

/** Per-core [busy, total] jiffies. */
export function coreTimes() {
  const cores = [];
  for (const line of readFileSync('/proc/stat', 'utf8').split('\n')) {
    const m = /^cpu(\d+) (.*)$/.exec(line);
    if (!m) continue;
    const v = m[2].trim().split(/\s+/).map(Number);
    const idle = v[3] + v[4];
    const total = v.reduce((a, b) => a + b, 0);
    cores[Number(m[1])] = [total - idle, total];
  }
  return cores;
}

/** Busy percent per core between two coreTimes() snapshots. */
export function coreBusy(before, after) {
  return after.map(([busy, total], i) => {
    const dt = total - before[i][1];
    return dt > 0 ? Math.round(((busy - before[i][0]) / dt) * 100) : 0;
  });
}

/** A TCP port free on 127.0.0.1 right now (for the next process to listen on). */
export async function freePort() {
  const server = createServer();
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address();
  await new Promise((r) => server.close(r));
  return port;
}

/** The median of the finite numbers in `xs` (NaN when there are none). */
export function median(xs) {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** --node-flags NAME='--flag --flag2' (repeatable): extra node/V8 flags by build or script name. */
export function nodeFlagsBy(specs) {
  return new Map(
    specs.map((spec) => {
      const eq = spec.indexOf('=');
      return [
        spec.slice(0, eq),
        spec
          .slice(eq + 1)
          .split(' ')
          .filter(Boolean),
      ];
    }),
  );
}
