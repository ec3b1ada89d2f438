import * as vscode from 'vscode';
import { formatDuration } from '../core/duration';
import { publisherIdentity } from '../core/publishFlow';
import { replicasSettled } from '../core/verification';
import { rfc3339ToEpochMs } from '../live/replicaReports';
import { verifierId, verifyRevision } from '../live/verifier';
import { TERMINAL_STATES, VerificationStore, type RollbackRecord, type VerificationRecord } from '../live/verificationStore';
import { rollbackFailedRevision, rollbackTarget } from '../live/verifyRollback';
import type { LiveConnection } from './liveConnection';
import type { ComponentLog } from './log';
import type { ReplicaModel } from './replicaModel';

/** This window's verifier id: unique per extension host, so two windows of one user never share a lease. */
export const ownVerifier = () => verifierId(`${publisherIdentity('vscode').publishedBy} (vscode)`);

/** A verification this window runs: what it measures, and how to stop it. */
interface Run {
  key: string;
  revision: number;
  publishedAtMs: number;
  abort: AbortController;
}

/**
 * The Verify stage in the editor: after Publish Config (when the policy has `verify`) this window
 * measures the new revision, or follows the verifier that already does; for a revision someone
 * else published it shows the stored verification. One notification per failed revision, with the
 * rollback offered (or reported, when the policy rolls back by itself).
 */
export class VerificationController implements vscode.Disposable {
  private running: Run | undefined;
  /** The run a connection reset interrupted, until it resumes on the new connection (see interrupted). */
  private resumeAfterReset: Omit<Run, 'abort'> | undefined;
  /**
   * Settles when the latest run has returned, its lease released. Every run of this window measures
   * as the same verifier, so a stopped run that had not returned yet released the lease of the run
   * that replaced it, which then stopped measuring with its record left "running" (seen in CI: a
   * policy reload reset the connection just after a publish, and the resumed run lost its lease).
   */
  private lastRunEnded: Promise<void> = Promise.resolve();
  private record: VerificationRecord | undefined;
  private readonly changed = new vscode.EventEmitter<VerificationRecord | undefined>();
  readonly onDidChange = this.changed.event;
  private readonly announced = new Set<string>();
  private followTimer: NodeJS.Timeout | undefined;
  private readonly subscriptions: vscode.Disposable[];
  private disposed = false;

  constructor(
    private readonly connection: LiveConnection,
    private readonly replicas: ReplicaModel,
    private readonly log: ComponentLog,
  ) {
    this.subscriptions = [
      this.changed,
      // The live revision moved (anyone's publish): show its verification, if one is stored.
      replicas.onDidChange((model) => {
        const live = model?.live;
        if (live && (this.record?.key !== live.key || this.record.revision !== live.revision) && this.running?.revision !== live.revision) void this.show(live.key, live.revision);
      }),
      connection.onDidReset(() => this.interrupted()),
    ];
  }

  /** The verification of the live revision as last read (undefined: none stored). */
  get current(): VerificationRecord | undefined {
    return this.record;
  }

  private set(record: VerificationRecord | undefined): void {
    this.record = record;
    this.changed.fire(record);
    if (record && TERMINAL_STATES.has(record.state)) this.announce(record);
  }

  /** The revision being measured (or followed) by this window now. */
  get active(): { key: string; revision: number } | undefined {
    return this.running && { key: this.running.key, revision: this.running.revision };
  }

  /** Verifies a revision (after a publish, or the Verify command); resolves with its verdict. */
  async start(key: string, revision: number, publishedAtMs: number): Promise<VerificationRecord | undefined> {
    // Prometheus is named by the policy, a workspace file: an untrusted workspace queries nothing.
    if (!vscode.workspace.isTrusted) return undefined;
    const settings = await this.connection.settings();
    const verify = settings.policy.verify;
    if (!verify || !settings.prometheus) return undefined;
    this.stop(`revision ${revision} is being verified`);
    this.resumeAfterReset = undefined;
    const abort = new AbortController();
    this.running = { key, revision, publishedAtMs, abort };
    const previous = this.lastRunEnded;
    let ended!: () => void;
    this.lastRunEnded = new Promise<void>((resolve) => (ended = resolve));
    const verifier = ownVerifier();
    try {
      await previous;
      if (abort.signal.aborted) return undefined;
      this.log.info(`verifying ${key} revision ${revision} against ${verify.prometheus}`);
      const redis = await this.connection.redis();
      const store = await this.connection.store();
      const verifications = new VerificationStore(redis);
      const record = await verifyRevision({
        redis: verifications,
        config: store,
        prometheus: settings.prometheus,
        policy: verify,
        key,
        revision,
        publishedAtMs,
        verifier,
        signal: abort.signal,
        converged: (signal) => this.converged(revision, publishedAtMs, settings.policy.slo.notificationLost.ms, signal),
        // The verifier stores this outcome in the record itself (it holds the lease).
        rollback: (failed) => this.rollback(failed),
        onUpdate: (r) => {
          if (!abort.signal.aborted) this.set(r);
        },
      });
      if (!abort.signal.aborted) this.set(record);
      this.log.info(`verification of ${key} revision ${revision}: ${record.state} (${record.reason})`);
      return record;
    } catch (e) {
      const message = `Verification of ${key} revision ${revision} stopped: ${e instanceof Error ? e.message : String(e)}`;
      this.log.error(message);
      void vscode.window.showErrorMessage(`DriftLens: ${message}`, 'Show Log').then((c) => c && vscode.commands.executeCommand('driftlens.showLog'));
      return undefined;
    } finally {
      if (this.running?.abort === abort) this.running = undefined;
      ended();
    }
  }

  /** Waits until the replicas settled on the revision, or its convergence budget ran out. */
  private async converged(revision: number, publishedAtMs: number, budgetMs: number, signal: AbortSignal): Promise<void> {
    await this.replicas.ensureStarted();
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        listener.dispose();
        signal.removeEventListener('abort', done);
        resolve();
      };
      const check = () => {
        const model = this.replicas.model;
        if (model && (replicasSettled(model, revision) || (model.replicas.length === 0 && model.live?.revision === revision))) done();
      };
      const timer = setTimeout(done, Math.max(0, publishedAtMs + budgetMs - Date.now()));
      const listener = this.replicas.onDidChange(check);
      signal.addEventListener('abort', done);
      check();
    });
  }

  /** Reads (and, while someone else measures, follows) the stored verification of a revision. */
  private async show(key: string, revision: number): Promise<void> {
    clearTimeout(this.followTimer);
    try {
      const record = await new VerificationStore(await this.connection.redis()).read(key, revision);
      if (this.disposed || this.running) return;
      // The revision a rollback created has no verification of its own: keep showing the failed
      // one (with its rollback) rather than an empty view.
      if (!record && this.record?.key === key && this.record.rollback?.newRevision === revision) return;
      this.set(record);
      if (record && !TERMINAL_STATES.has(record.state)) this.followTimer = setTimeout(() => void this.show(key, revision), Math.min(record.intervalMs, 2_000));
    } catch (e) {
      this.log.warn(`cannot read the verification of ${key} revision ${revision}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  /**
   * The rollback a person chose ("Rollback to Revision N"): republishes, then stores the outcome
   * with the failed verdict so every client (and this tree) shows what followed the failure.
   */
  async rollbackNow(failed: VerificationRecord): Promise<RollbackRecord> {
    const outcome = await this.rollback(failed);
    try {
      const verifications = new VerificationStore(await this.connection.redis());
      const me = ownVerifier();
      // The run released its lease when it ended; take it briefly so no other writer interleaves.
      if (await verifications.claim(failed.key, failed.revision, me, 10_000)) {
        try {
          const stored = await verifications.read(failed.key, failed.revision);
          if (stored && !stored.rollback) {
            stored.rollback = outcome;
            await verifications.save(stored, me, 10_000);
          }
          if (stored && (!this.record || (this.record.key === failed.key && (this.record.revision === failed.revision || this.record.revision === outcome.newRevision)))) this.set(stored);
        } finally {
          await verifications.release(failed.key, failed.revision, me);
        }
      }
    } catch (e) {
      this.log.warn(`cannot record the rollback with the verification of ${failed.key} revision ${failed.revision}: ${e instanceof Error ? e.message : String(e)}`);
    }
    return outcome;
  }

  /** Republishes the last passed revision over the failed one (never over a newer publish). */
  private async rollback(failed: VerificationRecord): Promise<RollbackRecord> {
    const settings = await this.connection.settings();
    // Connect before writing: a notification that cannot be sent is known before anything changes.
    const nats = await this.connection.nats().catch(() => undefined);
    const store = await this.connection.store();
    const outcome = await rollbackFailedRevision({
      config: store,
      verifications: new VerificationStore(await this.connection.redis()),
      key: failed.key,
      failedRevision: failed.revision,
      identity: publisherIdentity('vscode'),
      nats,
      subject: settings.policy.subject,
      policy: settings.policy,
    });
    this.log.info(`rollback after the failed verification of ${failed.key} revision ${failed.revision}: ${outcome.outcome}: ${outcome.message}`);
    return outcome;
  }

  /** One notification per failed (or inconclusive) revision, with the action that fits. */
  private announce(record: VerificationRecord): void {
    const id = `${record.key}:${record.revision}:${record.state}`;
    if (this.announced.has(id) || record.state === 'passed' || record.state === 'superseded') return;
    this.announced.add(id);
    const age = formatDuration(Math.max(0, Date.now() - rfc3339ToEpochMs(record.publishedAt)));
    if (record.state === 'inconclusive') {
      void vscode.window.showWarningMessage(`DriftLens: the verification of ${record.key} revision ${record.revision} is inconclusive (${record.reason}).`, 'Show Replicas').then((c) => c && vscode.commands.executeCommand('driftlens.replicas.focus'));
      return;
    }
    const headline = `DriftLens: revision ${record.revision} of ${record.key} failed verification ${age} after its publish: ${record.reason}.`;
    if (record.rollback) {
      const show = record.rollback.outcome === 'done' ? vscode.window.showWarningMessage : vscode.window.showErrorMessage;
      void show(`${headline} ${record.rollback.message[0].toUpperCase()}${record.rollback.message.slice(1)}.`, 'Show Replicas').then((c) => c && vscode.commands.executeCommand('driftlens.replicas.focus'));
      return;
    }
    void (async () => {
      const target = await this.connection
        .store()
        .then(async (store) => rollbackTarget(store, new VerificationStore(await this.connection.redis()), record.key, record.revision))
        .catch(() => undefined);
      const action = target ? `Rollback to Revision ${target.envelope.revision}` : undefined;
      const choice = await vscode.window.showErrorMessage(target ? headline : `${headline} There is no earlier revision in DriftLens' history to roll back to.`, ...(action ? [action] : []), 'Show Replicas');
      if (choice === 'Show Replicas') await vscode.commands.executeCommand('driftlens.replicas.focus');
      if (choice && choice === action) {
        const outcome = await this.rollbackNow(record);
        const say = outcome.outcome === 'done' ? vscode.window.showInformationMessage : vscode.window.showWarningMessage;
        void say(`DriftLens: ${outcome.message}.`);
      }
    })();
  }

  /**
   * A reset (settings, trust, a password, any edit of the drift policy) drops the connections, and the
   * run on them stops. It resumes on the new connection when it finds its record there unfinished: the
   * verifier takes over from the last stored measurement. Before, the record stayed "running" with no
   * one measuring, in every window, after a mere edit of the policy file during a verification.
   */
  private interrupted(): void {
    // A resume still waiting for the new connection is carried over to the next one.
    const was = this.running ?? this.resumeAfterReset;
    this.stop('the connection was reset');
    if (!was || this.disposed) return;
    const resume = { key: was.key, revision: was.revision, publishedAtMs: was.publishedAtMs };
    this.resumeAfterReset = resume;
    void this.resume(resume);
  }

  private async resume(run: Omit<Run, 'abort'>): Promise<void> {
    let stored: VerificationRecord | undefined;
    let liveRevision: number | undefined;
    try {
      const [record, live] = await Promise.all([new VerificationStore(await this.connection.redis()).read(run.key, run.revision), (await this.connection.store()).read(run.key)]);
      stored = record;
      liveRevision = live?.envelope.revision;
    } catch (e) {
      if (this.resumeAfterReset === run) this.log.warn(`cannot resume the verification of ${run.key} revision ${run.revision}: ${e instanceof Error ? e.message : String(e)}`);
      return;
    }
    // A later reset carries it on, or a new verification started meanwhile.
    if (this.resumeAfterReset !== run || this.disposed || this.running) return;
    this.resumeAfterReset = undefined;
    // Finished: nothing to resume. Not stored yet (the reset came as the run began, seen in CI): resume
    // when the new connection's live document is that revision, so never on a Redis that lacks it.
    if (stored ? TERMINAL_STATES.has(stored.state) : liveRevision !== run.revision) return;
    this.log.info(`resuming the verification of ${run.key} revision ${run.revision} on the new connection`);
    await this.start(run.key, run.revision, run.publishedAtMs);
  }

  stop(reason: string): void {
    clearTimeout(this.followTimer);
    if (this.running) {
      this.log.info(`verification of ${this.running.key} revision ${this.running.revision} stopped here: ${reason}`);
      this.running.abort.abort();
      this.running = undefined;
    }
  }

  dispose(): void {
    this.disposed = true;
    this.stop('the window closed');
    for (const s of this.subscriptions) s.dispose();
  }
}
