import Ajv, { type ValidateFunction } from 'ajv';
import { SCHEMA_DOCUMENTS } from './schemaDocuments';

/**
 * The JSON Schemas in schemas/ compiled once, on first use (compiling costs tens of milliseconds,
 * which activation should not pay). The same files serve Red Hat's YAML extension through
 * `yamlValidation`, so editor completion and DriftLens diagnostics read one source.
 */
export type SchemaName = 'config-document' | 'drift-policy' | 'pools' | 'timeouts';

let ajv: Ajv | undefined;
const compiled = new Map<SchemaName, ValidateFunction>();

function instance(): Ajv {
  if (ajv) return ajv;
  ajv = new Ajv({ allErrors: true, verbose: true, strict: true, strictTypes: false, strictRequired: false, allowUnionTypes: true });
  // Annotations that VS Code's JSON service and yaml-language-server understand; ajv only carries them.
  for (const keyword of ['markdownDescription', 'patternErrorMessage', 'errorMessage', 'deprecationMessage', 'enumDescriptions', 'markdownEnumDescriptions']) {
    ajv.addKeyword({ keyword });
  }
  for (const [file, schema] of Object.entries(SCHEMA_DOCUMENTS)) ajv.addSchema(schema as object, file);
  return ajv;
}

export function validatorFor(name: SchemaName): ValidateFunction {
  let validate = compiled.get(name);
  if (!validate) {
    validate = instance().getSchema(`${name}.schema.json`);
    if (!validate) throw new Error(`schema ${name} is not registered`);
    compiled.set(name, validate);
  }
  return validate;
}

const subschemas = new Map<string, { validate: ValidateFunction; schema: unknown }>();

/**
 * One part of a registered schema, by reference (`pools.schema.json#/properties/topics`): its
 * schema object and a validator of its own, compiled once. Errors of that validator carry schema
 * paths relative to the part (`#/oneOf/0/type`).
 */
export function subschema(ref: string): { validate: ValidateFunction; schema: unknown } {
  let part = subschemas.get(ref);
  if (!part) {
    const validate = instance().getSchema(ref);
    if (!validate) throw new Error(`schema ${ref} is not registered`);
    part = { validate, schema: validate.schema };
    subschemas.set(ref, part);
  }
  return part;
}
