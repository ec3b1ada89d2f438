import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import { createTwoFilesPatch } from 'diff';
import type { NatsConnection } from 'nats';
import type { DocumentKind } from '../core/classify';
import type { JsonValue } from '../core/canonical';
import { displayText, terminalSafeJson } from '../core/displayText';
import { configKeyProblem, documentConfigKey } from '../core/documentKey';
import { restampEnvelope } from '../core/envelopeStamp';
import { subjectProblem } from '../core/natsSubject';
import { changeSet, changeSetJson, formatChangeSetMarkdown, formatChangeSetText, RISK_CODES, unacceptedRisks, type ChangeSet } from '../core/changeSet';
import { conflictSentence, decidePublish, natsUnreachableMessage, notificationFailedSentence, publisherIdentity, publishMeta, withSection, type PublishSource } from '../core/publishFlow';
import { describePlan, planPublish, renderForDiff, type PublishPlan } from '../core/publishPlan';
import { pulledYaml } from '../core/pulledDocument';
import { ConfigStore, historyKey, RevisionConflictError } from '../live/configStore';
import { redactSecrets } from '../live/connections';
import { LiveDocumentError, MAX_REVISION, unusableLiveDocumentMessage, type ConfigEnvelope } from '../live/envelope';
import { connectNats } from '../live/natsConnection';
import { publishDocument, rollbackDocument, type PublishOutcome } from '../live/publisher';
import { connectRedis, describeEndpoint, RedisRefusedError, redisErrorText, type RedisClient } from '../live/redisConnection';
import { VerificationStore, type VerificationRecord } from '../live/verificationStore';
import { CliError, EXIT, formatProblems, loadDocument, parseKind } from './documentInput';
import { addLiveOptions, liveSecrets, resolveLive, type LiveFlags, type LiveSettings } from './liveOptions';
import { prometheusUrlOption, publishInstant, resolveVerify, untilInterrupted, verifyAndReport, type PrometheusFlags, type ResolvedVerify } from './verifyCommand';
import { VERIFY_EXIT, verifyExitCode } from './verifyRun';
import { uninterruptible } from './outputPipe';

type DataMap = { [key: string]: JsonValue };

export interface SessionOptions {
  /** The key an envelope file names (between --key and the policy's config_key). */
  fileKey?: string;
  /**
   * Whether the command notifies replicas: then NATS is connected (and the subject checked) before
   * anything is written. A function decides from the resolved settings (verify: only when the
   * policy rolls back); it runs before any connection and may refuse with a usage error (exit 2).
   */
  notify: boolean | ((live: LiveSettings) => boolean);
  /**
   * A command that runs until Ctrl-C (verify --watch) stops when its reader goes away, as any
   * Unix tool; the others finish a change under way first (see uninterruptible).
   */
  endless?: boolean;
}

/** A Redis failure in our words (a refused command, its key, what the user needs), secrets redacted. */
function redisFailure(e: unknown, live: LiveSettings): string {
  return redactSecrets(redisErrorText(e, describeEndpoint(live.redis)), liveSecrets(live));
}

/**
 * One live session. Everything a flag, the environment or the policy can get wrong is checked
 * before the first connection (exit 2); then Redis and, for a command that notifies, NATS are
 * connected and authenticated together before any read or write, so an unreachable or refusing
 * NATS stops the command with nothing written (exit 4) and the notification leaves right after
 * the write. Both are closed at the end.
 */
export async function withLive<T>(
  flags: LiveFlags,
  session: SessionOptions,
  work: (live: LiveSettings, store: ConfigStore, nats: NatsConnection | undefined, redis: RedisClient) => Promise<T>,
): Promise<T> {
  const live = await resolveLive(flags);
  live.key = flags.key ?? session.fileKey ?? live.key;
  const notify = typeof session.notify === 'function' ? session.notify(live) : session.notify;
  const targetProblem = configKeyProblem(live.key) ?? (notify ? subjectProblem(live.subject) : undefined);
  if (targetProblem) throw new CliError(`${targetProblem}; nothing was written`, EXIT.usage);
  const secrets = liveSecrets(live);
  const message = (e: unknown) => redactSecrets(e instanceof Error ? e.message : String(e), secrets);
  const [redis, nats] = await Promise.allSettled([
    connectRedis(live.redis, { name: 'driftlens-cli' }),
    notify ? connectNats(live.nats, { name: 'driftlens-cli', maxReconnectAttempts: 0 }) : Promise.resolve(undefined),
  ]);
  const closeAll = async () => {
    if (redis.status === 'fulfilled') redis.value.disconnect();
    if (nats.status === 'fulfilled') await nats.value?.close().catch(() => undefined);
  };
  if (redis.status === 'rejected' || nats.status === 'rejected') {
    await closeAll();
    if (redis.status === 'rejected') throw new CliError(message(redis.reason), EXIT.unavailable);
    throw new CliError(natsUnreachableMessage(message((nats as PromiseRejectedResult).reason)), EXIT.unavailable);
  }
  try {
    // A reader closing our output (`| head`) must not stop a publish between its write and its notification.
    const run = () => work(live, new ConfigStore(redis.value, { historyLimit: live.historyLimit }), nats.value, redis.value);
    return await (session.endless ? run() : uninterruptible(run));
  } catch (e) {
    if (e instanceof LiveDocumentError) throw new CliError(unusableLiveDocumentMessage(e, live.key), EXIT.unavailable);
    if (e instanceof CliError) throw e;
    if (e instanceof RevisionConflictError) throw e;
    if (e instanceof RedisRefusedError && notify && live.historyLimit > 0 && e.command !== 'LRANGE' && e.keys.includes(historyKey(live.key))) {
      // DriftLens's own key, not Cordum's: an installation that may hold only Cordum's keys publishes without it.
      throw new CliError(`${message(e)}. To write without DriftLens's history, pass --no-history`, EXIT.unavailable);
    }
    // A reply of Redis that no store worded (a verification record's GET): the command and what the user needs.
    throw new CliError(e instanceof RedisRefusedError ? message(e) : redisFailure(e, live), EXIT.unavailable);
  } finally {
    await closeAll();
  }
}

export async function readLive(store: ConfigStore, key: string): Promise<ConfigEnvelope | undefined> {
  return (await store.read(key))?.envelope;
}

function printPlan(plan: PublishPlan, live: ConfigEnvelope | undefined, section?: string, changes?: ChangeSet): void {
  const base = live ? `revision ${live.revision} (updated ${live.updatedAt}${live.meta?.published_by ? ` by ${displayText(live.meta.published_by)}` : ''})` : 'no document yet';
  process.stdout.write(`${plan.key}: ${base} -> revision ${plan.newRevision}${section ? ` (its ${section} section from a section file; the rest stays as it is)` : ''}\n`);
  for (const line of describePlan(plan)) process.stdout.write(`  ${line}\n`);
  if (changes) for (const line of formatChangeSetText(changes)) process.stdout.write(`${line}\n`);
}

/** --accept-risk CODE, repeatable; a code that is not one of ours is a typo that would accept nothing. */
function collectRisk(code: string, previous: string[] = []): string[] {
  if (!(RISK_CODES as readonly string[]).includes(code)) throw new CliError(`--accept-risk: "${code}" is not a risk code (${RISK_CODES.join(', ')})`);
  return [...previous, code];
}

/** With --yes, every risk must be named by --accept-risk; at a terminal, the question names them and a yes accepts them. */
function riskGate(changes: ChangeSet, accepted: readonly string[], yes: boolean | undefined): string[] {
  const open = unacceptedRisks(changes, accepted);
  if (open.length > 0 && yes) {
    throw new CliError(`${open.length} risk${open.length === 1 ? '' : 's'} not accepted (${open.join(', ')}); nothing was written. To publish anyway: ${open.map((c) => `--accept-risk ${c}`).join(' ')}`, EXIT.riskNotAccepted);
  }
  return open;
}

async function confirm(question: string, yes: boolean | undefined): Promise<void> {
  if (yes) return;
  if (!process.stdin.isTTY) throw new CliError('not confirmed: pass --yes to publish without a prompt', EXIT.notConfirmed);
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  try {
    const answer = await rl.question(`${question} [y/N] `);
    if (!/^y(es)?$/i.test(answer.trim())) throw new CliError('not confirmed; nothing written', EXIT.notConfirmed);
  } finally {
    rl.close();
  }
}

function reportOutcome(outcome: PublishOutcome, live: LiveSettings): number {
  process.stdout.write(`published ${live.key} revision ${outcome.envelope.revision} at ${outcome.envelope.updatedAt}\n`);
  if (outcome.notified) {
    process.stdout.write(`notified ${live.subject} (trace ${outcome.traceId})\n`);
    return EXIT.ok;
  }
  process.stderr.write(`warning: ${notificationFailedSentence(live.subject, outcome.notifyError, live.policy)}\n`);
  return EXIT.notifyFailed;
}

function conflictError(key: string, current: ConfigEnvelope | undefined, file: string | undefined, based: number): CliError {
  const hint = !file
    ? ''
    : current
      ? `\n  See what changed: driftlens diff ${file}\n  Publish over it anyway: driftlens publish ${file} --expect-revision ${current.revision}`
      : `\n  Create it from this file: driftlens publish ${file} --expect-revision 0`;
  return new CliError(`revision conflict: ${conflictSentence(key, current, based)}${hint}`, EXIT.conflict);
}

/** A whole number a revision can be: digits only, at most 2^53 - 1 (beyond it revision + 1 is not exact). */
export function parseRevision(what: string, text: string): number {
  const value = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(value)) throw new CliError(`${what} must be a whole number from 0 to ${MAX_REVISION}, not "${text}"`);
  return value;
}

interface LocalDocument {
  text: string;
  analysis: Awaited<ReturnType<typeof loadDocument>>['analysis'];
  source: PublishSource;
}

type DiffFormat = 'text' | 'json' | 'markdown' | 'patch';

function parseDiffFormat(value: string): DiffFormat {
  if (value === 'text' || value === 'json' || value === 'markdown' || value === 'patch') return value;
  throw new CliError(`--format must be text, json, markdown or patch, not "${value}"`);
}

/**
 * Reads a config document or a bare section file (kind by --kind, else the editor's rules and the
 * content). `allowSchemaErrors` (diff): a file that parses but fails its schema is still compared.
 */
async function loadPublishable(file: string, kind?: DocumentKind, options: { allowSchemaErrors?: boolean } = {}): Promise<LocalDocument> {
  const { text, analysis } = await loadDocument(file, kind);
  if (analysis.kind === 'policy') throw new CliError(`${file} is a drift policy, not a config document or section file (use --kind to say otherwise)`);
  const errors = analysis.problems.filter((p) => p.severity === 'error');
  const comparable = options.allowSchemaErrors && analysis.data !== undefined && (analysis.kind !== 'config' || isDataMap(analysis.data));
  if (errors.length > 0 && !comparable) {
    for (const line of formatProblems(file, text, errors)) process.stderr.write(line + '\n');
    throw new CliError(`${file} has ${errors.length} error${errors.length === 1 ? '' : 's'}; nothing was published`, EXIT.problems);
  }
  if (analysis.kind !== 'config') return { text, analysis, source: { kind: 'section', section: analysis.kind, value: analysis.data ?? null } };
  const root = analysis.parsed.located.value as DataMap;
  const fileRevision = analysis.isEnvelope && typeof root.revision === 'number' ? root.revision : undefined;
  return { text, analysis, source: { kind: 'document', data: analysis.data as DataMap, fileRevision } };
}

function isDataMap(value: unknown): value is DataMap {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `  verify failed (rolled back as r9)`: a revision's verdict in its history line; nothing when it was never verified. */
function historyVerdict(record: VerificationRecord | undefined): string {
  if (!record) return '';
  const rollback = record.rollback?.outcome === 'done' && record.rollback.newRevision !== undefined ? ` (rolled back as r${record.rollback.newRevision})` : '';
  return `  verify ${record.state}${record.state === 'running' || record.state === 'waiting' ? ` ${Math.min(record.count, ...record.checks.map((c) => c.measurements.length))}/${record.count}` : ''}${rollback}`;
}

export function registerLiveCommands(program: Command): void {
  addLiveOptions(
    program
      .command('publish')
      .description('Validate a config document (or a bare section file), write it to Redis with optimistic concurrency, then notify replicas.')
      .argument('<file>', 'the config document (envelope or data map), or a pools / timeouts section file')
      .option('-y, --yes', 'publish without asking (CI)')
      .option('--accept-risk <code>', 'publish with --yes despite this risk of the change set (repeatable)', collectRisk)
      .option('--expect-revision <n>', 'the live revision this publish replaces (default: the file\'s revision, else the live one)', (v) => parseRevision('--expect-revision', v))
      .option('--kind <kind>', 'read the file as config | pools | timeouts (default: by file name and content)', parseKind)
      .option('--no-write-back', 'do not update revision/updated_at in an envelope file after publishing')
      .option('--verify', "then verify the new revision with the policy's post-change checks (drift_control.verify) and exit by the verdict")
      .addOption(prometheusUrlOption()),
  )
    .addHelpText('after', `
Shows a preview (per section: live hash -> new hash, whether replicas apply it, the new revision;
then every property that changes and the risks of the change) and asks before writing. With
--yes, each risk must be accepted by name (--accept-risk timeout-cut), else exit 9. A section
file (config/pools.yaml, config/timeouts.yaml) replaces that one section of the live document, based on the live revision. Redis and NATS are both connected before
anything is written. Exit status: 0 published and notified, 1 the file has errors, 2 bad option
(key, subject, revision), 3 revision conflict, 4 Redis or NATS unreachable, the live document
unreadable, or (section file) no live document, nothing written, 5 published but the notification
failed (replicas converge on their next poll), 6 not confirmed, 9 a risk not accepted. With --verify (the policy must
have drift_control.verify, else exit 2 before anything is written), after the publish: 0 the
verification passed, 8 it failed (after the rollback, when the policy says on_failure: rollback),
7 inconclusive, error or superseded.
`)
    .action(async (file: string, options: LiveFlags & PrometheusFlags & { yes?: boolean; acceptRisk?: string[]; expectRevision?: number; kind?: DocumentKind; writeBack?: boolean; verify?: boolean }) => {
      const local = await loadPublishable(file, options.kind);
      let verifying: ResolvedVerify | undefined;
      // --verify without a verify block is refused before anything is connected or written.
      const notify = (live: LiveSettings) => ((verifying = options.verify ? resolveVerify(live, options) : undefined), true);
      process.exitCode = await withLive(options, { fileKey: documentConfigKey(local.analysis), notify }, async (live, store, nats, redis) => {
        // After the publish (or with nothing to publish: the live revision), verify it; the publish's own status stands unless verification passed.
        const thenVerify = (published: number, revision: number, publishedAtMs: number, written = true) =>
          !verifying
            ? published
            : untilInterrupted(async (signal) => {
                try {
                  const record = await verifyAndReport({ live, store, nats, redis, resolved: verifying!, json: false, signal }, revision, publishedAtMs);
                  return record.state === 'passed' ? published : verifyExitCode(record, true);
                } catch (e) {
                  if (!written) throw e;
                  // The revision is live: "4, nothing written" would tell a pipeline the opposite. An error of the verification is 7.
                  const why = e instanceof CliError ? e.message : redisFailure(e, live);
                  process.stderr.write(`driftlens: ${live.key} revision ${revision} is published, but its verification could not run: ${why}\n`);
                  return VERIFY_EXIT.inconclusive;
                }
              });
        const current = await readLive(store, live.key);
        const decision = decidePublish(live.key, local.source, current, { sections: live.policy.sections, expectRevision: options.expectRevision });
        if (decision.action === 'no-live-document') throw new CliError(decision.message, EXIT.unavailable);
        if (decision.action === 'conflict') throw conflictError(live.key, current, file, decision.basedOn);
        if (decision.action === 'unchanged') {
          process.stdout.write(`${decision.message}\n`);
          return current ? thenVerify(EXIT.ok, current.revision, publishInstant(current.updatedAt), false) : EXIT.ok;
        }
        const changes = changeSet(current?.data, decision.data, live.policy.sections);
        printPlan(decision.plan, current, local.source.kind === 'section' ? local.source.section : undefined, changes);
        const { plan } = decision;
        const risky = riskGate(changes, options.acceptRisk ?? [], options.yes);
        await confirm(`Publish ${live.key} revision ${plan.newRevision}${risky.length ? ` despite ${risky.length} risk${risky.length === 1 ? '' : 's'} (${risky.join(', ')})` : ''}?`, options.yes);
        const identity = publisherIdentity('cli');
        let outcome: PublishOutcome;
        try {
          outcome = await publishDocument(store, nats!, { key: live.key, data: decision.data, expectedRevision: plan.expectedRevision, meta: publishMeta(identity), subject: live.subject, senderId: identity.senderId });
        } catch (e) {
          if (e instanceof RevisionConflictError) throw conflictError(live.key, e.current, file, plan.expectedRevision);
          throw e;
        }
        if (options.writeBack !== false) {
          const restamped = restampEnvelope(local.text, local.analysis, { revision: outcome.envelope.revision, updatedAt: outcome.envelope.updatedAt });
          if (restamped !== undefined) {
            await writeFile(file, restamped);
            process.stdout.write(`updated ${file}: revision ${outcome.envelope.revision}\n`);
          }
        }
        return thenVerify(reportOutcome(outcome, live), outcome.envelope.revision, publishInstant(outcome.envelope.updatedAt));
      });
    });

  addLiveOptions(
    program
      .command('diff')
      .description('What publishing a local config document (or section file) would change: every property, old -> new, and the risks; formatting alone shows no difference.')
      .argument('<file>', 'the config document, or a pools / timeouts section file')
      .option('--kind <kind>', 'read the file as config | pools | timeouts (default: by file name and content)', parseKind)
      .option('--format <format>', 'text | json | markdown (a pull-request comment) | patch (a unified diff of the normalised data)', parseDiffFormat, 'text' as DiffFormat)
      .option('--accept-risk <code>', 'a risk that does not make the exit status 9 (repeatable)', collectRisk),
  )
    .addHelpText(
      'after',
      `
The change set compares what replicas apply (normalised pools and timeouts sections) and every
other key of data; for a section file, that section of the live document. Unlike publish, a file
whose sections fail validation is compared too: those sections get the unapplied-section risk.
Risk codes: ${RISK_CODES.join(', ')}.
Exit status: 0 no change, 1 changes, 9 changes with a risk not named by --accept-risk, 4 Redis
unreachable (patch: 0 identical, 1 different).
`,
    )
    .action(async (file: string, options: LiveFlags & { kind?: DocumentKind; format: DiffFormat; acceptRisk?: string[] }) => {
      const local = await loadPublishable(file, options.kind, { allowSchemaErrors: options.format !== 'patch' });
      process.exitCode = await withLive(options, { fileKey: documentConfigKey(local.analysis), notify: false }, async (live, store) => {
        const current = await readLive(store, live.key);
        const source = local.source;
        const what = source.kind === 'section' ? `${live.key} ${source.section}` : live.key;
        const revision = current?.revision ?? 0;
        if (options.format === 'patch') {
          const liveSide = source.kind === 'section' ? current?.data[source.section] : current?.data;
          const before = liveSide === undefined ? '' : renderForDiff(liveSide);
          const after = renderForDiff(source.kind === 'section' ? source.value : source.data);
          if (before === after) {
            process.stdout.write(`${file} matches ${what} revision ${revision}\n`);
            return EXIT.ok;
          }
          process.stdout.write(createTwoFilesPatch(`${what} (revision ${current?.revision ?? 'none'})`, file, before, after, undefined, undefined, { context: 3 }));
          return EXIT.problems;
        }
        const data = source.kind === 'section' ? withSection(current?.data ?? {}, source.section, source.value) : source.data;
        const changes = changeSet(current?.data, data, live.policy.sections);
        const status = changes.changes.length === 0 ? EXIT.ok : unacceptedRisks(changes, options.acceptRisk ?? []).length > 0 ? EXIT.riskNotAccepted : EXIT.problems;
        if (options.format === 'json') {
          process.stdout.write(terminalSafeJson(changeSetJson(changes, { key: live.key, live_revision: current ? current.revision : null, file }), 2) + '\n');
        } else if (options.format === 'markdown') {
          process.stdout.write(formatChangeSetMarkdown(changes, `DriftLens: ${file} against ${what} revision ${revision}`));
        } else if (changes.changes.length === 0) {
          process.stdout.write(`${file} matches ${what} revision ${revision}\n`);
        } else {
          process.stdout.write(`${what} revision ${revision} -> ${file}\n`);
          for (const line of formatChangeSetText(changes)) process.stdout.write(`${line}\n`);
        }
        return status;
      });
    });

  addLiveOptions(
    program
      .command('pull')
      .description('Write the live document (envelope with its revision) as YAML, to stdout or a file.')
      .option('-o, --out <file>', 'write here instead of stdout')
      .option('--force', 'overwrite --out if it exists'),
  ).action(async (options: LiveFlags & { out?: string; force?: boolean }) => {
    if (options.out && existsSync(options.out) && !options.force) throw new CliError(`${options.out} exists; pass --force to overwrite it`);
    process.exitCode = await withLive(options, { notify: false }, async (live, store) => {
      const current = await readLive(store, live.key);
      if (!current) throw new CliError(`${live.key} does not exist in Redis`, EXIT.unavailable);
      const yaml = pulledYaml(live.key, current);
      if (options.out) {
        await writeFile(options.out, yaml);
        process.stderr.write(`wrote ${options.out}: ${live.key} revision ${current.revision}\n`);
      } else {
        process.stdout.write(yaml);
      }
      return EXIT.ok;
    });
  });

  addLiveOptions(
    program
      .command('history')
      .description('List the published revisions DriftLens keeps for rollback (newest first).'),
  ).action(async (options: LiveFlags) => {
    process.exitCode = await withLive(options, { notify: false }, async (live, store, _nats, redis) => {
      const entries = await store.history(live.key);
      if (entries.length === 0) process.stdout.write(`no history for ${live.key} (DriftLens records it when it publishes)\n`);
      const verdicts = await new VerificationStore(redis).readMany(live.key, entries.map((e) => e.revision));
      for (const e of entries) {
        const plan = planPublish(live.key, e.data, undefined, live.policy.sections);
        const hashes = plan.sections.map((s) => `${s.name} ${s.localHash?.slice(0, 12) ?? '(invalid)'}`).join('  ');
        process.stdout.write(`r${e.revision}  ${e.updatedAt}  ${displayText(e.meta?.published_by ?? '')}  ${hashes}${historyVerdict(verdicts.get(e.revision))}\n`);
      }
      return EXIT.ok;
    });
  });

  addLiveOptions(
    program
      .command('rollback')
      .description('Publish the data of an earlier revision again, as a new revision.')
      .argument('<revision>', 'a revision listed by `driftlens history`')
      .option('-y, --yes', 'roll back without asking'),
  ).action(async (revisionText: string, options: LiveFlags & { yes?: boolean }) => {
    const revision = parseRevision('the revision', revisionText);
    process.exitCode = await withLive(options, { notify: true }, async (live, store, nats) => {
      const target = (await store.history(live.key)).find((e) => e.revision === revision);
      if (!target) throw new CliError(`revision ${revision} of ${live.key} is not in DriftLens' history (see: driftlens history)`, EXIT.problems);
      const current = await readLive(store, live.key);
      const plan = planPublish(live.key, target.data, current, live.policy.sections);
      printPlan(plan, current);
      await confirm(`Roll ${live.key} back to the data of revision ${revision} (as revision ${plan.newRevision})?`, options.yes);
      const identity = publisherIdentity('cli');
      try {
        const meta = publishMeta(identity, { rollback_of: String(revision) });
        return reportOutcome(await rollbackDocument(store, nats!, { key: live.key, revision, expectedRevision: plan.expectedRevision, meta, subject: live.subject, senderId: identity.senderId }), live);
      } catch (e) {
        if (e instanceof RevisionConflictError) throw conflictError(live.key, e.current, undefined, plan.expectedRevision);
        throw e;
      }
    });
  });
}
