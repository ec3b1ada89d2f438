import configDocumentSchema from '../../schemas/config-document.schema.json';
import driftPolicySchema from '../../schemas/drift-policy.schema.json';
import poolsSchema from '../../schemas/pools.schema.json';
import timeoutsSchema from '../../schemas/timeouts.schema.json';

/**
 * The schema documents in schemas/, by the file names they are registered and `$ref`ed under: the
 * very objects ajv compiles (schemas.ts), completion and hover read (schemaNavigator.ts) and the
 * large-mapping check walks (largeMaps.ts). No ajv here, so reading a schema loads no validator.
 */
export const SCHEMA_DOCUMENTS: Readonly<Record<string, unknown>> = {
  'pools.schema.json': poolsSchema,
  'timeouts.schema.json': timeoutsSchema,
  'config-document.schema.json': configDocumentSchema,
  'drift-policy.schema.json': driftPolicySchema,
};

/** A schema document by file name (`pools.schema.json`), or undefined for a file that is not ours. */
export function schemaDocument(file: string): unknown {
  return SCHEMA_DOCUMENTS[file];
}
