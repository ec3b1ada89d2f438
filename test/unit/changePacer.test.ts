import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { ChangePacer, TREE_CHANGE_SPACING_MS, type PacerClock } from '../../src/core/changePacer';

// The Replicas view's changes reach VS Code through this pacer: VS Code's extension host passes a
// tree view's change on at once only after a quiet 200 ms, and each change during its wait restarts
// it. These tests drive the pacer on a clock of their own.

class FakeClock implements PacerClock {
  t = 0;
  private timers: { at: number; callback: () => void; id: number }[] = [];
  private nextId = 1;
  now(): number {
    return this.t;
  }
  setTimeout(callback: () => void, ms: number): unknown {
    const id = this.nextId++;
    this.timers.push({ at: this.t + ms, callback, id });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.timers = this.timers.filter((t) => t.id !== handle);
  }
  get pending(): number {
    return this.timers.length;
  }
  /** Moves time on, running each timer at its time. */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      this.timers.sort((a, b) => a.at - b.at);
      const next = this.timers[0];
      if (!next || next.at > end) break;
      this.timers.shift();
      this.t = next.at;
      next.callback();
    }
    this.t = end;
  }
}

type Delivery = { at: number; whole: boolean; rows: string[] };

function pacerOn(clock: FakeClock, handsOver: (change: { whole: boolean; rows: string[] }) => boolean = (c) => c.whole || c.rows.length > 0) {
  const deliveries: Delivery[] = [];
  const pacer = new ChangePacer<string>((change) => {
    deliveries.push({ at: clock.now(), ...change });
    return handsOver(change);
  }, TREE_CHANGE_SPACING_MS, clock);
  return { pacer, deliveries };
}

test('a change after a quiet spell is delivered at once; changes during the spacing are merged into one delivery when it ends', () => {
  const clock = new FakeClock();
  const { pacer, deliveries } = pacerOn(clock);
  pacer.add(['a']);
  pacer.flush();
  assert.deepEqual(deliveries, [{ at: 0, whole: false, rows: ['a'] }]);
  clock.advance(50);
  pacer.add(['b']);
  pacer.flush();
  clock.advance(50);
  pacer.add(['c', 'b']);
  pacer.flush();
  assert.equal(deliveries.length, 1, 'held while VS Code would still be debouncing');
  clock.advance(TREE_CHANGE_SPACING_MS);
  assert.deepEqual(deliveries[1], { at: TREE_CHANGE_SPACING_MS, whole: false, rows: ['b', 'c'] }, 'merged, each row once, at the end of the spacing');
  clock.advance(1000);
  pacer.add(['d']);
  pacer.flush();
  assert.deepEqual(deliveries[2], { at: clock.t, whole: false, rows: ['d'] }, 'after a quiet spell, at once again');
});

test('a whole refresh stands for the rows pending with it, and a person\'s own action is delivered at once', () => {
  const clock = new FakeClock();
  const { pacer, deliveries } = pacerOn(clock);
  pacer.add(['a']);
  pacer.flush();
  clock.advance(10);
  pacer.add(['b']);
  pacer.flush();
  pacer.add([], true);
  pacer.flush();
  clock.advance(TREE_CHANGE_SPACING_MS);
  assert.deepEqual(deliveries[1], { at: TREE_CHANGE_SPACING_MS, whole: true, rows: [] });
  clock.advance(20);
  pacer.add(['c']);
  pacer.flush(true);
  assert.deepEqual(deliveries[2], { at: clock.t, whole: false, rows: ['c'] }, 'a filter click does not wait');
  assert.ok(clock.t - deliveries[1].at < TREE_CHANGE_SPACING_MS);
  assert.equal(clock.pending, 0);
});

test('a delivery that handed nothing over (no row, message unchanged) does not hold the next one back', () => {
  const clock = new FakeClock();
  const { pacer, deliveries } = pacerOn(clock);
  pacer.flush();
  assert.deepEqual(deliveries, [{ at: 0, whole: false, rows: [] }], 'an empty delivery still lets the message be brought up to date');
  clock.advance(10);
  pacer.add(['a']);
  pacer.flush();
  assert.deepEqual(deliveries[1], { at: 10, whole: false, rows: ['a'] });
});

test('dispose drops what is pending: nothing is delivered after it', () => {
  const clock = new FakeClock();
  const { pacer, deliveries } = pacerOn(clock);
  pacer.add(['a']);
  pacer.flush();
  pacer.add(['b']);
  pacer.flush();
  pacer.dispose();
  clock.advance(10_000);
  assert.equal(deliveries.length, 1);
});

test('property: deliveries are spaced past VS Code\'s debounce, no row is lost, and none waits longer than the spacing', () => {
  const step = fc.record({
    waitMs: fc.integer({ min: 0, max: 400 }),
    rows: fc.uniqueArray(fc.constantFrom('a', 'b', 'c', 'd', 'e'), { maxLength: 3 }),
    whole: fc.boolean(),
    now: fc.boolean(),
  });
  fc.assert(
    fc.property(fc.array(step, { maxLength: 40 }), (steps) => {
      const clock = new FakeClock();
      const { pacer, deliveries } = pacerOn(clock);
      const added: { at: number; row: string | 'whole' }[] = [];
      const urgent = new Set<number>();
      for (const s of steps) {
        clock.advance(s.waitMs);
        const whole = s.whole && s.rows.length === 0;
        pacer.add(s.rows, whole);
        for (const row of s.rows) added.push({ at: clock.t, row });
        if (whole) added.push({ at: clock.t, row: 'whole' });
        if (s.now) urgent.add(clock.t);
        pacer.flush(s.now);
      }
      clock.advance(10_000);
      const handedOver = deliveries.filter((d) => d.whole || d.rows.length > 0);
      // Spaced, except where a person's action asked for at once.
      for (let i = 1; i < handedOver.length; i++) {
        const gap = handedOver[i].at - handedOver[i - 1].at;
        if (!urgent.has(handedOver[i].at)) assert.ok(gap >= TREE_CHANGE_SPACING_MS, `deliveries ${gap} ms apart`);
      }
      // Every change is delivered (by itself, or by a whole refresh) no later than the spacing after it came.
      for (const a of added) {
        const by = handedOver.find((d) => d.at >= a.at && (d.whole || d.rows.includes(a.row)));
        assert.ok(by, `${a.row} added at ${a.at} never delivered`);
        assert.ok(by.at - a.at <= TREE_CHANGE_SPACING_MS, `${a.row} waited ${by.at - a.at} ms`);
      }
      assert.equal(clock.pending, 0, 'nothing left scheduled');
    }),
    { numRuns: 2000 },
  );
});
