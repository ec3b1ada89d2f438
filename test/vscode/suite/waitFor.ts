import * as vscode from 'vscode';

/**
 * Resolves with check()'s first truthy result, re-checking whenever one of the events fires.
 * No sleeps: the timeout only bounds the wait, and its error says what was awaited and what was seen.
 */
export function waitFor<T>(what: string, check: () => T | undefined | false | Promise<T | undefined | false>, events: vscode.Event<unknown>[], timeoutMs = 20_000): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let last: unknown;
    let done = false;
    const subscriptions: vscode.Disposable[] = [];
    const finish = (error: Error | undefined, value?: T) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      for (const s of subscriptions) s.dispose();
      if (error) reject(error);
      else resolve(value as T);
    };
    const attempt = async () => {
      try {
        const value = await check();
        last = value;
        if (value) finish(undefined, value);
      } catch (e) {
        last = e;
      }
    };
    const timer = setTimeout(() => finish(new Error(`Timed out after ${timeoutMs} ms waiting for ${what}; last check gave: ${String(last instanceof Error ? last.message : JSON.stringify(last))}`)), timeoutMs);
    for (const event of events) subscriptions.push(event(() => void attempt()));
    void attempt();
  });
}
