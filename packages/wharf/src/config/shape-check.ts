/**
 * Runs the zod schema over a raw config and turns zod's issues into config
 * problems: one per bad key, with the key path, what was expected, what was
 * found, and the nearest valid key for a typo.
 */
import type * as z from 'zod';
import { ENV_SPECIAL_KEYS, flatEnv, rootSchema, rootShape } from './schema.js';
import { describeValue, dottedPath, suggestKey, type ConfigProblem, type KeyPath } from './problems.js';

type Issue = z.core.$ZodIssue;

export function getAt(root: unknown, path: KeyPath): unknown {
  let cur: unknown = root;
  for (const part of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string | number, unknown>)[part];
  }
  return cur;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);

// --- walking the schema ----------------------------------------------------

type AnySchema = z.core.$ZodType;

function defOf(s: AnySchema): { type: string; [k: string]: unknown } {
  return (s as unknown as { _zod: { def: { type: string; [k: string]: unknown } } })._zod.def;
}

export function unwrap(s: AnySchema): AnySchema {
  let cur = s;
  for (;;) {
    const def = defOf(cur);
    if (
      def.type === 'optional' ||
      def.type === 'nullable' ||
      def.type === 'default' ||
      def.type === 'readonly'
    )
      cur = def.innerType as AnySchema;
    else if (def.type === 'pipe') cur = def.in as AnySchema;
    else return cur;
  }
}

/** The schema that applies at `path`, choosing union options by the value found there. */
export function schemaAt(schema: AnySchema, path: KeyPath, root: unknown): AnySchema | undefined {
  let cur: AnySchema | undefined = schema;
  let value: unknown = root;
  for (let i = 0; i <= path.length; i++) {
    if (!cur) return undefined;
    cur = pickOption(unwrap(cur), value, path.slice(0, i));
    if (i === path.length) return cur;
    const part = path[i]!;
    const def = defOf(cur);
    value =
      isPlainObject(value) || Array.isArray(value)
        ? (value as Record<string | number, unknown>)[part]
        : undefined;
    if (def.type === 'object') cur = (def.shape as Record<string, AnySchema>)[String(part)];
    else if (def.type === 'record') cur = def.valueType as AnySchema;
    else if (def.type === 'array') cur = def.element as AnySchema;
    else if (def.type === 'tuple') cur = (def.items as AnySchema[])[Number(part)];
    else return undefined;
  }
  return cur;
}

function pickOption(s: AnySchema, value: unknown, path: KeyPath): AnySchema {
  const def = defOf(s);
  if (def.type !== 'union') return s;
  const options = (def.options as AnySchema[]).map(unwrap);
  if (isEnvPath(path) && isPlainObject(value)) {
    const structured = ENV_SPECIAL_KEYS.some((k) => k in value);
    return pickOption(options[structured ? 0 : 1] ?? options[0]!, value, path);
  }
  const want = Array.isArray(value)
    ? ['array', 'tuple']
    : isPlainObject(value)
      ? ['object', 'record']
      : ['string', 'number', 'boolean', 'literal', 'union'];
  const found = options.find((o) => want.includes(defOf(o).type));
  return found ? pickOption(found, value, path) : s;
}

/** Whether a path names an env section: root env, a role/accessory env, or a tag env. */
function isEnvPath(path: KeyPath): boolean {
  const last = path[path.length - 1];
  if (last === 'env') return true;
  return path.length >= 3 && path[path.length - 2] === 'tags' && path[path.length - 3] === 'env';
}

export function validKeysAt(path: KeyPath, root: unknown): string[] {
  const s = schemaAt(rootSchema, path, root);
  if (!s) return [];
  const def = defOf(s);
  return def.type === 'object' ? Object.keys(def.shape as object) : [];
}

// --- issues to problems ------------------------------------------------------

function isRootMismatch(issue: Issue): boolean {
  return (
    issue.path.length === 0 &&
    (issue.code === 'invalid_type' || issue.code === 'invalid_value' || issue.code === 'invalid_union')
  );
}

const flatEnvSchema = flatEnv();

function flatten(issues: readonly Issue[], root: unknown, base: KeyPath, out: ConfigProblem[]): void {
  for (const issue of issues) {
    const path: KeyPath = [...base, ...(issue.path as (string | number)[])];
    const value = getAt(root, path);
    if (issue.code === 'invalid_union' && issue.errors.length > 0) {
      let branch: readonly Issue[] | undefined;
      if (isEnvPath(path) && isPlainObject(value)) {
        branch = issue.errors[ENV_SPECIAL_KEYS.some((k) => k in value) ? 0 : 1];
      } else {
        const candidates = issue.errors.filter((list) => !list.some(isRootMismatch));
        candidates.sort((a, b) => a.length - b.length);
        branch = candidates[0];
      }
      if (branch) {
        flatten(branch, root, path, out);
        continue;
      }
      out.push({ path, message: `${issue.message}, not ${describeValue(value)}` });
      continue;
    }
    if (issue.code === 'unrecognized_keys') {
      if (isEnvPath(path) && isPlainObject(value) && !ENV_SPECIAL_KEYS.some((k) => k in value)) {
        // zod settled on the structured env form; the user wrote the flat form, so check that instead.
        const flat = flatEnvSchema.safeParse(value);
        if (!flat.success) flatten(flat.error.issues, root, path, out);
        continue;
      }
      const valid = validKeysAt(path, root);
      for (const key of issue.keys) out.push(unknownKeyProblem([...path, key], valid));
      continue;
    }
    if (
      issue.code === 'custom' &&
      isEnvPath(path) &&
      isPlainObject(value) &&
      ENV_SPECIAL_KEYS.some((k) => k in value)
    ) {
      // zod settled on the flat env form; the user wrote the structured form, so check that instead.
      const structured = schemaAt(rootSchema, path, root);
      const result = structured ? (structured as z.ZodType).safeParse(value) : undefined;
      if (result && !result.success) {
        flatten(result.error.issues, root, path, out);
        continue;
      }
    }
    if (issue.code === 'invalid_type' && issue.expected === 'never') {
      out.push({ path, message: `is not allowed here: ${issue.message}` });
      continue;
    }
    if (issue.code === 'invalid_type' || issue.code === 'invalid_value') {
      const message = issue.message.startsWith('Invalid') ? `has the wrong type` : issue.message;
      out.push({ path, message: `${message}, not ${describeValue(value)}` });
      continue;
    }
    if (issue.code === 'too_big' || issue.code === 'too_small') {
      out.push({ path, message: 'should be a string or an array with one string (for secret lookup)' });
      continue;
    }
    out.push({ path, message: issue.message });
  }
}

export function unknownKeyProblem(path: KeyPath, valid: readonly string[]): ConfigProblem {
  const key = String(path[path.length - 1]);
  const parent = path.slice(0, -1);
  const suggestion = suggestKey(key, valid);
  const where = parent.length === 0 ? 'at the top level' : `in ${dottedPath(parent)}`;
  const hint = suggestion
    ? `; did you mean \`${suggestion}\`?`
    : valid.length > 0 && valid.length <= 12
      ? ` (valid keys: ${valid.join(', ')})`
      : '';
  return { path, standalone: true, message: `unknown key \`${key}\` ${where}${hint}` };
}

/** Shape problems of a raw (merged) config. */
export function checkShape(raw: unknown): ConfigProblem[] {
  const out: ConfigProblem[] = [];
  const result = rootSchema.safeParse(raw);
  if (!result.success) flatten(result.error.issues, raw, [], out);
  if (isPlainObject(raw)) {
    const known = Object.keys(rootShape);
    for (const key of Object.keys(raw)) {
      if (key in rootShape || key.startsWith('x-')) continue;
      out.push(unknownKeyProblem([key], known));
    }
  }
  return out;
}
