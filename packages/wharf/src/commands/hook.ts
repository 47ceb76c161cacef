/**
 * Hooks (Kamal's Commands::Hook): executables in hooks_path (default
 * `.kamal/hooks`) run on this machine with the invocation's details in the
 * environment: KAMAL_RECORDED_AT, KAMAL_PERFORMER, KAMAL_DESTINATION,
 * KAMAL_VERSION, KAMAL_SERVICE_VERSION, KAMAL_SERVICE, KAMAL_HOSTS,
 * KAMAL_ROLES, KAMAL_LOCK, KAMAL_COMMAND, KAMAL_SUBCOMMAND, KAMAL_RUNTIME…
 * (unset ones left out). wharf also sets each as WHARF_*, so hooks written for
 * either tool work. Hooks that Kamal gives secrets (pre-connect, pre-deploy,
 * post-deploy) get them as plain variables too.
 */
import { join } from 'node:path';
import type { Config } from '../config/index.js';
import type { Command } from './base.js';
import { Tags, type Stamp, type TagValue } from './tags.js';

/** Hooks Kamal runs, in the order a deploy meets them. */
export const HOOK_NAMES = [
  'pre-connect',
  'pre-build',
  'pre-deploy',
  'pre-app-boot',
  'post-app-boot',
  'post-deploy',
  'pre-proxy-reboot',
  'post-proxy-reboot',
  'docker-setup',
] as const;

/** Details of an invocation passed to hooks. */
export interface HookDetails {
  /** Hosts this invocation works on (or the boot group's hosts), comma-joined in the env. */
  hosts?: string[];
  /** Only when --roles was given. */
  roles?: string[];
  /** Whether this process holds the deploy lock. */
  lock?: boolean;
  /** `deploy`, `app`, `proxy`… */
  command?: string;
  /** `boot`, `reboot`… for subcommand groups. */
  subcommand?: string;
  /** Seconds the command took (post-deploy); rounded, as Kamal does. */
  runtime?: number;
  /** Anything else, added as KAMAL_<NAME>. */
  extra?: Record<string, TagValue>;
}

export class HookCommands {
  constructor(
    readonly config: Config,
    readonly stamp: Stamp,
  ) {}

  /** `<hooks_path>/<hook>` (relative to the project directory unless hooks_path is absolute). */
  hookFile(hook: string): string {
    return join(this.config.hooksPath, hook);
  }

  /** The hook as a local command (run in the project directory). */
  run(hook: string): Command {
    return [this.hookFile(hook)];
  }

  /** KAMAL_* and WHARF_* variables for a hook; `secrets` (name → value) are added as they are. */
  env(details: HookDetails = {}, secrets?: Record<string, string>): Record<string, string> {
    const tags = Tags.fromConfig(this.config, this.stamp, {
      hosts: details.hosts?.join(','),
      roles: details.roles?.join(','),
      lock: details.lock === undefined ? undefined : String(details.lock),
      command: details.command,
      subcommand: details.subcommand,
      runtime: details.runtime === undefined ? undefined : Math.round(details.runtime),
      ...(details.extra ?? {}),
    });
    return { ...tags.env('KAMAL'), ...tags.env('WHARF'), ...(secrets ?? {}) };
  }
}
