/**
 * `wharf docs [SECTION]`: the reference for each section, generated from the
 * descriptions in the schema (our own words), printed as an annotated YAML
 * skeleton.
 */
import type * as z from 'zod';
import { SECTIONS } from './schema.js';
import { unwrap } from './shape-check.js';

type AnySchema = z.core.$ZodType;
type Def = { type: string; [k: string]: unknown };

const defOf = (s: AnySchema): Def => (s as unknown as { _zod: { def: Def } })._zod.def;
const descriptionOf = (s: AnySchema): string | undefined =>
  (s as unknown as { description?: string }).description;

function typeName(s: AnySchema): string {
  const inner = unwrap(s);
  const def = defOf(inner);
  switch (def.type) {
    case 'string':
      return 'string';
    case 'number':
      return 'integer';
    case 'boolean':
      return 'true|false';
    case 'literal':
      return (def.values as unknown[]).map(String).join('|');
    case 'array':
      return `[${typeName(def.element as AnySchema)}, ...]`;
    case 'tuple':
      return `[${(def.items as AnySchema[]).map(typeName).join(', ')}]`;
    case 'record':
      return `{name: ${typeName(def.valueType as AnySchema)}}`;
    case 'object':
      return '{...}';
    case 'never':
      return '(not allowed here)';
    case 'union': {
      const names = (def.options as AnySchema[]).map(typeName);
      // A Kamal "string" accepts numbers and booleans too; show it as string.
      if (names.length === 3 && names[0] === 'string' && names[1] === 'integer' && names[2] === 'true|false')
        return 'string';
      return [...new Set(names)].join(' | ');
    }
    default:
      return def.type;
  }
}

function wrap(text: string, indent: string): string[] {
  const words = text.split(/\s+/);
  const lines: string[] = [];
  let cur = '';
  for (const w of words) {
    if (cur !== '' && (indent + '# ' + cur + ' ' + w).length > 100) {
      lines.push(`${indent}# ${cur}`);
      cur = w;
    } else cur = cur === '' ? w : `${cur} ${w}`;
  }
  if (cur !== '') lines.push(`${indent}# ${cur}`);
  return lines;
}

const OWN_SECTION: Record<string, string> = {
  registry: 'registry',
  servers: 'servers',
  env: 'env',
  logging: 'logging',
  proxy: 'proxy',
  accessories: 'accessory',
  builder: 'builder',
  ssh: 'ssh',
  sshkit: 'sshkit',
  boot: 'boot',
  output: 'output',
  aliases: 'alias',
};

function render(schema: AnySchema, indent: string, out: string[], depth: number, top = false): void {
  const inner = unwrap(schema);
  const def = defOf(inner);
  let shape: Record<string, AnySchema> | undefined;
  if (def.type === 'object') shape = def.shape as Record<string, AnySchema>;
  else if (def.type === 'union') {
    const obj = (def.options as AnySchema[]).map(unwrap).find((o) => defOf(o).type === 'object');
    if (obj) shape = defOf(obj).shape as Record<string, AnySchema>;
  }
  if (!shape || depth > 3) return;
  for (const [key, child] of Object.entries(shape)) {
    const desc = descriptionOf(child) ?? descriptionOf(unwrap(child));
    if (desc) out.push(...wrap(desc, indent));
    const childInner = unwrap(child);
    const cdef = defOf(childInner);
    const nested =
      cdef.type === 'object' ||
      (cdef.type === 'union' &&
        (cdef.options as AnySchema[]).some((o) => defOf(unwrap(o)).type === 'object'));
    const own = top
      ? OWN_SECTION[key]
      : key === 'env' || key === 'registry' || (key === 'proxy' && depth === 0)
        ? key
        : undefined;
    if (own) {
      out.push(`${indent}${key}: ...  # see \`wharf docs ${own}\``);
    } else if (nested && depth < 3) {
      out.push(
        `${indent}${key}:${cdef.type === 'union' ? `  # or ${typeName(childInner).replace(/\{\.\.\.\}/, 'the keys below')}` : ''}`,
      );
      render(childInner, `${indent}  `, out, depth + 1);
    } else {
      out.push(`${indent}${key}: ${typeName(child)}`);
    }
    out.push('');
  }
}

export const SECTION_NAMES = Object.keys(SECTIONS);

/** The documentation text of a section (default: the whole configuration). */
export function sectionDocs(section = 'configuration'): string | undefined {
  const name =
    section === 'roles'
      ? 'role'
      : section === 'accessories'
        ? 'accessory'
        : section === 'aliases'
          ? 'alias'
          : section;
  const schema = (SECTIONS as Record<string, AnySchema>)[name];
  if (!schema) return undefined;
  const out: string[] = [];
  const title = name === 'configuration' ? 'config/deploy.yml' : name;
  out.push(`# ${title}`);
  const desc = descriptionOf(schema) ?? descriptionOf(unwrap(schema));
  if (desc) out.push(...wrap(desc, ''));
  if (name === 'configuration') {
    out.push(
      '#',
      '# Destinations: `-d staging` also reads config/deploy.staging.yml and deep-merges it over the base',
      '# (maps merge key by key; lists and plain values are replaced). Root keys starting with `x-` are',
      '# ignored, for YAML anchors. ERB (<%= ENV["X"] %>, <%= ENV.fetch("X", "default") %>, <% if %>, %x(cmd))',
      '# is evaluated before the YAML is read.',
      `# Sections with their own docs: ${SECTION_NAMES.filter((n) => n !== 'configuration').join(', ')}.`,
    );
  }
  out.push('');
  const wrapperKey: Record<string, string> = {
    accessory: 'accessories:\n  NAME:',
    role: 'servers:\n  ROLE:',
    alias: 'aliases:',
    configuration: '',
  };
  const prefix = wrapperKey[name] ?? `${name}:`;
  const indent = name === 'accessory' || name === 'role' ? '    ' : name === 'configuration' ? '' : '  ';
  if (prefix) out.push(prefix);
  if (name === 'alias') {
    out.push('  NAME: wharf command and arguments, e.g. `console: app exec -i --reuse "bin/rails console"`');
  } else if (name === 'servers') {
    out.push(
      '  - 192.0.2.1            # a host',
      '  - 192.0.2.2: canary    # a host with a tag',
      '  - 192.0.2.3: [a, b]    # a host with tags',
      '# or, with roles (see `wharf docs role`):',
      'servers:',
      '  web:',
      '    - 192.0.2.1',
      '  workers:',
      '    hosts: [192.0.2.2]',
      '    cmd: bin/jobs',
    );
  } else if (name === 'env') {
    out.push(
      '  DATABASE_HOST: db       # flat form: every key is a clear variable',
      '# or the structured form:',
      'env:',
      '  clear:',
      '    DATABASE_HOST: db',
      '  secret:',
      '    - DATABASE_PASSWORD            # from .kamal/secrets*',
      '    - DB_PASSWORD:MAIN_DB_PASSWORD  # env DB_PASSWORD from secret MAIN_DB_PASSWORD',
      '  tags:',
      '    replica:                       # hosts tagged replica also get:',
      '      DB_ROLE: replica',
    );
  } else {
    render(schema, indent, out, 0, name === 'configuration');
  }
  return `${out
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trimEnd()}\n`;
}
