import { Option, type Command } from 'commander';
import type { NatsConnection } from 'nats';
import { displayText, terminalSafeJson } from '../core/displayText';
import type { VerifyPolicy } from '../core/verification';
import type { ConfigStore } from '../live/configStore';
import { redactUrl } from '../live/connections';
import { DriftWatcher } from '../live/driftWatcher';
import type { PrometheusEndpoint } from '../live/prometheus';
import type { RedisClient } from '../live/redisConnection';
import { VerificationStore, type VerificationRecord } from '../live/verificationStore';
import { rollbackTarget } from '../live/verifyRollback';
import { CliError, EXIT } from './documentInput';
import { parseRevision, readLive, withLive } from './liveCommands';
import { addLiveOptions, policyEndpointRefusal, type LiveFlags, type LiveSettings } from './liveOptions';
import { formatVerification, prometheusFromEnvironment, runCliVerification, VERIFY_EXIT, verifyExitCode } from './verifyRun';

/**
 * `driftlens verify`: the Verify stage from a terminal or CI. It measures the live revision (or
 * joins the verifier already measuring it, or reads the stored verdict), one progress line per
 * measurement, and exits by the verdict. `publish --verify` uses the same pieces after its write.
 */

export interface PrometheusFlags {
  prometheusUrl?: string;
  trustPolicyEndpoints?: boolean;
}

export const prometheusUrlOption = () =>
  new Option('--prometheus-url <url>', "Prometheus to measure against, instead of the policy's verify.prometheus (token: DRIFTLENS_PROMETHEUS_TOKEN, or DRIFTLENS_PROMETHEUS_USER + _PASSWORD)").env('DRIFTLENS_PROMETHEUS_URL');

export interface ResolvedVerify {
  verify: VerifyPolicy;
  prometheus: PrometheusEndpoint;
}

/**
 * The policy's `verify` block and the Prometheus to ask, checked before anything is connected
 * (exit 2). A Prometheus secret from the environment goes to the policy's URL only with
 * --trust-policy-endpoints, the same rule as Redis and NATS: the policy is in the working tree.
 */
export function resolveVerify(live: LiveSettings, flags: PrometheusFlags): ResolvedVerify {
  const verify = live.policy.verify;
  if (!verify) {
    throw new CliError(
      live.policyPath
        ? `the drift policy ${live.policyPath} has no drift_control.verify: add the checks to verify (see README, "Verify from the CLI")`
        : 'no drift policy: verification needs drift_control.verify in --policy <file> (or ./drift-policy.yaml)',
      EXIT.usage,
    );
  }
  const url = (flags.prometheusUrl ?? verify.prometheus).replace(/\/+$/, '');
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    parsed = undefined;
  }
  if (!parsed || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) throw new CliError(`--prometheus-url must be an http:// or https:// URL, not "${displayText(redactUrl(url))}"`, EXIT.usage);
  const prometheus = prometheusFromEnvironment(url);
  const secrets = [prometheus.token && 'DRIFTLENS_PROMETHEUS_TOKEN', prometheus.password && 'DRIFTLENS_PROMETHEUS_PASSWORD'].filter(Boolean).join(' and ');
  if (secrets && flags.prometheusUrl === undefined && !flags.trustPolicyEndpoints && live.policyPath) {
    throw policyEndpointRefusal([`${secrets} would go to the Prometheus named by ${live.policyPath} (verify.prometheus: ${redactUrl(url)})`], '--prometheus-url');
  }
  return { verify: { ...verify, prometheus: url }, prometheus };
}

export interface VerifySession {
  live: LiveSettings;
  store: ConfigStore;
  nats: NatsConnection | undefined;
  redis: RedisClient;
  resolved: ResolvedVerify;
  json: boolean;
  signal: AbortSignal;
}

/** A line of progress: stderr when stdout carries JSON, else stdout. */
const progressTo = (json: boolean) => (line: string) => void (json ? process.stderr : process.stdout).write(line + '\n');

/** Verifies one revision and prints the verdict (with what to do after a failure); returns the record. */
export async function verifyAndReport(s: VerifySession, revision: number, publishedAtMs: number): Promise<VerificationRecord> {
  const record = await runCliVerification({
    live: s.live,
    verify: s.resolved.verify,
    prometheus: s.resolved.prometheus,
    redis: s.redis,
    store: s.store,
    nats: s.nats,
    revision,
    publishedAtMs,
    progress: progressTo(s.json),
    signal: s.signal,
  });
  if (s.json) {
    process.stdout.write(terminalSafeJson(record) + '\n');
    return record;
  }
  process.stdout.write(formatVerification(record));
  if (record.state === 'failed' && !record.rollback) {
    // on_failure: notify (or a rollback that was not attempted): say what a rollback would restore.
    const target = await rollbackTarget(s.store, new VerificationStore(s.redis), s.live.key, record.revision).catch(() => undefined);
    // Only a hint: a read that fails here must not turn the verdict into "could not run".
    const live = await readLive(s.store, s.live.key).catch(() => undefined);
    if (target && live?.revision === record.revision) process.stdout.write(`  to roll back to revision ${target.envelope.revision} (${target.why}): driftlens rollback ${target.envelope.revision}\n`);
  }
  if (record.state === 'running' || record.state === 'waiting') process.stdout.write('  stopped before the verdict; run driftlens verify again to resume from the stored measurements\n');
  return record;
}

/** The revision to verify and its publish instant: the live one, or --revision N (live, or with a stored verification). */
async function chooseRevision(store: ConfigStore, redis: RedisClient, key: string, wanted: number | undefined): Promise<{ revision: number; publishedAtMs: number }> {
  const live = await readLive(store, key);
  if (wanted === undefined || wanted === live?.revision) {
    if (!live) throw new CliError(`${key} does not exist in Redis: nothing to verify`, EXIT.unavailable);
    return { revision: live.revision, publishedAtMs: publishInstant(live.updatedAt) };
  }
  const stored = await new VerificationStore(redis).read(key, wanted);
  if (stored) return { revision: wanted, publishedAtMs: publishInstant(stored.publishedAt) };
  throw new CliError(
    `revision ${wanted} of ${key} is not live (${live ? `revision ${live.revision} is` : 'no document is'}) and has no stored verification: only the live revision can be measured`,
    VERIFY_EXIT.inconclusive,
  );
}

/** updated_at carries nanoseconds (Cordum writes Go's RFC 3339); Date.parse keeps the milliseconds. */
export function publishInstant(iso: string): number {
  const ms = Date.parse(iso);
  return Number.isFinite(ms) ? ms : Date.now();
}

/**
 * Resolves with the live revision once it differs from `after` (a publish, or a rollback), using
 * the drift watcher's NATS notification and its poll: no publish is missed when a notification is.
 * Undefined when the signal aborts.
 */
function nextLiveRevision(s: VerifySession, after: number | undefined): Promise<{ revision: number; publishedAtMs: number } | undefined> {
  return new Promise((resolve, reject) => {
    if (s.signal.aborted) return resolve(undefined);
    const watcher = new DriftWatcher({
      redis: s.redis,
      nats: s.nats,
      configKey: s.live.key,
      sections: s.live.policy.sections,
      policy: s.live.policy.slo,
      subject: s.live.subject,
      onModel: (model) => {
        if (model.live && model.live.revision !== after) finish({ revision: model.live.revision, publishedAtMs: model.live.publishedAtMs });
      },
    });
    const finish = (value: { revision: number; publishedAtMs: number } | undefined) => {
      watcher.stop();
      s.signal.removeEventListener('abort', onAbort);
      resolve(value);
    };
    const onAbort = () => finish(undefined);
    s.signal.addEventListener('abort', onAbort);
    watcher.start().catch((e: unknown) => {
      watcher.stop();
      s.signal.removeEventListener('abort', onAbort);
      reject(e instanceof Error ? e : new Error(String(e)));
    });
  });
}

/** Aborts on Ctrl-C for the duration of `work` (a verification stops cleanly; its lease is released). */
export async function untilInterrupted<T>(work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const stop = new AbortController();
  const onSigint = () => stop.abort();
  process.on('SIGINT', onSigint);
  try {
    return await work(stop.signal);
  } finally {
    process.off('SIGINT', onSigint);
  }
}

export function registerVerifyCommand(program: Command): void {
  addLiveOptions(
    program
      .command('verify')
      .description("Verify the live revision against Prometheus with the policy's post-change checks (or join or read its stored verification).")
      .option('--revision <n>', 'verify this revision: the live one, or one whose verification is stored', (v) => parseRevision('--revision', v))
      .option('--json', 'print the final verification record as JSON on stdout (progress goes to stderr)')
      .option('--watch', 'keep verifying each new live revision as it is published, until Ctrl-C')
      .addOption(prometheusUrlOption()),
  )
    .addHelpText('after', `
Needs drift_control.verify in the drift policy. One line per measurement. A second verifier of the
same revision follows the one already measuring it; a finished verification is read, not measured
again. With on_failure: rollback, NATS is connected before anything is written (the rollback
notifies replicas). Exit status: 0 passed, 1 failed, 2 bad option or no verify in the policy,
4 Redis or NATS unreachable or no live document, 7 inconclusive, error, superseded by a newer
publish, or stopped; --watch runs until Ctrl-C and exits 0.
`)
    .action(async (options: LiveFlags & PrometheusFlags & { revision?: number; json?: boolean; watch?: boolean }) => {
      if (options.watch && options.revision !== undefined) throw new CliError('--watch verifies each new live revision; it takes no --revision');
      let resolved: ResolvedVerify | undefined;
      const session = {
        endless: options.watch === true,
        // Checked before connecting; NATS when a rollback may notify, or to hear publishes under --watch.
        notify: (live: LiveSettings) => {
          resolved = resolveVerify(live, options);
          return resolved.verify.onFailure === 'rollback' || options.watch === true;
        },
      };
      process.exitCode = await withLive(options, session, (live, store, nats, redis) =>
        untilInterrupted(async (signal) => {
          const s: VerifySession = { live, store, nats, redis, resolved: resolved!, json: options.json === true, signal };
          if (!options.watch) {
            const target = await chooseRevision(store, redis, live.key, options.revision);
            return verifyExitCode(await verifyAndReport(s, target.revision, target.publishedAtMs), false);
          }
          progressTo(s.json)(`watching ${displayText(live.key)}: verifying each revision as it is published (Ctrl-C to stop)`);
          let last: number | undefined;
          for (;;) {
            const next = await nextLiveRevision(s, last);
            if (!next) return EXIT.ok;
            last = next.revision;
            await verifyAndReport(s, next.revision, next.publishedAtMs);
            if (signal.aborted) return EXIT.ok;
          }
        }),
      );
    });
}
