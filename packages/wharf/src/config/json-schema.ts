/** The JSON Schema of deploy.yml, generated from the zod schema (for editors: completion and checks). */
import * as z from 'zod';
import { dbConfigSchema, DB_CONFIG_KEY } from '../db/config.js';
import { WHARF_EXTENSION_KEY } from './exposure.js';
import { rootSchema } from './schema.js';

export const JSON_SCHEMA_ID = 'https://wharf.dev/schema/deploy.schema.json';

export function deployJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(rootSchema, {
    io: 'input',
    unrepresentable: 'any',
    target: 'draft-2020-12',
  }) as Record<string, unknown>;
  // Root keys are checked strictly except `x-` extensions (YAML anchors).
  schema.additionalProperties = false;
  schema.patternProperties = { '^x-': {} };
  // wharf's own extensions are `x-` keys too (Kamal skips them); described here for editors.
  const properties = schema.properties as Record<string, unknown>;
  properties[WHARF_EXTENSION_KEY] = {
    type: 'object',
    description: 'wharf settings that Kamal ignores (an `x-` root key).',
    properties: {
      strict: {
        type: 'boolean',
        description:
          'Refuse (instead of warning about) accessory and role ports published on every interface; same as --strict.',
      },
    },
    additionalProperties: false,
  };
  const { $schema: _ignored, ...db } = z.toJSONSchema(dbConfigSchema, {
    io: 'input',
    unrepresentable: 'any',
    target: 'draft-2020-12',
  }) as Record<string, unknown>;
  properties[DB_CONFIG_KEY] = {
    description: 'The HA Postgres tier run by `wharf db` (see docs/db.md); Kamal ignores it.',
    ...db,
  };
  return { $schema: schema.$schema, $id: JSON_SCHEMA_ID, title: 'wharf / Kamal 2 deploy.yml', ...schema };
}
