import type { DriftModel } from '../core/convergence';
import { DriftWatcher, type DriftWatcherOptions } from './driftWatcher';

/**
 * Runs one DriftWatcher at a time through connection resets, pauses and shutdown, without races:
 *
 * - Every attempt to watch has its own AbortController. restart(), pause() and close() abort the
 *   attempt in flight and stop its watcher at once, so a first read that finishes after a reset
 *   leaves nothing behind (no model from the old connections, no timer, no subscription).
 * - restart() always makes a fresh attempt: nobody is handed an older attempt's promise.
 * - ensureStarted() resolves when the newest attempt has its first model or has failed; an
 *   aborted attempt hands its waiters on to the attempt that replaced it.
 *
 * It watches while someone wants the model (`ensureStarted()` was called) and someone needs it
 * now (`setNeeded(true)`, the default); see ReplicaModel for who needs it in VS Code.
 */

export type WatchPhase = 'idle' | 'loading' | 'watching' | 'paused' | 'failed';

export interface WatchSupervisorOptions {
  /** What one attempt watches: connections, key and policy. The signal aborts when the attempt is superseded. */
  open: (signal: AbortSignal) => Promise<Omit<DriftWatcherOptions, 'onModel' | 'onError'>>;
  onModel: (model: DriftModel) => void;
  /** Phase changes; `error` is set with 'failed'. */
  onPhase?: (phase: WatchPhase, error?: Error) => void;
  /** A later read failed (the watcher goes on and retries on its next poll). */
  onError?: (error: Error) => void;
}

interface Attempt {
  controller: AbortController;
  done: Promise<void>;
}

export class WatchSupervisor {
  private attempt: Attempt | undefined;
  private watcher: DriftWatcher | undefined;
  private wanted = false;
  private needed = true;
  private closed = false;
  private phaseNow: WatchPhase = 'idle';
  /** Full reads by watchers already stopped (see `reads`). */
  private finishedReads = 0;

  constructor(private readonly options: WatchSupervisorOptions) {}

  get phase(): WatchPhase {
    return this.phaseNow;
  }

  /** Full Redis reads made by all watchers so far: it stands still while paused. */
  get reads(): number {
    return this.finishedReads + (this.watcher?.stats.refreshes ?? 0);
  }

  /** Timers owned by the running watcher (0 when none runs): a stopped attempt owns none. */
  get activeTimers(): number {
    return this.watcher?.activeTimers ?? 0;
  }

  /** The running watcher, for refreshes and statistics. */
  get current(): DriftWatcher | undefined {
    return this.watcher;
  }

  private setPhase(phase: WatchPhase, error?: Error): void {
    this.phaseNow = phase;
    this.options.onPhase?.(phase, error);
  }

  /** Someone wants the model: watch (when needed) and resolve once the first model arrived or the attempt failed. */
  ensureStarted(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.wanted = true;
    if (!this.needed) return Promise.resolve();
    if (this.watcher && !this.attempt) return Promise.resolve();
    return this.settled(this.attempt ?? this.launch());
  }

  /** Whether any consumer needs the model now; without one the watcher stops and resumes with a fresh read later. */
  setNeeded(needed: boolean): void {
    if (this.needed === needed || this.closed) return;
    this.needed = needed;
    if (!needed) {
      this.halt();
      if (this.wanted) this.setPhase('paused');
    } else if (this.wanted) {
      void this.settled(this.launch());
    }
  }

  get isNeeded(): boolean {
    return this.needed;
  }

  /** Drops the current attempt and watcher; watches again at once (a fresh attempt) when wanted and needed. */
  restart(): Promise<void> {
    this.halt();
    if (this.closed || !this.wanted) {
      this.setPhase('idle');
      return Promise.resolve();
    }
    if (!this.needed) {
      this.setPhase('paused');
      return Promise.resolve();
    }
    return this.settled(this.launch());
  }

  /** Forgets that anyone wanted the model (stops watching until the next ensureStarted). */
  close(): void {
    this.closed = true;
    this.wanted = false;
    this.halt();
  }

  private halt(): void {
    this.attempt?.controller.abort();
    this.attempt = undefined;
    if (this.watcher) {
      this.watcher.stop();
      this.finishedReads += this.watcher.stats.refreshes;
      this.watcher = undefined;
    }
  }

  /** Waits for an attempt, then for whichever attempt replaced it while it ran. */
  private async settled(attempt: Attempt): Promise<void> {
    let current: Attempt | undefined = attempt;
    while (current) {
      await current.done;
      current = this.attempt && this.attempt !== current ? this.attempt : undefined;
    }
  }

  private launch(): Attempt {
    this.halt();
    const controller = new AbortController();
    const { signal } = controller;
    const aborted = new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
    this.setPhase('loading');
    const done = (async () => {
      try {
        const watchOptions = await Promise.race([this.options.open(signal), aborted]);
        if (signal.aborted || !watchOptions) return;
        let first: () => void = () => undefined;
        const firstModel = new Promise<void>((resolve) => (first = resolve));
        const watcher = new DriftWatcher({
          ...watchOptions,
          onModel: (model) => {
            if (this.watcher !== watcher) return;
            this.options.onModel(model);
            first();
          },
          onError: (e) => this.watcher === watcher && this.options.onError?.(e),
        });
        this.watcher = watcher;
        await Promise.race([watcher.start().then((watching) => (watching ? firstModel : undefined)), aborted]);
        if (!signal.aborted) this.setPhase('watching');
      } catch (e) {
        if (signal.aborted) return;
        this.halt();
        this.setPhase('failed', e instanceof Error ? e : new Error(String(e)));
      } finally {
        if (this.attempt?.controller === controller) this.attempt = undefined;
      }
    })();
    this.attempt = { controller, done };
    return this.attempt;
  }
}
