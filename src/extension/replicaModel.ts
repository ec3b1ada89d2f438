import * as vscode from 'vscode';
import type { DriftModel } from '../core/convergence';
import { parseGoDuration } from '../core/duration';
import { DEFAULT_GONE_AFTER_MS, resolveRegistry } from '../core/instanceRegistry';
import { WatchSupervisor, type WatchPhase } from '../live/watchSupervisor';
import { UntrustedWorkspaceError, type LiveConnection } from './liveConnection';
import { PolicyProblem } from './liveSettings';
import type { ComponentLog } from './log';
import { showPolicyProblem } from './policyProblems';

export type ReplicaViewState = 'loading' | 'disconnected' | 'empty' | 'ready' | 'policyInvalid' | 'policyAmbiguous';

/**
 * The drift model of this window, kept by a DriftWatcher on the window's connections. It starts
 * when someone looks (the view becomes visible, or the status bar summary is wanted), restarts
 * when the connections change, and pauses while no consumer needs it (see replicaConsumers.ts).
 * Tree, status bar, lenses and diagnostics all read this one model. The WatchSupervisor makes
 * start, reset and pause race-free: a reset during the first read never leaves the view loading.
 */
export class ReplicaModel implements vscode.Disposable {
  private readonly supervisor: WatchSupervisor;
  private current: DriftModel | undefined;
  private readonly changed = new vscode.EventEmitter<DriftModel | undefined>();
  readonly onDidChange = this.changed.event;
  private readonly subscriptions: vscode.Disposable[];
  private viewState: ReplicaViewState = 'loading';
  /** The policy problem last shown as a notification: one popup per problem, not one per retry. */
  private shownProblem: string | undefined;

  constructor(
    private readonly connection: LiveConnection,
    private readonly log: ComponentLog,
  ) {
    this.supervisor = new WatchSupervisor({
      open: async () => {
        if (!vscode.workspace.isTrusted) throw new UntrustedWorkspaceError();
        const [settings, redis, nats] = await Promise.all([this.connection.settings(), this.connection.redis(), this.connection.nats()]);
        const config = vscode.workspace.getConfiguration('driftlens');
        const staleAfter = parseGoDuration(config.get<string>('replicas.staleAfter') ?? '15s') ?? 15_000;
        const goneAfter = parseGoDuration(config.get<string>('replicas.goneAfter') ?? '60s') ?? DEFAULT_GONE_AFTER_MS;
        const registry = resolveRegistry(settings.policy, { keyPattern: config.get<string>('registry.keyPattern') || undefined, services: config.get<string[] | null>('registry.services') ?? undefined });
        const configKey = settings.configKeyOverride ?? settings.policy.configKey;
        this.log.info(`watching replicas of ${configKey}`);
        return {
          redis,
          nats,
          configKey,
          sections: settings.policy.sections,
          policy: settings.policy.slo,
          subject: settings.policy.subject,
          staleAfterMs: staleAfter,
          // The durable re-read catches what NATS missed: no slower than the replicas themselves poll.
          pollMs: Math.min(5000, settings.policy.pollIntervalMs),
          registry: { ...registry, goneAfterMs: goneAfter },
          onLeft: (_member: string, message: string) => this.log.info(message),
          onWarning: (message: string) => this.log.warn(message),
        };
      },
      onModel: (model) => {
        this.current = model;
        this.setViewState(model.replicas.length === 0 ? 'empty' : 'ready');
        this.changed.fire(model);
      },
      onPhase: (phase, error) => this.phaseChanged(phase, error),
      onError: (e) => this.log.warn(`replica watch: ${e.message}`),
    });
    this.subscriptions = [
      this.changed,
      // A reset drops the clients (and may change the policy, or follow a Connect click or a newly
      // trusted workspace): whoever asked to watch gets a fresh watcher on the new connections.
      connection.onDidReset(() => void this.restart()),
      // The registry and the replica timings are read when a watch starts: a change needs a new one.
      vscode.workspace.onDidChangeConfiguration((e) => (e.affectsConfiguration('driftlens.registry') || e.affectsConfiguration('driftlens.replicas')) && void this.restart()),
    ];
    this.setViewState('loading');
  }

  get model(): DriftModel | undefined {
    return this.current;
  }

  get state(): ReplicaViewState {
    return this.viewState;
  }

  /** True while watching is paused because no consumer needs the model (the last model is kept, aging). */
  get paused(): boolean {
    return this.supervisor.phase === 'paused';
  }

  /** Full Redis reads made for this model so far (for the tests of pausing). */
  get reads(): number {
    return this.supervisor.reads;
  }

  private setViewState(state: ReplicaViewState): void {
    this.viewState = state;
    void vscode.commands.executeCommand('setContext', 'driftlens.replicas.state', state);
  }

  private phaseChanged(phase: WatchPhase, error?: Error): void {
    if (phase === 'paused') this.log.info('replica watch paused: no view, lens or editor needs it');
    if (phase === 'loading' && !this.current) this.setViewState('loading');
    if (phase === 'watching') this.shownProblem = undefined;
    if (phase === 'failed' && error) {
      if (error instanceof PolicyProblem) {
        this.setViewState(error.kind === 'ambiguous' ? 'policyAmbiguous' : 'policyInvalid');
        this.log.error(error.message);
        if (this.shownProblem !== error.message) {
          this.shownProblem = error.message;
          showPolicyProblem(error);
        }
      } else {
        this.log.warn(`cannot watch replicas: ${error.message}`);
        this.setViewState('disconnected');
      }
      this.current = undefined;
    }
    // The status bar shows "paused" and the tree its state: both follow the phase, not only models.
    this.changed.fire(this.current);
  }

  /** Starts watching (idempotent); resolves when the first model arrived or the attempt failed. */
  ensureStarted(): Promise<void> {
    if (this.disposed) return Promise.resolve();
    if (!vscode.workspace.isTrusted) {
      this.setViewState('disconnected');
      return Promise.resolve();
    }
    return this.supervisor.ensureStarted();
  }

  /** Whether a view, lens or editor needs live data now; see replicaConsumers.ts. */
  setNeeded(needed: boolean): void {
    this.supervisor.setNeeded(needed);
  }

  async refresh(): Promise<void> {
    const watcher = this.supervisor.current;
    if (!watcher || this.supervisor.phase !== 'watching') return this.ensureStarted();
    await watcher.refresh(true);
  }

  /** A fresh attempt on the current connections and policy (never the promise of an older one). */
  private restart(): Promise<void> {
    this.current = undefined;
    this.changed.fire(undefined);
    this.setViewState(vscode.workspace.isTrusted ? 'loading' : 'disconnected');
    return this.supervisor.restart();
  }

  private disposed = false;

  dispose(): void {
    this.disposed = true;
    this.supervisor.close();
    for (const s of this.subscriptions) s.dispose();
  }
}
