import { stringify } from 'yaml';
import type { JsonValue } from './canonical';
import { sortKeysDeep } from './publishPlan';

export interface EnvelopeFields {
  scope: string;
  scopeId: string;
  revision: number;
  updatedAt: string;
  meta?: Record<string, string>;
  data: { [key: string]: JsonValue };
}

/**
 * The live envelope as a local YAML file: envelope fields first (the revision is the base of the
 * next publish's optimistic-concurrency check), then the data map with sorted keys.
 */
export function pulledYaml(key: string, envelope: EnvelopeFields): string {
  const document: { [key: string]: JsonValue } = { scope: envelope.scope, scope_id: envelope.scopeId, revision: envelope.revision, updated_at: envelope.updatedAt };
  if (envelope.meta && Object.keys(envelope.meta).length > 0) document.meta = envelope.meta;
  document.data = sortKeysDeep(envelope.data);
  const header = `# Pulled from ${key} (revision ${envelope.revision}). Publishing this file checks that ${key}\n# is still at this revision, so nobody's change is overwritten unseen.\n`;
  return header + stringify(document, { indent: 2, lineWidth: 0, aliasDuplicateObjects: false });
}
