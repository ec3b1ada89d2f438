import type { DocumentAnalysis } from './analysis';

/** Cordum's config scopes: a document lives at `cfg:<scope>:<id>`. */
export const CONFIG_SCOPES = ['system', 'org', 'team', 'workflow', 'step'] as const;
export type ConfigScope = (typeof CONFIG_SCOPES)[number];

export function isScope(value: string): value is ConfigScope {
  return (CONFIG_SCOPES as readonly string[]).includes(value);
}

/**
 * Why `key` is not a config document key, or undefined when it is one: `cfg:<scope>:<id>` with a
 * known scope and a non-empty id (ids may contain colons). Whitespace and control characters are
 * refused too: Cordum's ids never carry them, and such a key would be mis-shown in every message.
 */
export function configKeyProblem(key: string): string | undefined {
  const shown = JSON.stringify(key);
  const match = /^cfg:([^:]*):(.*)$/s.exec(key);
  if (!match) return `${shown} is not a config key: expected cfg:<scope>:<id>, e.g. cfg:system:default`;
  const [, scope, scopeId] = match;
  if (!isScope(scope)) return `${shown} has unknown scope "${scope}": expected one of ${CONFIG_SCOPES.join(', ')}`;
  if (scopeId === '') return `${shown} has an empty id (the system document is cfg:system:default)`;
  // eslint-disable-next-line no-control-regex
  if (/[\s\u0000-\u001f\u007f]/u.test(scopeId)) return `${shown} is not a config key: its id contains whitespace or a control character`;
  return undefined;
}

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
