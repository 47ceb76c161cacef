/**
 * Which hosts and roles a command acts on: Kamal's -h/--hosts, -r/--roles and
 * -p/--primary filters (comma lists with shell wildcards) applied to the config.
 * Pure: the config supplies the hosts per role.
 */
import { UserError } from '../util/errors.js';

export interface RoleHosts {
  name: string;
  hosts: readonly string[];
}

export interface SelectionInput {
  roles: readonly RoleHosts[];
  /** Hosts of accessories, which count for --hosts matching too. */
  otherHosts?: readonly string[];
  primaryRole: string;
  hostsFilter?: string;
  rolesFilter?: string;
  primary?: boolean;
}

/** A shell wildcard (`*`, `?`, `[abc]`, `{a,b}`) as a whole-string regular expression. */
export function globToRegExp(glob: string): RegExp {
  let out = '';
  let braces = 0;
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*') out += '.*';
    else if (c === '?') out += '.';
    else if (c === '[') {
      const end = glob.indexOf(']', i + 1);
      if (end === -1) out += '\\[';
      else {
        const body = glob.slice(i + 1, end).replace(/\\/g, '\\\\');
        out += `[${body.startsWith('!') ? `^${body.slice(1)}` : body}]`;
        i = end;
      }
    } else if (c === '{') {
      braces++;
      out += '(?:';
    } else if (c === '}' && braces > 0) {
      braces--;
      out += ')';
    } else if (c === ',' && braces > 0) out += '|';
    else out += c.replace(/[.+^$()|\\]/g, '\\$&');
  }
  return new RegExp(`^${out}$`);
}

function splitList(list: string): string[] {
  // Commas inside {a,b} belong to the pattern.
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (const c of list) {
    if (c === '{') depth++;
    if (c === '}') depth = Math.max(0, depth - 1);
    if (c === ',' && depth === 0) {
      parts.push(current.trim());
      current = '';
    } else current += c;
  }
  parts.push(current.trim());
  return parts.filter(Boolean);
}

export function matchAny(patterns: readonly string[], value: string): boolean {
  return patterns.some((p) => globToRegExp(p).test(value));
}

export class Selection {
  readonly roles: readonly RoleHosts[];
  readonly hosts: readonly string[];
  private readonly input: SelectionInput;

  constructor(input: SelectionInput) {
    this.input = input;
    let roles = [...input.roles];
    if (input.rolesFilter) {
      const patterns = splitList(input.rolesFilter);
      roles = roles.filter((r) => matchAny(patterns, r.name));
      if (roles.length === 0) throw new UserError(`No --roles match for ${input.rolesFilter}; roles are ${input.roles.map((r) => r.name).join(', ')}.`);
    }
    const all = unique([...roles.flatMap((r) => r.hosts), ...(input.rolesFilter ? [] : (input.otherHosts ?? []))]);
    let hosts = all;
    if (input.hostsFilter) {
      const patterns = splitList(input.hostsFilter);
      hosts = all.filter((h) => matchAny(patterns, h));
      if (hosts.length === 0) throw new UserError(`No --hosts match for ${input.hostsFilter}; hosts are ${all.join(', ')}.`);
    }
    if (input.primary) {
      const role = input.rolesFilter ? roles[0] : (roles.find((r) => r.name === input.primaryRole) ?? roles[0]);
      const primary = role?.hosts.find((h) => hosts.includes(h));
      hosts = primary ? [primary] : [];
    }
    this.hosts = hosts;
    this.roles = roles
      .map((r) => ({ name: r.name, hosts: r.hosts.filter((h) => hosts.includes(h)) }))
      .filter((r) => r.hosts.length > 0);
  }

  /** The selected roles that run on `host`, in config order. */
  rolesOn(host: string): RoleHosts[] {
    return this.roles.filter((r) => r.hosts.includes(host));
  }

  /** Hosts of the selected roles (app hosts), in config order. */
  get appHosts(): string[] {
    return unique(this.roles.flatMap((r) => r.hosts));
  }

  /** The first selected host of the primary role (or of the first selected role). */
  get primaryHost(): string | undefined {
    const role = this.roles.find((r) => r.name === this.input.primaryRole) ?? this.roles[0];
    return role?.hosts[0];
  }

  /** Whether a host passes the --hosts/--primary filters (for accessory hosts and the like). */
  includesHost(host: string): boolean {
    if (this.input.primary) return this.hosts.includes(host);
    if (!this.input.hostsFilter) return true;
    return matchAny(splitList(this.input.hostsFilter), host);
  }
}

function unique<T>(items: readonly T[]): T[] {
  return [...new Set(items)];
}
