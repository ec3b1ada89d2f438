/**
 * Paces a tree view's changes for VS Code, without `vscode`. The extension host debounces a tree
 * view's changes (its message included) by 200 ms: it passes the first change after a quiet 200 ms
 * on at once, but every change that comes while it waits restarts the wait. Changes fired as they
 * came, about one per 200 ms at 1,000 replicas, kept restarting it, and rows were redrawn in waves
 * about once a second (fleet bench: report to row p99 1.28 s). Fired at least `spacingMs` apart,
 * every fire is the first after a quiet spell and is refreshed at once; what changes meanwhile is
 * merged into the next fire.
 */

/** VS Code's debounce of tree changes (ExtHostTreeView), plus a margin for timer jitter. */
export const TREE_CHANGE_SPACING_MS = 200 + 15;

export interface PacerClock {
  now(): number;
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const realClock: PacerClock = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

export class ChangePacer<T> {
  private readonly rows = new Set<T>();
  private whole = false;
  private lastDeliveryMs = Number.NEGATIVE_INFINITY;
  private timer: unknown;

  /**
   * `deliver` hands the merged changes to VS Code (`whole`: everything, and `rows` is empty) and
   * says whether it handed over anything, the view's message included: an empty delivery still
   * lets the caller bring the message up to date.
   */
  constructor(
    private readonly deliver: (change: { whole: boolean; rows: T[] }) => boolean,
    private readonly spacingMs = TREE_CHANGE_SPACING_MS,
    private readonly clock: PacerClock = realClock,
  ) {}

  /** Rows that changed; `whole` when everything did. */
  add(rows: Iterable<T>, whole = false): void {
    if (whole) this.whole = true;
    else for (const row of rows) this.rows.add(row);
  }

  /** Delivers what is pending now if the spacing allows (or `now`: a person's own action), else when it does. */
  flush(now = false): void {
    if (this.timer !== undefined) {
      if (!now) return;
      this.clock.clearTimeout(this.timer);
      this.timer = undefined;
    }
    const wait = this.lastDeliveryMs + this.spacingMs - this.clock.now();
    if (!now && wait > 0 && (this.whole || this.rows.size > 0)) {
      this.timer = this.clock.setTimeout(() => {
        this.timer = undefined;
        this.flush();
      }, wait);
      return;
    }
    const change = { whole: this.whole, rows: this.whole ? [] : [...this.rows] };
    this.rows.clear();
    this.whole = false;
    if (this.deliver(change)) this.lastDeliveryMs = this.clock.now();
  }

  dispose(): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.rows.clear();
  }
}
