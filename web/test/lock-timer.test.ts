import { describe, expect, it } from "vitest";
import { LockTimer, type TimerFunctions } from "../src/lock-timer";

/** A hand-driven clock with one pending timer at a time. */
class FakeTimers implements TimerFunctions {
  time = 0;
  private pending: { at: number; callback: () => void; id: number }[] = [];
  private nextId = 1;
  now(): number {
    return this.time;
  }
  setTimeout(callback: () => void, ms: number): unknown {
    const id = this.nextId++;
    this.pending.push({ at: this.time + ms, callback, id });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.pending = this.pending.filter((timer) => timer.id !== handle);
  }
  advance(ms: number): void {
    const end = this.time + ms;
    for (;;) {
      const due = this.pending.filter((timer) => timer.at <= end).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      this.pending = this.pending.filter((timer) => timer !== due);
      this.time = due.at;
      due.callback();
    }
    this.time = end;
  }
  get count(): number {
    return this.pending.length;
  }
}

describe("LockTimer", () => {
  it("locks after the timeout without activity", () => {
    const timers = new FakeTimers();
    let locks = 0;
    new LockTimer(60, () => (locks += 1), timers);
    timers.advance(59_999);
    expect(locks).toBe(0);
    timers.advance(1);
    expect(locks).toBe(1);
    timers.advance(600_000);
    expect(locks).toBe(1);
  });

  it("pushes the deadline back on activity without re-arming on every event", () => {
    const timers = new FakeTimers();
    let locks = 0;
    const timer = new LockTimer(60, () => (locks += 1), timers);
    timers.advance(50_000);
    timer.activity();
    timer.activity();
    expect(timers.count).toBe(1);
    timers.advance(59_000);
    expect(locks).toBe(0);
    expect(timer.remaining()).toBe(1_000);
    timers.advance(1_000);
    expect(locks).toBe(1);
  });

  it("never locks with a timeout of 0, and follows a changed timeout", () => {
    const timers = new FakeTimers();
    let locks = 0;
    const timer = new LockTimer(0, () => (locks += 1), timers);
    timers.advance(10_000_000);
    expect(locks).toBe(0);
    expect(timer.remaining()).toBeNull();
    timer.setTimeout(5);
    timers.advance(5_000);
    expect(locks).toBe(1);
  });

  it("stops", () => {
    const timers = new FakeTimers();
    let locks = 0;
    const timer = new LockTimer(1, () => (locks += 1), timers);
    timer.stop();
    timers.advance(10_000);
    expect(locks).toBe(0);
  });
});

describe("LockTimer.check", () => {
  it("locks at once when the deadline passed while the timer was throttled", () => {
    let time = 0;
    const timers: TimerFunctions = {
      now: () => time,
      // A throttled browser: the timer never fires on its own.
      setTimeout: () => 1,
      clearTimeout: () => undefined,
    };
    let locks = 0;
    const timer = new LockTimer(60, () => (locks += 1), timers);
    time = 30_000;
    timer.check();
    expect(locks).toBe(0);
    time = 10 * 60_000;
    timer.check();
    timer.activity();
    timer.check();
    expect(locks).toBe(1);
  });
});
