/**
 * Cordum's instance registry, as DriftLens reads it (pure part: patterns, values, the join).
 *
 * Every live Cordum process of `scheduler`, `api-gateway` and `workflow-engine` keeps a key
 * `cordum:instance:<service>:<id>` holding `{"id","service","version","commit","started_at"}`
 * with a 15 s TTL, renewed every 7.5 s. The id is `CORDUM_INSTANCE_ID`, else the hostname. The
 * registry says which replicas are alive whether or not they run the DriftLens agent; the replica
 * reports say which hash each one runs. Joining the two shows every replica.
 *
 * The join: a report (service S, replica_id R) is the registered instance (service S', id R) when
 * S == S' or S == `cordum-` + S' (the status protocol's own example names the scheduler
 * `cordum-scheduler`; Cordum registers it as `scheduler`). The ids must be equal: the agent's
 * `replicaId` should be what Cordum registers (`CORDUM_INSTANCE_ID`, else the hostname).
 */

export const DEFAULT_INSTANCE_KEY_PATTERN = 'cordum:instance:{service}:{id}';
/** Cordum's only consumer of pools and timeouts; the gateway and the workflow engine register too but apply neither. */
export const DEFAULT_REGISTRY_SERVICES: readonly string[] = ['scheduler'];
/** Cordum's registration TTL and renewal period. */
export const INSTANCE_TTL_MS = 15_000;
export const INSTANCE_RENEW_MS = 7_500;
/** How long a replica that left the registry and stopped reporting stays in view. */
export const DEFAULT_GONE_AFTER_MS = 60_000;

/** A registry value larger than this is not parsed (Cordum's are about 150 bytes). */
const MAX_VALUE_BYTES = 16_384;
/** Fields are kept to this many characters: they end up in labels and tables. */
const MAX_FIELD_CHARS = 120;

/** A live instance as the registry lists it. Every string came from Redis: show it through displayText(). */
export interface RegisteredInstance {
  /** From the key (what Cordum derives the key from), not from the value. */
  service: string;
  id: string;
  key: string;
  version?: string;
  commit?: string;
  startedAt?: string;
  /** Why the value could not be read fully (the instance still counts as alive: its key exists). */
  problem?: string;
}

/** Why a key pattern cannot be used, in our words; undefined when it can. */
export function instancePatternProblem(pattern: string): string | undefined {
  const count = (p: string) => pattern.split(p).length - 1;
  if (count('{id}') !== 1) return `the instance key pattern "${pattern}" must contain {id} exactly once (Cordum's: ${DEFAULT_INSTANCE_KEY_PATTERN})`;
  if (count('{service}') !== 1) return `the instance key pattern "${pattern}" must contain {service} exactly once (Cordum's: ${DEFAULT_INSTANCE_KEY_PATTERN})`;
  const rest = pattern.replace('{id}', '').replace('{service}', '');
  if (/[{}]/.test(rest)) return `the instance key pattern "${pattern}" may use only the placeholders {service} and {id}`;
  if (/\s/.test(pattern)) return `the instance key pattern "${pattern}" must not contain whitespace`;
  if (pattern.includes('{service}{id}') || pattern.includes('{id}{service}')) return `the instance key pattern "${pattern}" needs a separator between {service} and {id}`;
  return undefined;
}

/** Why a services list cannot be used; undefined when it can. An empty list turns the registry off. */
export function registryServicesProblem(services: readonly unknown[]): string | undefined {
  for (const s of services) if (typeof s !== 'string' || !/^[^\s:{}*?[\]\\]+$/.test(s)) return `a registry service must be a name without whitespace, ':', braces or glob characters, not ${JSON.stringify(s)}`;
  return undefined;
}

/** The key an instance registers under. */
export function instanceKey(pattern: string, service: string, id: string): string {
  return pattern.replace('{service}', service).replace('{id}', id);
}

const escapeGlob = (text: string) => text.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, (c) => `\\${c}`);

/** The SCAN MATCH glob for the services: one service is written out, several share one scan (a scan walks the whole keyspace anyway). */
export function instanceMatchGlob(pattern: string, services: readonly string[]): string {
  const [before, after] = pattern.split('{service}');
  const service = services.length === 1 ? escapeGlob(services[0]) : '*';
  return `${escapeGlob(before)}${service}${escapeGlob(after)}`.replace(escapeGlob('{id}'), '*');
}

/** Service and id of a registry key, or undefined when the key does not fit the pattern. */
export function parseInstanceKey(pattern: string, key: string): { service: string; id: string } | undefined {
  const order = pattern.indexOf('{service}') < pattern.indexOf('{id}') ? ['service', 'id'] : ['id', 'service'];
  const source = escapeRegExp(pattern).replace(escapeRegExp('{service}'), '([^:]+?)').replace(escapeRegExp('{id}'), '(.+)');
  const match = new RegExp(`^${source}$`, 's').exec(key);
  if (!match) return undefined;
  const values = { [order[0]]: match[1], [order[1]]: match[2] };
  return { service: values.service, id: values.id };
}

/**
 * Reads a registry value defensively: whoever can reach Redis writes it. A value that does not
 * parse still leaves the instance registered (the key exists), with a `problem` saying why.
 */
export function parseInstanceValue(key: string, service: string, id: string, value: string): RegisteredInstance {
  const instance: RegisteredInstance = { service, id, key };
  if (value.length > MAX_VALUE_BYTES) return { ...instance, problem: `its registry value is ${value.length} bytes, more than the ${MAX_VALUE_BYTES} read` };
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    return { ...instance, problem: 'its registry value is not JSON' };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return { ...instance, problem: 'its registry value is not a JSON object' };
  const o = parsed as Record<string, unknown>;
  const problems: string[] = [];
  const text = (name: string): string | undefined => {
    const v = o[name];
    if (v === undefined || v === null || v === '') return undefined;
    if (typeof v !== 'string') {
      problems.push(`"${name}" is not a string`);
      return undefined;
    }
    return v.length > MAX_FIELD_CHARS ? `${v.slice(0, MAX_FIELD_CHARS - 1)}…` : v;
  };
  instance.version = text('version');
  instance.commit = text('commit');
  instance.startedAt = text('started_at');
  const valueId = text('id');
  const valueService = text('service');
  if (valueId !== undefined && valueId !== id) problems.push(`the value names id "${valueId}", the key "${id}"`);
  if (valueService !== undefined && valueService !== service) problems.push(`the value names service "${valueService}", the key "${service}"`);
  if (problems.length > 0) instance.problem = `its registry value is odd: ${problems.join('; ')}`;
  return instance;
}

/** `<service>:<id>`: the member a registered instance shows as (the report's member form). */
export const registryMember = (service: string, id: string): string => `${service}:${id}`;

/**
 * The registry member a reporting replica is, when its service is one of `services`: the same
 * service name, or Cordum's name with the protocol example's `cordum-` prefix. The ids must match.
 */
export function registryMemberOfReport(service: string, replicaId: string, services: readonly string[]): string | undefined {
  const registered = registryServiceOfReport(service, services);
  return registered === undefined ? undefined : registryMember(registered, replicaId);
}

/** The registry service a report's service is (itself, or without the `cordum-` prefix), when it is one of `services`. */
export function registryServiceOfReport(service: string, services: readonly string[]): string | undefined {
  if (services.includes(service)) return service;
  if (service.startsWith('cordum-') && services.includes(service.slice('cordum-'.length))) return service.slice('cordum-'.length);
  return undefined;
}

/** Where the registry is and whose instances count: explicit settings win over the drift policy, then Cordum's defaults. */
export function resolveRegistry(policy: { registry?: { keyPattern?: string; services?: string[] } }, overrides: { keyPattern?: string; services?: readonly string[] } = {}): { pattern: string; services: readonly string[] } {
  return {
    pattern: overrides.keyPattern || policy.registry?.keyPattern || DEFAULT_INSTANCE_KEY_PATTERN,
    services: overrides.services ?? policy.registry?.services ?? DEFAULT_REGISTRY_SERVICES,
  };
}
