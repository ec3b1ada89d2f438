import picomatch from 'picomatch';

/** What a file is to DriftLens. */
export type DocumentKind = 'config' | 'pools' | 'timeouts' | 'policy';
export type Association = DocumentKind | 'none';

/**
 * Default globs (matched against the workspace-relative path, forward slashes). The Redis key
 * cfg:system:default maps naturally to a file named cfg.system.default.yaml.
 */
export const DEFAULT_ASSOCIATIONS: Readonly<Record<string, Association>> = {
  '**/cfg.*.{yaml,yml,json}': 'config',
  '**/{runtime-config,*.runtime-config}.{yaml,yml,json}': 'config',
  '**/{drift-policy,*.drift-policy}.{yaml,yml}': 'policy',
  '**/{config,cordum}/pools.{yaml,yml}': 'pools',
  '**/{config,cordum}/timeouts.{yaml,yml}': 'timeouts',
};

const MODELINE_RE = /^\s*#\s*driftlens:\s*(config|pools|timeouts|policy|none)\b/m;
const KINDS = new Set<string>(['config', 'pools', 'timeouts', 'policy', 'none']);
const matcherCache = new Map<string, picomatch.Matcher>();

function matches(glob: string, path: string): boolean {
  let matcher = matcherCache.get(glob);
  if (!matcher) {
    // `windows` stated, as picomatch would otherwise decide it by reading `navigator.platform`, and
    // VS Code's extension host logs a deprecation warning for every extension that reads `navigator`.
    matcher = picomatch(glob, { dot: true, windows: process.platform === 'win32' });
    matcherCache.set(glob, matcher);
  }
  return matcher(path);
}

/**
 * Decides a file's kind, first match wins: a modeline in the first lines (`# driftlens: pools`),
 * the user's associations, the defaults, then a YAML file whose top level starts `drift_control:`.
 */
export function classifyDocument(relativePath: string, text: string, userAssociations: Readonly<Record<string, string>> = {}): DocumentKind | undefined {
  const path = relativePath.replace(/\\/g, '/');
  const head = text.slice(0, 2048);
  const modeline = MODELINE_RE.exec(head.split('\n').slice(0, 5).join('\n'));
  const pick = (kind: string): DocumentKind | undefined => (kind === 'none' ? undefined : (kind as DocumentKind));
  if (modeline) return pick(modeline[1]);
  for (const [glob, kind] of Object.entries(userAssociations)) {
    if (KINDS.has(kind) && matches(glob, path)) return pick(kind);
  }
  for (const [glob, kind] of Object.entries(DEFAULT_ASSOCIATIONS)) {
    if (matches(glob, path)) return pick(kind);
  }
  if (/\.ya?ml$/i.test(path) && /^drift_control:/m.test(head)) return 'policy';
  return undefined;
}

/**
 * For a file no rule recognised (the CLI reads any path): a bare section file is told from a
 * config data map by its top-level keys, since a bare pools file has its own "pools" key that
 * must not pass for data.pools.
 */
export function sniffKindFromData(root: unknown): DocumentKind {
  if (typeof root !== 'object' || root === null || Array.isArray(root)) return 'config';
  const keys = new Set(Object.keys(root).map((k) => k.toLowerCase()));
  if (keys.has('drift_control')) return 'policy';
  if (keys.has('data')) return 'config';
  if (keys.has('reconciler') || keys.has('workflows')) return 'timeouts';
  if (keys.has('topics')) {
    const topics = (root as Record<string, unknown>).topics ?? (root as Record<string, unknown>).Topics;
    const values = typeof topics === 'object' && topics !== null ? Object.values(topics) : [];
    const timeoutShaped = values.length > 0 && values.every((v) => typeof v === 'object' && v !== null && !Array.isArray(v));
    return timeoutShaped ? 'timeouts' : 'pools';
  }
  return 'config';
}

/** The path globs are matched against: workspace- or cwd-relative, or absolute without its leading slash. */
export function matchablePath(relativeOrAbsolute: string): string {
  const p = relativeOrAbsolute.replace(/\\/g, '/');
  return p.startsWith('../') || p.startsWith('/') ? p.replace(/^(\.\.\/)+/, '').replace(/^\/+/, '') : p;
}
