import type { Redis } from 'ioredis';
import type { NatsConnection } from 'nats';
import * as vscode from 'vscode';
import { ConfigStore } from '../live/configStore';
import { redactSecrets, redactUrl } from '../live/connections';
import { connectNats } from '../live/natsConnection';
import { connectRedis } from '../live/redisConnection';
import { PolicyProblem, resolveLiveSettings, type LiveSettings } from './liveSettings';
import type { ComponentLog } from './log';
import type { Secrets } from './secrets';

export type LinkState = 'idle' | 'connecting' | 'connected' | 'reconnecting' | 'error';

export interface ConnectionState {
  redis: LinkState;
  nats: LinkState;
  redisLabel: string;
  natsLabel: string;
  /** Which drift policy is used: a workspace-relative path, or Cordum's defaults; empty before the first read. */
  policyLabel: string;
  /** Why DriftLens does not act on the policy (invalid, unreadable, several to choose from). */
  policyProblem?: string;
  policyProblemKind?: 'invalid' | 'unreadable' | 'ambiguous';
  lastError?: string;
}

export class UntrustedWorkspaceError extends Error {
  constructor() {
    super('DriftLens does not connect to Redis or NATS from an untrusted workspace. Trust the workspace to publish or watch replicas.');
  }
}

/**
 * The window's Redis and NATS connections, made on first use (ioredis and nats load then, not
 * at activation), rebuilt when settings or secrets change. The clients reconnect by themselves
 * with backoff; state changes go to the status bar and the log, never to a stream of popups.
 */
export class LiveConnection implements vscode.Disposable {
  private redisClient: Promise<Redis> | undefined;
  private natsClient: Promise<NatsConnection> | undefined;
  private cachedSettings: Promise<LiveSettings> | undefined;
  private readonly changed = new vscode.EventEmitter<ConnectionState>();
  readonly onDidChangeState = this.changed.event;
  private readonly settingsChanged = new vscode.EventEmitter<void>();
  /** Fires when settings, secrets, trust or the policy changed: everything built on them restarts. */
  readonly onDidReset = this.settingsChanged.event;
  private current: ConnectionState = { redis: 'idle', nats: 'idle', redisLabel: '', natsLabel: '', policyLabel: '' };
  private readonly subscriptions: vscode.Disposable[];

  constructor(
    private readonly secrets: Secrets,
    private readonly log: ComponentLog,
  ) {
    this.subscriptions = [
      this.changed,
      this.settingsChanged,
      secrets.onDidChange(() => void this.reset('a password or token changed')),
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration('driftlens.redis') || e.affectsConfiguration('driftlens.nats') || e.affectsConfiguration('driftlens.policyFile') || e.affectsConfiguration('driftlens.configKey') || e.affectsConfiguration('driftlens.history') || e.affectsConfiguration('driftlens.prometheus')) {
          void this.reset('settings changed');
        }
      }),
      vscode.workspace.onDidGrantWorkspaceTrust(() => void this.reset('the workspace is now trusted')),
    ];
    // The policy names the key, the subject, the budgets and default endpoints: follow its edits.
    const policyWatcher = vscode.workspace.createFileSystemWatcher('**/{drift-policy,*.drift-policy}.{yaml,yml}');
    // Debounced: an editor or a script may truncate and then write the file; read it once it settled.
    let policyTimer: NodeJS.Timeout | undefined;
    const policyChanged = () => {
      clearTimeout(policyTimer);
      policyTimer = setTimeout(() => void this.policyChanged(), 300);
    };
    this.subscriptions.push({ dispose: () => clearTimeout(policyTimer) });
    this.subscriptions.push(policyWatcher, policyWatcher.onDidChange(policyChanged), policyWatcher.onDidCreate(policyChanged), policyWatcher.onDidDelete(policyChanged));
    // driftlens.policyFile may name any file (ops/policy.yaml): watch it too, so its edits are
    // followed like those of a file the pattern above finds (rebuilt when the setting changes).
    let configuredWatcher: vscode.Disposable | undefined;
    const watchConfigured = () => {
      configuredWatcher?.dispose();
      configuredWatcher = undefined;
      const configured = vscode.workspace.getConfiguration('driftlens').get<string>('policyFile');
      const folder = vscode.workspace.workspaceFolders?.[0];
      if (!configured || !folder) return;
      const watcher = vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(folder, configured));
      configuredWatcher = vscode.Disposable.from(watcher, watcher.onDidChange(policyChanged), watcher.onDidCreate(policyChanged), watcher.onDidDelete(policyChanged));
    };
    watchConfigured();
    this.subscriptions.push(
      vscode.workspace.onDidChangeConfiguration((e) => e.affectsConfiguration('driftlens.policyFile') && watchConfigured()),
      { dispose: () => configuredWatcher?.dispose() },
    );
  }

  get state(): ConnectionState {
    return this.current;
  }

  private update(patch: Partial<ConnectionState>): void {
    this.current = { ...this.current, ...patch };
    this.changed.fire(this.current);
  }

  /**
   * The settings, read once per reset. Rejects with a PolicyProblem when the policy is invalid,
   * unreadable or one of several: nothing connects, watches or publishes on a guess.
   */
  settings(): Promise<LiveSettings> {
    return (this.cachedSettings ??= resolveLiveSettings(this.secrets).then(
      (s) => {
        const policyLabel = s.policyUri ? vscode.workspace.asRelativePath(s.policyUri) : "Cordum's defaults";
        if (policyLabel !== this.current.policyLabel || this.current.policyProblem) this.log.info(`using the drift policy ${policyLabel}`);
        this.update({ redisLabel: redactUrl(s.redis.url), natsLabel: s.nats.servers.map(redactUrl).join(', '), policyLabel, policyProblem: undefined, policyProblemKind: undefined });
        for (const note of s.secretNotes) this.log.warn(note);
        return s;
      },
      (e: unknown) => {
        if (e instanceof PolicyProblem) {
          if (e.message !== this.current.policyProblem) this.log.error(e.message);
          this.update({ policyLabel: e.uri ? vscode.workspace.asRelativePath(e.uri) : '', policyProblem: e.message, policyProblemKind: e.kind });
        }
        throw e;
      },
    ));
  }

  private secretsOf(s: LiveSettings): (string | undefined)[] {
    return [s.redis.password, s.nats.password, s.nats.token];
  }

  redis(): Promise<Redis> {
    if (!vscode.workspace.isTrusted) return Promise.reject(new UntrustedWorkspaceError());
    if (this.disposed) return Promise.reject(new Error('DriftLens is shutting down'));
    if (this.redisClient) return this.redisClient;
    const attempt: Promise<Redis> = (async () => {
      const current = () => this.redisClient === attempt;
      // Settings that cannot be read (a policy problem) fail this attempt only, and connect nothing;
      // fixing the policy resets the connection, and the next use makes a new attempt.
      const s = await this.settings().catch((e: unknown) => {
        if (current()) this.redisClient = undefined;
        throw e;
      });
      this.update({ redis: 'connecting' });
      this.log.info(`connecting to Redis at ${redactUrl(s.redis.url)}${s.redis.username ? ` as ${s.redis.username}` : ''}`);
      try {
        const client = await connectRedis(s.redis, {
          name: 'driftlens-vscode',
          onStatus: (status) => {
            // A client dropped by reset() still reports its own closing: not the current state.
            if (!current()) return;
            const state: LinkState = status === 'ready' ? 'connected' : status === 'end' ? 'idle' : status === 'reconnecting' || status === 'close' ? 'reconnecting' : this.current.redis;
            if (state !== this.current.redis) this.log.info(`Redis ${status}`);
            this.update({ redis: state });
          },
        });
        // A reset while connecting: nobody holds this client any more, so it must not stay open.
        if (!current()) {
          client.disconnect();
          throw new Error('the connection was reset while connecting; connect again');
        }
        this.update({ redis: 'connected' });
        return client;
      } catch (e) {
        const message = redactSecrets(e instanceof Error ? e.message : String(e), this.secretsOf(s));
        if (current()) {
          this.log.error(message);
          this.update({ redis: 'error', lastError: message });
          this.redisClient = undefined;
        } else {
          this.log.info(`a dropped connection attempt ended: ${message}`);
        }
        throw new Error(message);
      }
    })();
    this.redisClient = attempt;
    return attempt;
  }

  nats(): Promise<NatsConnection> {
    if (!vscode.workspace.isTrusted) return Promise.reject(new UntrustedWorkspaceError());
    if (this.disposed) return Promise.reject(new Error('DriftLens is shutting down'));
    if (this.natsClient) return this.natsClient;
    const attempt: Promise<NatsConnection> = (async () => {
      const current = () => this.natsClient === attempt;
      // Settings that cannot be read (a policy problem) fail this attempt only, and connect nothing;
      // fixing the policy resets the connection, and the next use makes a new attempt.
      const s = await this.settings().catch((e: unknown) => {
        if (current()) this.natsClient = undefined;
        throw e;
      });
      this.update({ nats: 'connecting' });
      this.log.info(`connecting to NATS at ${s.nats.servers.map(redactUrl).join(', ')}`);
      try {
        const client = await connectNats(s.nats, {
          name: 'driftlens-vscode',
          onStatus: (status) => {
            if (!current()) return;
            const state: LinkState = status.type === 'reconnect' ? 'connected' : status.type === 'disconnect' || status.type === 'reconnecting' ? 'reconnecting' : this.current.nats;
            if (state !== this.current.nats) this.log.info(`NATS ${status.type}`);
            this.update({ nats: state });
          },
        });
        if (!current()) {
          await client.close().catch(() => undefined);
          throw new Error('the connection was reset while connecting; connect again');
        }
        this.update({ nats: 'connected' });
        void client.closed().then(() => {
          if (!current()) return; // an old client closing after a reset must not drop the new one
          this.natsClient = undefined;
          this.update({ nats: 'idle' });
        });
        return client;
      } catch (e) {
        const message = redactSecrets(e instanceof Error ? e.message : String(e), this.secretsOf(s));
        if (current()) {
          this.log.error(message);
          this.update({ nats: 'error', lastError: message });
          this.natsClient = undefined;
        } else {
          this.log.info(`a dropped connection attempt ended: ${message}`);
        }
        throw new Error(message);
      }
    })();
    this.natsClient = attempt;
    return attempt;
  }

  async store(): Promise<ConfigStore> {
    const s = await this.settings();
    return new ConfigStore(await this.redis(), { historyLimit: s.historyLimit });
  }

  private disposed = false;

  /**
   * A policy edit usually changes budgets, the key or the subject, not where the servers are:
   * keep the connections then, and only tell the watchers to restart with the new policy.
   */
  private async policyChanged(): Promise<void> {
    const before = this.cachedSettings ? await this.cachedSettings.catch(() => undefined) : undefined;
    this.cachedSettings = undefined;
    const after = await this.settings().catch(() => undefined);
    const endpoints = (s: LiveSettings | undefined) => JSON.stringify(s ? [s.redis, s.nats] : null);
    if (before && after && endpoints(before) === endpoints(after)) {
      this.log.info('the drift policy changed; the connections stay');
      if (!this.disposed) this.settingsChanged.fire();
      return;
    }
    await this.reset('the drift policy changed');
  }

  /** Drops both connections (they are made again on next use). */
  async reset(reason: string): Promise<void> {
    const redis = this.redisClient;
    const nats = this.natsClient;
    this.redisClient = undefined;
    this.natsClient = undefined;
    this.cachedSettings = undefined;
    if (redis || nats) this.log.info(`reconnecting: ${reason}`);
    this.update({ redis: 'idle', nats: 'idle', lastError: undefined });
    if (!this.disposed) this.settingsChanged.fire();
    // An attempt still connecting closes its own client when it sees it was dropped (see redis()).
    await Promise.allSettled([redis?.then((r) => r.disconnect()), nats?.then((n) => n.close())]);
  }

  /** Closes both clients; deactivate() awaits it so no socket outlives the extension. */
  async close(): Promise<void> {
    this.disposed = true;
    await this.reset('shutting down');
  }

  dispose(): void {
    void this.close();
    for (const s of this.subscriptions) s.dispose();
  }
}
