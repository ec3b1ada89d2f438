import type { DocumentAnalysis } from './analysis';

/**
 * The Redis key an envelope file names itself: cfg:<scope>:<scope_id> (an empty system id means
 * "default"). The CLI and the extension both prefer it to the policy's config_key, so one file
 * always goes to one key, whoever publishes it.
 */
export function documentConfigKey(analysis: DocumentAnalysis): string | undefined {
  if (!analysis.isEnvelope) return undefined;
  const root = analysis.parsed.located.value as { scope?: unknown; scope_id?: unknown };
  if (typeof root.scope !== 'string') return undefined;
  const id = typeof root.scope_id === 'string' && root.scope_id !== '' ? root.scope_id : 'default';
  return `cfg:${root.scope}:${id}`;
}
