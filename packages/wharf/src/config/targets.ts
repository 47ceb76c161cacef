/**
 * Which hosts and roles a command runs on, from --hosts, --roles and
 * --primary (Kamal's Commander specific_* setters and Commander::Specifics):
 * wildcard filters, the primary host and role, and primary-role-first order.
 */
import type { Config } from './config.js';
import type { Role } from './role.js';
import { UserError } from '../util/errors.js';

/** File.fnmatch with FNM_EXTGLOB: `*`, `?`, `[...]` and `{a,b}`. */
export function fnmatch(pattern: string, text: string): boolean {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') re += '.*';
    else if (c === '?') re += '.';
    else if (c === '[') {
      const end = pattern.indexOf(']', i + 1);
      if (end < 0) re += '\\[';
      else {
        re += `[${pattern
          .slice(i + 1, end)
          .replace(/^!/, '^')
          .replace(/\\/g, '\\\\')}]`;
        i = end;
      }
    } else if (c === '{') {
      const end = pattern.indexOf('}', i + 1);
      if (end < 0) re += '\\{';
      else {
        re += `(?:${pattern
          .slice(i + 1, end)
          .split(',')
          .map((alt) =>
            alt
              .replace(/[.+^$()|\\]/g, '\\$&')
              .replace(/\*/g, '.*')
              .replace(/\?/g, '.'),
          )
          .join('|')})`;
        i = end;
      }
    } else if (c === '\\' && i + 1 < pattern.length) re += `\\${pattern[++i]}`;
    else re += c.replace(/[.+^$()|\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`, 's').test(text);
}

/** Kamal::Utils.filter_specific_items: items matching any filter, in filter order, without duplicates. */
export function filterSpecificItems<T>(
  filters: string[],
  items: T[],
  name: (item: T) => string = String,
): T[] {
  const out: T[] = [];
  for (const filter of filters)
    for (const item of items) if (fnmatch(filter, name(item)) && !out.includes(item)) out.push(item);
  return out;
}

export interface TargetOptions {
  /** --hosts, comma-separated, with wildcards. */
  hosts?: string | string[];
  /** --roles, comma-separated, with wildcards. */
  roles?: string | string[];
  /** --primary: only the primary host (of the first selected role, if --roles). */
  primary?: boolean;
}

export interface Targets {
  hosts: string[];
  roles: Role[];
  primaryHost: string | undefined;
  primaryRole: Role | undefined;
  rolesOn(host: string): Role[];
  appHosts: string[];
  proxyHosts: string[];
  accessoryHosts: string[];
}

const list = (v: string | string[] | undefined): string[] | undefined => {
  const items = (Array.isArray(v) ? v : v === undefined ? [] : v.split(','))
    .map((s) => s.trim())
    .filter((s) => s !== '');
  return items.length > 0 ? items : undefined;
};

function stableSortBy<T>(items: T[], key: (item: T) => number): T[] {
  return items
    .map((item, index) => ({ item, index }))
    .sort((a, b) => key(a.item) - key(b.item) || a.index - b.index)
    .map(({ item }) => item);
}

export function selectTargets(config: Config, options: TargetOptions = {}): Targets {
  const roleFilters = list(options.roles);
  let specificRoles: Role[] | undefined;
  if (roleFilters) {
    specificRoles = filterSpecificItems(roleFilters, config.roles, (r) => r.name);
    if (specificRoles.length === 0)
      throw new UserError(
        `No --roles match for ${roleFilters.join(',')}; the roles are ${config.roleNames.join(', ') || 'none'}.`,
      );
  }
  const hostFilters = list(options.hosts);
  let specificHosts: string[] | undefined;
  if (hostFilters) {
    specificHosts = filterSpecificItems(hostFilters, config.allHosts);
    if (specificHosts.length === 0)
      throw new UserError(
        `No --hosts match for ${hostFilters.join(',')}; the hosts are ${config.allHosts.join(', ') || 'none'}.`,
      );
  }
  if (options.primary) {
    const host = specificRoles ? specificRoles[0]!.primaryHost : config.primaryHost;
    specificHosts = host === undefined ? [] : [host];
  }

  const candidateHosts = specificHosts ?? config.allHosts;
  const roles = (specificRoles ?? config.roles).filter((r) =>
    r.hosts.some((h) => candidateHosts.includes(h)),
  );
  const roleHosts = specificRoles?.flatMap((r) => r.hosts);
  let hosts =
    roleHosts && roleHosts.length > 0
      ? candidateHosts.filter((h) => roleHosts.includes(h))
      : [...candidateHosts];

  const rolesOn = (host: string) => roles.filter((r) => r.hosts.includes(host));
  const firstOrPrimary = (rs: Role[]) => rs.find((r) => r === config.primaryRole) ?? rs[0];
  const primarySpecificRole = specificRoles ? firstOrPrimary(specificRoles) : undefined;
  const primaryHost = specificHosts?.[0] ?? primarySpecificRole?.primaryHost ?? config.primaryHost;
  const primaryRole = primaryHost === undefined ? undefined : firstOrPrimary(rolesOn(primaryHost));

  const sortedRoles = stableSortBy(roles, (r) => (r === primaryRole ? 0 : 1));
  const primaryFirst = (hs: string[]) =>
    stableSortBy(hs, (h) => (rolesOn(h).some((r) => r === primaryRole) ? 0 : 1));
  hosts = primaryFirst(hosts);
  return {
    hosts,
    roles: sortedRoles,
    primaryHost,
    primaryRole,
    rolesOn: (host) => stableSortBy(rolesOn(host), (r) => (r === primaryRole ? 0 : 1)),
    appHosts: primaryFirst(config.appHosts.filter((h) => hosts.includes(h))),
    proxyHosts: config.proxyHosts.filter((h) => hosts.includes(h)),
    accessoryHosts: config.accessories
      .flatMap((a) => a.hosts)
      .filter((h, i, all) => hosts.includes(h) && all.indexOf(h) === i),
  };
}
