import * as vscode from 'vscode';
import type { DriftModel } from '../core/convergence';
import { parseGoDuration } from '../core/duration';
import { DriftWatcher } from '../live/driftWatcher';
import type { LiveConnection } from './liveConnection';
import type { ComponentLog } from './log';

export type ReplicaViewState = 'loading' | 'disconnected' | 'empty' | 'ready';

/**
 * The drift model of this window, kept by a DriftWatcher on the window's connections. It starts
 * when someone looks (the view becomes visible, or the status bar summary is wanted) and restarts
 * when the connections change. Tree, status bar, lenses and diagnostics all read this one model.
 */
export class ReplicaModel implements vscode.Disposable {
  private watcher: DriftWatcher | undefined;
  private starting: Promise<void> | undefined;
  private current: DriftModel | undefined;
  private readonly changed = new vscode.EventEmitter<DriftModel | undefined>();
  readonly onDidChange = this.changed.event;
  private readonly subscriptions: vscode.Disposable[];
  private viewState: ReplicaViewState = 'loading';
  /** Someone asked to watch: after a connection reset, watch again on the new connections. */
  private wanted = false;

  constructor(
    private readonly connection: LiveConnection,
    private readonly log: ComponentLog,
  ) {
    this.subscriptions = [
      this.changed,
      // A reset drops the clients (and may change the policy, or follow a Connect click or a newly
      // trusted workspace): whoever asked to watch gets a watcher on the new connections.
      connection.onDidReset(() => this.restart()),
    ];
    this.setViewState('loading');
  }

  get model(): DriftModel | undefined {
    return this.current;
  }

  get state(): ReplicaViewState {
    return this.viewState;
  }

  private setViewState(state: ReplicaViewState): void {
    this.viewState = state;
    void vscode.commands.executeCommand('setContext', 'driftlens.replicas.state', state);
  }

  /** Starts watching (idempotent); resolves when the first model arrived or the connection failed. */
  ensureStarted(): Promise<void> {
    if (this.disposed) return Promise.resolve();
    this.wanted = true;
    if (this.watcher) return Promise.resolve();
    this.starting ??= this.start().finally(() => (this.starting = undefined));
    return this.starting;
  }

  private async start(): Promise<void> {
    if (!vscode.workspace.isTrusted) {
      this.setViewState('disconnected');
      return;
    }
    try {
      const [settings, redis, nats] = await Promise.all([this.connection.settings(), this.connection.redis(), this.connection.nats()]);
      const staleAfter = parseGoDuration(vscode.workspace.getConfiguration('driftlens').get<string>('replicas.staleAfter') ?? '15s') ?? 15_000;
      let first: () => void = () => undefined;
      const firstModel = new Promise<void>((resolve) => (first = resolve));
      const watcher = new DriftWatcher({
        redis,
        nats,
        configKey: settings.configKeyOverride ?? settings.policy.configKey,
        sections: settings.policy.sections,
        policy: settings.policy.slo,
        subject: settings.policy.subject,
        staleAfterMs: staleAfter,
        onModel: (model) => {
          this.current = model;
          this.setViewState(model.replicas.length === 0 ? 'empty' : 'ready');
          this.changed.fire(model);
          first();
        },
        onError: (e) => this.log.warn(`replica watch: ${e.message}`),
      });
      this.watcher = watcher;
      try {
        await watcher.start();
      } catch (e) {
        watcher.stop();
        this.watcher = undefined;
        throw e;
      }
      await firstModel;
      this.log.info(`watching replicas of ${settings.configKeyOverride ?? settings.policy.configKey}`);
    } catch (e) {
      this.log.warn(`cannot watch replicas: ${e instanceof Error ? e.message : String(e)}`);
      this.setViewState('disconnected');
    }
  }

  async refresh(): Promise<void> {
    if (!this.watcher) return this.ensureStarted();
    await this.watcher.refresh(true);
  }

  private restart(): void {
    this.watcher?.stop();
    this.watcher = undefined;
    this.current = undefined;
    this.setViewState(this.wanted ? 'loading' : 'disconnected');
    this.changed.fire(undefined);
    if (this.wanted && !this.disposed) void this.ensureStarted();
  }

  private disposed = false;

  dispose(): void {
    this.disposed = true;
    this.wanted = false;
    this.watcher?.stop();
    for (const s of this.subscriptions) s.dispose();
  }
}
