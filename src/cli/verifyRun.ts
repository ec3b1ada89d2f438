import type { NatsConnection } from 'nats';
import { displayText } from '../core/displayText';
import { formatDuration } from '../core/duration';
import { publisherIdentity } from '../core/publishFlow';
import { describeSchedule, formatValue, type VerifyPolicy } from '../core/verification';
import type { ConfigStore } from '../live/configStore';
import { redactUrl } from '../live/connections';
import { waitForConvergence } from '../live/convergenceWait';
import type { PrometheusEndpoint } from '../live/prometheus';
import type { RedisClient } from '../live/redisConnection';
import { describeCheck, verifierId, verifyRevision } from '../live/verifier';
import { VerificationStore, type VerificationRecord } from '../live/verificationStore';
import { rollbackFailedRevision } from '../live/verifyRollback';
import type { LiveSettings } from './liveOptions';

/** Exit statuses of `verify` and `publish --verify` (README lists them with the others). */
export const VERIFY_EXIT = { passed: 0, failed: 1, inconclusive: 7, failedAfterPublish: 8 } as const;

export interface CliVerification {
  live: LiveSettings;
  verify: VerifyPolicy;
  prometheus: PrometheusEndpoint;
  redis: RedisClient;
  store: ConfigStore;
  /** Connected before anything is written (a rollback notifies on it). */
  nats: NatsConnection | undefined;
  revision: number;
  publishedAtMs: number;
  /** Progress lines (stderr under --json). */
  progress: (line: string) => void;
  signal?: AbortSignal;
}

/** Runs (or joins, or reads) the verification of one revision, printing a line per measurement. */
export async function runCliVerification(v: CliVerification): Promise<VerificationRecord> {
  const { live, verify } = v;
  const verifications = new VerificationStore(v.redis);
  const printed = new Map<string, number>();
  let lastState = '';
  let announcedFollow = false;
  const identity = publisherIdentity('cli');
  const verifier = verifierId(`${identity.publishedBy} (cli)`);
  // Measurement reasons carry Prometheus' own error text, and verifiers' names come from Redis.
  const progress = (line: string) => v.progress(displayText(line));
  progress(`verifying ${live.key} revision ${v.revision} against Prometheus at ${redactUrl(verify.prometheus)}: ${describeSchedule(verify)}`);
  return verifyRevision({
    redis: verifications,
    config: v.store,
    prometheus: v.prometheus,
    policy: verify,
    key: live.key,
    revision: v.revision,
    publishedAtMs: v.publishedAtMs,
    verifier,
    signal: v.signal,
    converged: async (signal) => {
      const outcome = await waitForConvergence({
        redis: v.redis,
        nats: v.nats,
        configKey: live.key,
        sections: live.policy.sections,
        policy: live.policy.slo,
        subject: live.subject,
        revision: v.revision,
        publishedAtMs: v.publishedAtMs,
        budgetMs: live.policy.slo.notificationLost.ms,
        signal,
      });
      progress(`${outcome}; first measurement in ${formatDuration(verify.initialDelayMs)}`);
    },
    rollback: (record) =>
      rollbackFailedRevision({
        config: v.store,
        verifications,
        key: live.key,
        failedRevision: record.revision,
        identity,
        nats: v.nats,
        subject: live.subject,
        policy: live.policy,
      }),
    onUpdate: (record) => {
      if (record.verifier !== verifier && !announcedFollow) {
        announcedFollow = true;
        progress(`${record.verifier} is verifying revision ${v.revision} (last heard ${record.heartbeatAt}); following its measurements`);
      }
      for (const check of record.checks) {
        for (const m of check.measurements.slice(printed.get(check.name) ?? 0)) {
          progress(`  [${m.index}/${record.count}] ${check.name} ${m.value !== undefined ? formatValue(m.value) : '-'} ${m.outcome}: ${m.reason}`);
        }
        printed.set(check.name, check.measurements.length);
      }
      if (record.state !== lastState && record.state !== 'running' && record.state !== 'waiting') progress(`verification ${record.state}: ${record.reason}`);
      lastState = record.state;
    },
  });
}

/** The verdict for a person: a headline, one line per check, the rollback. */
export function formatVerification(record: VerificationRecord): string {
  const lines = [`${record.key} revision ${record.revision}: verification ${record.state} (${record.reason})`];
  for (const c of record.checks) lines.push(`  ${describeCheck(c, record.count)}`);
  if (record.rollback) lines.push(`  rollback ${record.rollback.outcome}: ${record.rollback.message}`);
  if (record.state === 'running' || record.state === 'waiting') lines.push(`  measured by ${record.verifier}, last heard ${record.heartbeatAt}`);
  return lines.map(displayText).join('\n') + '\n';
}

export function verifyExitCode(record: VerificationRecord, afterPublish: boolean): number {
  if (record.state === 'passed') return VERIFY_EXIT.passed;
  if (record.state === 'failed') return afterPublish ? VERIFY_EXIT.failedAfterPublish : VERIFY_EXIT.failed;
  return VERIFY_EXIT.inconclusive;
}

/** Prometheus credentials come from the environment only (never a flag: `ps` shows flags). */
export function prometheusFromEnvironment(url: string): PrometheusEndpoint {
  return {
    url,
    token: process.env.DRIFTLENS_PROMETHEUS_TOKEN || undefined,
    username: process.env.DRIFTLENS_PROMETHEUS_USER || undefined,
    password: process.env.DRIFTLENS_PROMETHEUS_PASSWORD || undefined,
  };
}
