import type { JsonValue } from './canonical';
import type { LocatedValue } from './documentModel';
import { formatDuration, MIN_POLL_INTERVAL_MS, parseBound, parseGoDuration, type Bound } from './duration';
import { problem, type Problem } from './problems';
import type { SectionName } from './sectionHash';
import type { VerifyPolicy } from './verification';
import { verifyFromData } from './verifyPolicy';

/** The drift policy as the rest of DriftLens uses it (read from a document the schema accepted). */
export interface DriftPolicy {
  configKey: string;
  subject: string;
  pollIntervalMs: number;
  envOverride?: string;
  sections: SectionName[];
  slo: { notificationOk: Bound; notificationLost: Bound };
  /** Endpoints named by the policy (never secrets: the schema refuses passwords and tokens). */
  connections: PolicyConnections;
  /** Post-change checks against Prometheus (the Verify stage); absent when the policy has none. */
  verify?: VerifyPolicy;
  /** Cordum's instance registry (`registry`); absent fields take Cordum's defaults (see instanceRegistry.ts). */
  registry?: { keyPattern?: string; services?: string[] };
}

export interface PolicyTls {
  caFile?: string;
  certFile?: string;
  keyFile?: string;
  serverName?: string;
  insecureSkipVerify?: boolean;
}

export interface PolicyConnections {
  redis?: { url?: string; username?: string; tls?: PolicyTls; sentinel?: { name: string; sentinels: string[] }; cluster?: string[] };
  nats?: { servers?: string[]; user?: string; credsFile?: string; tls?: PolicyTls };
}

/** Cordum's defaults: what replicas do when no policy says otherwise. */
export const DEFAULT_POLICY: DriftPolicy = {
  configKey: 'cfg:system:default',
  subject: 'sys.config.changed',
  pollIntervalMs: 30_000,
  envOverride: 'SCHEDULER_CONFIG_RELOAD_INTERVAL',
  sections: ['pools', 'timeouts'],
  slo: { notificationOk: { inclusive: true, ms: 5_000 }, notificationLost: { inclusive: true, ms: 30_000 } },
  connections: {},
};

function tlsFrom(v: JsonValue | undefined): PolicyTls | undefined {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
  const s = (x: JsonValue | undefined) => (typeof x === 'string' ? x : undefined);
  return { caFile: s(v.ca_file), certFile: s(v.cert_file), keyFile: s(v.key_file), serverName: s(v.server_name), insecureSkipVerify: v.insecure_skip_verify === true };
}

const strings = (v: JsonValue | undefined): string[] | undefined => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : undefined);

function connectionsFrom(v: JsonValue | undefined): PolicyConnections {
  const c = obj(v);
  const out: PolicyConnections = {};
  if (c.redis !== undefined) {
    const r = obj(c.redis);
    const sentinel = obj(r.sentinel);
    out.redis = {
      url: typeof r.url === 'string' ? r.url : undefined,
      username: typeof r.username === 'string' ? r.username : undefined,
      tls: tlsFrom(r.tls),
      sentinel: typeof sentinel.name === 'string' ? { name: sentinel.name, sentinels: strings(sentinel.sentinels) ?? [] } : undefined,
      cluster: strings(r.cluster),
    };
  }
  if (c.nats !== undefined) {
    const n = obj(c.nats);
    out.nats = { servers: strings(n.servers), user: typeof n.user === 'string' ? n.user : undefined, credsFile: typeof n.creds_file === 'string' ? n.creds_file : undefined, tls: tlsFrom(n.tls) };
  }
  return out;
}

type Obj = { [key: string]: JsonValue };
function obj(v: JsonValue | undefined): Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? v : {};
}
/** Reads a schema-valid policy document; fields that do not parse fall back to the defaults. */
export function policyFromData(data: JsonValue | undefined): DriftPolicy {
  const control = obj(obj(data).drift_control);
  const str = (v: JsonValue | undefined) => (typeof v === 'string' ? v : undefined);
  const sections = Array.isArray(obj(control.hash_gate).sections) ? (obj(control.hash_gate).sections as JsonValue[]).filter((s): s is SectionName => s === 'pools' || s === 'timeouts') : DEFAULT_POLICY.sections;
  const slo = obj(control.convergence_slo);
  return {
    configKey: str(control.config_key) ?? DEFAULT_POLICY.configKey,
    subject: str(obj(control.notifications).subject) ?? DEFAULT_POLICY.subject,
    pollIntervalMs: parseGoDuration(str(obj(control.polling).interval) ?? '') ?? DEFAULT_POLICY.pollIntervalMs,
    envOverride: str(obj(control.polling).env_override),
    sections,
    slo: {
      notificationOk: parseBound(str(slo.notification_ok) ?? '') ?? DEFAULT_POLICY.slo.notificationOk,
      notificationLost: parseBound(str(slo.notification_lost) ?? '') ?? DEFAULT_POLICY.slo.notificationLost,
    },
    connections: connectionsFrom(control.connections),
    verify: verifyFromData(control.verify),
    ...(control.registry !== undefined ? { registry: { keyPattern: str(obj(control.registry).key_pattern), services: strings(obj(control.registry).services) } } : {}),
  };
}

/** Checks the schema cannot express: budgets that the polling interval makes impossible. */
export function policySemanticProblems(located: LocatedValue): Problem[] {
  const policy = policyFromData(located.value);
  const problems: Problem[] = [];
  const lostAt = located.locate(['drift_control', 'convergence_slo', 'notification_lost']);
  const okAt = located.locate(['drift_control', 'convergence_slo', 'notification_ok']);
  const { notificationOk, notificationLost } = policy.slo;
  const intervalAt = located.locate(['drift_control', 'polling', 'interval']);
  if (intervalAt.exact && policy.pollIntervalMs < MIN_POLL_INTERVAL_MS) {
    // `1ns` is a valid Go duration, but every replica would re-read the document in a tight loop.
    const written = obj(obj(obj(located.value).drift_control).polling).interval;
    problems.push(problem(intervalAt.value, `A poll interval of ${String(written)} would make every replica re-read the document nonstop; use at least ${formatDuration(MIN_POLL_INTERVAL_MS)} (Cordum's default is 30s).`, 'poll-interval-too-short', 'error'));
  }
  if (lostAt.exact && notificationLost.ms < policy.pollIntervalMs) {
    problems.push(
      problem(
        lostAt.value,
        `A lost notification is noticed only at the next poll (every ${formatDuration(policy.pollIntervalMs)}), so a ${formatDuration(notificationLost.ms)} budget cannot be met. Allow at least ${formatDuration(policy.pollIntervalMs)} or poll more often.`,
        'slo-below-poll-interval',
        'warning',
      ),
    );
  }
  if (okAt.exact && lostAt.exact && notificationOk.ms > notificationLost.ms) {
    problems.push(problem(okAt.value, `notification_ok (${formatDuration(notificationOk.ms)}) is looser than notification_lost (${formatDuration(notificationLost.ms)}); the notification path should be the fast one.`, 'slo-inverted', 'warning'));
  }
  return problems;
}
