// Locks the app after a period without user input. The clock and the timer
// functions are parameters so that tests drive them by hand.

export interface TimerFunctions {
  now(): number;
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const browserTimers: TimerFunctions = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => window.setTimeout(callback, ms),
  clearTimeout: (handle) => window.clearTimeout(handle as number),
};

export class LockTimer {
  private lastActivity: number;
  private handle: unknown = null;
  private fired = false;

  /** `seconds` of 0 never locks. */
  constructor(
    private seconds: number,
    private readonly onLock: () => void,
    private readonly timers: TimerFunctions = browserTimers,
  ) {
    this.lastActivity = timers.now();
    this.schedule();
  }

  /** User input: pushes the deadline back. Cheap enough to call on every event. */
  activity(): void {
    if (this.fired) return;
    this.lastActivity = this.timers.now();
  }

  /** Locks now if the deadline passed while timers were throttled (a hidden tab, a sleeping laptop). */
  check(): void {
    if (this.fired || this.remaining() !== 0) return;
    this.stop();
    this.fired = true;
    this.onLock();
  }

  setTimeout(seconds: number): void {
    this.seconds = seconds;
    this.lastActivity = this.timers.now();
    this.schedule();
  }

  /** Milliseconds until the lock, or null when it never locks. */
  remaining(): number | null {
    if (this.seconds <= 0) return null;
    return Math.max(0, this.lastActivity + this.seconds * 1000 - this.timers.now());
  }

  stop(): void {
    if (this.handle !== null) this.timers.clearTimeout(this.handle);
    this.handle = null;
  }

  // The timer wakes at the deadline computed when it was set; activity since
  // then moves the deadline, so it re-arms for the remainder instead of
  // resetting a browser timer on every key press.
  private schedule(): void {
    this.stop();
    const remaining = this.remaining();
    if (remaining === null || this.fired) return;
    this.handle = this.timers.setTimeout(() => {
      this.handle = null;
      const left = this.remaining();
      if (left !== null && left > 0) {
        this.schedule();
        return;
      }
      this.fired = true;
      this.onLock();
    }, remaining);
  }
}
