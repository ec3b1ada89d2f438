import { replicasSettled } from '../core/verification';
import { DriftWatcher, type DriftWatcherOptions } from './driftWatcher';

/**
 * Resolves when the replicas settled on `revision` (see replicasSettled), when `budgetMs` after
 * the publish ran out (the policy's notification_lost budget: verification starts regardless, the
 * drift view shows who is behind), or when `signal` aborts. Says which, for the progress line.
 */
export async function waitForConvergence(options: Omit<DriftWatcherOptions, 'onModel'> & { revision: number; publishedAtMs: number; budgetMs: number; signal: AbortSignal }): Promise<string> {
  const { revision, publishedAtMs, budgetMs, signal } = options;
  let watcher: DriftWatcher | undefined;
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  try {
    return await new Promise<string>((resolve, reject) => {
      if (signal.aborted) return resolve('stopped');
      onAbort = () => resolve('stopped');
      signal.addEventListener('abort', onAbort);
      timer = setTimeout(() => resolve(`the convergence budget (${Math.round(budgetMs / 1000)}s) ran out; measuring anyway`), Math.max(0, publishedAtMs + budgetMs - Date.now()));
      watcher = new DriftWatcher({
        ...options,
        onModel: (model) => {
          if (model.replicas.length === 0 && model.live?.revision === revision) resolve('no replica reports: measuring without waiting');
          else if (replicasSettled(model, revision)) resolve(`replicas settled on revision ${revision} (${model.summary})`);
        },
      });
      watcher.start().catch(reject);
    });
  } finally {
    clearTimeout(timer);
    if (onAbort) signal.removeEventListener('abort', onAbort);
    watcher?.stop();
  }
}
