/** The JSON Schema of deploy.yml, generated from the zod schema (for editors: completion and checks). */
import * as z from 'zod';
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
  return { $schema: schema.$schema, $id: JSON_SCHEMA_ID, title: 'wharf / Kamal 2 deploy.yml', ...schema };
}
