import * as vscode from 'vscode';
import type { DriftModel } from '../core/convergence';
import { parseGoDuration } from '../core/duration';
import { DEFAULT_GONE_AFTER_MS, instancePatternProblem, registryServicesProblem, resolveRegistry } from '../core/instanceRegistry';
import type { DriftPolicy } from '../core/policy';
import { WatchSupervisor, type WatchPhase } from '../live/watchSupervisor';
import { UntrustedWorkspaceError, type LiveConnection } from './liveConnection';
import { PolicyProblem } from './liveSettings';
import type { ComponentLog } from './log';
import { SettingsProblem, showPolicyProblem, showSettingsProblem } from './policyProblems';

export type ReplicaViewState = 'loading' | 'disconnected' | 'empty' | 'ready' | 'policyInvalid' | 'policyAmbiguous' | 'settingsInvalid';

/**
 * The instance registry to read: the settings, else the drift policy, else Cordum's, checked as the
 * CLI checks --registry-pattern and --registry-services. Unchecked, a pattern without {id} parses no
 * key: the scan finds nobody yet counts as complete, so every replica turns "reporting only" and
 * no instance is ever "not reporting", silently.
 */
function registryOf(config: vscode.WorkspaceConfiguration, policy: DriftPolicy): { pattern: string; services: readonly string[] } {
  const rawPattern = config.get<unknown>('registry.keyPattern') || undefined;
  const services = config.get<unknown>('registry.services') ?? undefined;
  const refuse = (setting: string, why: string) => new SettingsProblem(setting, `The setting ${setting} is invalid: ${why}. DriftLens does not watch replicas until it is fixed.`);
  // settings.json takes any JSON: a number here is a settings problem, not a TypeError in the check.
  if (rawPattern !== undefined && typeof rawPattern !== 'string') throw refuse('driftlens.registry.keyPattern', `it must be a key pattern with {service} and {id}, like "cordum:instance:{service}:{id}", not ${JSON.stringify(rawPattern)}`);
  const keyPattern = rawPattern as string | undefined;
  if (services !== undefined && !Array.isArray(services)) throw refuse('driftlens.registry.services', `it must be a list of service names, like ["scheduler"] ([] turns the registry off), not ${JSON.stringify(services)}`);
  // Only a setting can be at fault: the policy's registry passed the policy schema's same rules.
  const patternProblem = keyPattern === undefined ? undefined : instancePatternProblem(keyPattern);
  if (patternProblem) throw refuse('driftlens.registry.keyPattern', patternProblem);
  const servicesProblem = services === undefined ? undefined : registryServicesProblem(services);
  if (servicesProblem) throw refuse('driftlens.registry.services', servicesProblem);
  return resolveRegistry(policy, { keyPattern, services: services as string[] | undefined });
}

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
  /** The policy or settings problem last shown as a notification: one popup per problem, not one per retry. */
  private shownProblem: string | undefined;
  private currentProblem: string | undefined;

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
        const registry = registryOf(config, settings.policy);
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

  /** Why nothing is watched, while a policy or settings problem stops it (the message shown to the user). */
  get problem(): string | undefined {
    return this.currentProblem;
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
    if (phase === 'watching') this.shownProblem = this.currentProblem = undefined;
    if (phase === 'failed' && error) {
      if (error instanceof PolicyProblem || error instanceof SettingsProblem) {
        this.setViewState(error instanceof SettingsProblem ? 'settingsInvalid' : error.kind === 'ambiguous' ? 'policyAmbiguous' : 'policyInvalid');
        this.currentProblem = error.message;
        this.log.error(error.message);
        if (this.shownProblem !== error.message) {
          this.shownProblem = error.message;
          if (error instanceof SettingsProblem) showSettingsProblem(error);
          else showPolicyProblem(error);
        }
      } else {
        this.currentProblem = undefined;
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
