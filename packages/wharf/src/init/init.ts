import { existsSync } from 'node:fs';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DEPLOY_YML, SAMPLE_HOOKS, SECRETS } from './templates.js';

export interface InitResult {
  created: string[];
  skipped: string[];
}

/** Writes config/deploy.yml, .kamal/secrets and sample hooks into `dir`, never overwriting a file. */
export async function initProject(dir: string): Promise<InitResult> {
  const created: string[] = [];
  const skipped: string[] = [];
  const write = async (relative: string, content: string, mode: number) => {
    const path = join(dir, relative);
    if (existsSync(path)) {
      skipped.push(relative);
      return;
    }
    await mkdir(join(path, '..'), { recursive: true });
    await writeFile(path, content, { mode });
    await chmod(path, mode);
    created.push(relative);
  };
  await write('config/deploy.yml', DEPLOY_YML, 0o644);
  await write('.kamal/secrets', SECRETS, 0o600);
  for (const [name, body] of Object.entries(SAMPLE_HOOKS)) await write(`.kamal/hooks/${name}`, body, 0o755);
  return { created, skipped };
}
