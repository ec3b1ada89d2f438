import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import { createTwoFilesPatch } from 'diff';
import type { JsonValue } from '../core/canonical';
import { displayText } from '../core/displayText';
import { documentConfigKey } from '../core/documentKey';
import { restampEnvelope } from '../core/envelopeStamp';
import { describePlan, planPublish, renderForDiff, type PublishPlan } from '../core/publishPlan';
import { pulledYaml } from '../core/pulledDocument';
import { formatDuration } from '../core/duration';
import { TextLines } from '../core/textLines';
import { ConfigStore, RevisionConflictError } from '../live/configStore';
import { redactSecrets } from '../live/connections';
import { LiveDocumentError, type ConfigEnvelope } from '../live/envelope';
import { connectNats } from '../live/natsConnection';
import { notifyChange, publishDocument, type PublishOutcome } from '../live/publisher';
import { connectRedis } from '../live/redisConnection';
import { CliError, EXIT, formatProblem, loadDocument } from './documentInput';
import { addLiveOptions, resolveLive, type LiveFlags, type LiveSettings } from './liveOptions';

type DataMap = { [key: string]: JsonValue };

/** One live session: Redis now, NATS only when a notification is sent; both closed at the end. */
async function withLive<T>(flags: LiveFlags, work: (live: LiveSettings, store: ConfigStore, nats: () => Promise<import('nats').NatsConnection>) => Promise<T>): Promise<T> {
  const live = await resolveLive(flags);
  const secrets = [live.redis.password, live.nats.password, live.nats.token];
  let redis;
  try {
    redis = await connectRedis(live.redis, { name: 'driftlens-cli' });
  } catch (e) {
    throw new CliError(redactSecrets(e instanceof Error ? e.message : String(e), secrets), EXIT.unavailable);
  }
  let natsConnection: import('nats').NatsConnection | undefined;
  const nats = async () => (natsConnection ??= await connectNats(live.nats, { name: 'driftlens-cli', maxReconnectAttempts: 0 }));
  try {
    return await work(live, new ConfigStore(redis, { historyLimit: live.historyLimit }), nats);
  } catch (e) {
    if (e instanceof LiveDocumentError) throw new CliError(`the live document at ${live.key} is unreadable: ${e.message}. DriftLens will not overwrite it; inspect it with redis-cli GET ${live.key}.`, EXIT.unavailable);
    if (e instanceof CliError) throw e;
    if (e instanceof RevisionConflictError) throw e;
    throw new CliError(redactSecrets(e instanceof Error ? e.message : String(e), secrets), EXIT.unavailable);
  } finally {
    redis.disconnect();
    await natsConnection?.close().catch(() => undefined);
  }
}

async function readLive(store: ConfigStore, key: string): Promise<ConfigEnvelope | undefined> {
  return (await store.read(key))?.envelope;
}

function printPlan(plan: PublishPlan, live: ConfigEnvelope | undefined): void {
  const base = live ? `revision ${live.revision} (updated ${live.updatedAt}${live.meta?.published_by ? ` by ${displayText(live.meta.published_by)}` : ''})` : 'no document yet';
  process.stdout.write(`${plan.key}: ${base} -> revision ${plan.newRevision}\n`);
  for (const line of describePlan(plan)) process.stdout.write(`  ${line}\n`);
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
  process.stderr.write(
    `warning: the change notification on ${live.subject} failed: ${outcome.notifyError}\n` +
      `The write stands. Replicas pick it up on their next poll, within ${formatDuration(live.policy.pollIntervalMs)} (policy: notification_lost ${live.policy.slo.notificationLost.inclusive ? '<=' : '<'} ${formatDuration(live.policy.slo.notificationLost.ms)}).\n`,
  );
  return EXIT.notifyFailed;
}

function conflictError(e: RevisionConflictError, key: string, file: string | undefined, based: number): CliError {
  const current = e.current;
  const who = current?.meta?.published_by ? ` by ${displayText(current.meta.published_by)}` : '';
  const when = current ? ` at ${current.updatedAt}` : '';
  return new CliError(
    `revision conflict: ${key} is at revision ${current?.revision ?? '?'} (published${when}${who}), this publish was based on revision ${based}. Nothing was written.\n` +
      (file ? `  See what changed: driftlens diff ${file}\n  Publish over it anyway: driftlens publish ${file} --expect-revision ${current?.revision ?? 'N'}` : ''),
    EXIT.conflict,
  );
}

async function loadConfigData(file: string): Promise<{ text: string; data: DataMap; localRevision?: number; analysis: Awaited<ReturnType<typeof loadDocument>>['analysis'] }> {
  const { text, analysis } = await loadDocument(file, 'config');
  const errors = analysis.problems.filter((p) => p.severity === 'error');
  if (errors.length > 0) {
    const lines = new TextLines(text);
    for (const p of errors) process.stderr.write(formatProblem(file, lines, p) + '\n');
    throw new CliError(`${file} has ${errors.length} error${errors.length === 1 ? '' : 's'}; nothing was published`, EXIT.problems);
  }
  const data = analysis.data as DataMap;
  const root = analysis.parsed.located.value as DataMap;
  const localRevision = analysis.isEnvelope && typeof root.revision === 'number' ? root.revision : undefined;
  return { text, data, localRevision, analysis };
}

export function registerLiveCommands(program: Command): void {
  addLiveOptions(
    program
      .command('publish')
      .description('Validate a config document, write it to Redis with optimistic concurrency, then notify replicas.')
      .argument('<file>', 'the config document (envelope or data map)')
      .option('-y, --yes', 'publish without asking (CI)')
      .option('--expect-revision <n>', 'the live revision this publish replaces (default: the file\'s revision, else the live one)', (v) => {
        if (!/^\d+$/.test(v)) throw new CliError(`--expect-revision must be a whole number, not "${v}"`);
        return Number(v);
      })
      .option('--no-write-back', 'do not update revision/updated_at in an envelope file after publishing'),
  )
    .addHelpText('after', `
Shows a preview (per section: live hash -> new hash, whether replicas apply it, the new revision)
and asks before writing. Exit status: 0 published and notified, 1 the file has errors,
3 revision conflict, 4 Redis unreachable or live document unreadable, 5 published but the
notification failed (replicas converge on their next poll), 6 not confirmed.
`)
    .action(async (file: string, options: LiveFlags & { yes?: boolean; expectRevision?: number; writeBack?: boolean }) => {
      const local = await loadConfigData(file);
      process.exitCode = await withLive(options, async (live, store, nats) => {
        live.key = options.key ?? documentConfigKey(local.analysis) ?? live.key;
        const current = await readLive(store, live.key);
        const expected = options.expectRevision ?? local.localRevision ?? current?.revision ?? 0;
        const plan = planPublish(live.key, local.data, current, live.policy.sections, expected);
        printPlan(plan, current);
        if (current && plan.identical && current.revision === expected) {
          process.stdout.write(`nothing to publish: revision ${current.revision} already holds this data\n`);
          return EXIT.ok;
        }
        await confirm(`Publish ${live.key} revision ${plan.newRevision}?`, options.yes);
        let outcome: PublishOutcome;
        try {
          outcome = await publishDocument(store, nats, { key: live.key, data: local.data, expectedRevision: expected, meta: { published_by: live.publisher, tool: 'driftlens' }, subject: live.subject, senderId: live.senderId });
        } catch (e) {
          if (e instanceof RevisionConflictError) throw conflictError(e, live.key, file, expected);
          throw e;
        }
        if (options.writeBack !== false) {
          const restamped = restampEnvelope(local.text, local.analysis, { revision: outcome.envelope.revision, updatedAt: outcome.envelope.updatedAt });
          if (restamped !== undefined) {
            await writeFile(file, restamped);
            process.stdout.write(`updated ${file}: revision ${outcome.envelope.revision}\n`);
          }
        }
        return reportOutcome(outcome, live);
      });
    });

  addLiveOptions(
    program
      .command('diff')
      .description('Compare a local config document with the live one, normalised so formatting alone shows no difference.')
      .argument('<file>', 'the config document'),
  )
    .addHelpText('after', '\nPrints a unified diff of the data maps (live first). Exit status: 0 identical, 1 different, 4 Redis unreachable.\n')
    .action(async (file: string, options: LiveFlags) => {
      const local = await loadConfigData(file);
      process.exitCode = await withLive(options, async (live, store) => {
        live.key = options.key ?? documentConfigKey(local.analysis) ?? live.key;
        const current = await readLive(store, live.key);
        const before = current ? renderForDiff(current.data) : '';
        const after = renderForDiff(local.data);
        if (before === after) {
          process.stdout.write(`${file} matches ${live.key} revision ${current?.revision ?? 0}\n`);
          return EXIT.ok;
        }
        process.stdout.write(createTwoFilesPatch(`${live.key} (revision ${current?.revision ?? 'none'})`, file, before, after, undefined, undefined, { context: 3 }));
        return EXIT.problems;
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
    process.exitCode = await withLive(options, async (live, store) => {
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
    process.exitCode = await withLive(options, async (live, store) => {
      const entries = await store.history(live.key);
      if (entries.length === 0) process.stdout.write(`no history for ${live.key} (DriftLens records it when it publishes)\n`);
      for (const e of entries) {
        const plan = planPublish(live.key, e.data, undefined, live.policy.sections);
        const hashes = plan.sections.map((s) => `${s.name} ${s.localHash?.slice(0, 12) ?? '(invalid)'}`).join('  ');
        process.stdout.write(`r${e.revision}  ${e.updatedAt}  ${displayText(e.meta?.published_by ?? '')}  ${hashes}\n`);
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
    if (!/^\d+$/.test(revisionText)) throw new CliError(`the revision must be a whole number, not "${revisionText}"`);
    const revision = Number(revisionText);
    process.exitCode = await withLive(options, async (live, store, nats) => {
      const target = (await store.history(live.key)).find((e) => e.revision === revision);
      if (!target) throw new CliError(`revision ${revision} of ${live.key} is not in DriftLens' history (see: driftlens history)`, EXIT.problems);
      const current = await readLive(store, live.key);
      const plan = planPublish(live.key, target.data, current, live.policy.sections);
      printPlan(plan, current);
      await confirm(`Roll ${live.key} back to the data of revision ${revision} (as revision ${plan.newRevision})?`, options.yes);
      let envelope: ConfigEnvelope;
      try {
        envelope = await store.rollback(live.key, revision, plan.expectedRevision, { published_by: live.publisher, tool: 'driftlens', rollback_of: String(revision) });
      } catch (e) {
        if (e instanceof RevisionConflictError) throw conflictError(e, live.key, undefined, plan.expectedRevision);
        throw e;
      }
      return reportOutcome(await notifyChange(nats, live.key, live.subject, live.senderId, envelope), live);
    });
  });
}
