/** The files a restore writes into the target's restore directory, from the TOC and the plan. */
import { listFile, type RestorePlan } from './plan.js';
import { tablesFile } from './progress.js';
import { phase2Script, type TargetDb } from './scripts.js';
import type { ArchiveToc } from './toc.js';

/** File name in the restore directory -> content. */
export function restoreFiles(
  toc: ArchiveToc,
  plan: RestorePlan,
  target: TargetDb,
  jobs: number,
): Record<string, string> {
  const byId = new Map(toc.entries.map((e) => [e.id, e]));
  const files: Record<string, string> = {
    'phase1.list': listFile(toc.entries, plan.phase1),
    'post.list': plan.deferredPost.length > 0 ? listFile(toc.entries, plan.deferredPost) : '',
    tables: tablesFile(
      plan.deferred.map((d) => ({
        namespace: byId.get(d.dataId)!.namespace,
        tag: byId.get(d.dataId)!.tag,
        ...(d.bytes !== undefined ? { bytes: d.bytes } : {}),
      })),
    ),
    'phase2.sh': phase2Script(target, jobs),
  };
  plan.deferred.forEach((d, i) => {
    files[`data-${i + 1}.list`] = listFile(toc.entries, [d.dataId]);
  });
  return files;
}
