// Pause / stop / resume for one service. Paused requests wait (up to the
// max pause, then 504); stopped requests get 503 with the stop message.

export type PauseState = 'running' | 'paused' | 'stopped';

export interface PauseSnapshot {
  state: PauseState;
  stopMessage: string;
  pauseTimeoutMs: number;
}

/** What a waiting request learns: go on, or answer with an error status. */
export type PauseOutcome = { proceed: true } | { proceed: false; status: 503 | 504; message: string };

const PROCEED: PauseOutcome = { proceed: true };

export class PauseController {
  state: PauseState = 'running';
  stopMessage = '';
  pauseTimeoutMs = 30_000;
  private waiters = new Set<(outcome: PauseOutcome) => void>();

  snapshot(): PauseSnapshot {
    return { state: this.state, stopMessage: this.stopMessage, pauseTimeoutMs: this.pauseTimeoutMs };
  }

  restore(s: PauseSnapshot): void {
    this.state = s.state;
    this.stopMessage = s.stopMessage;
    this.pauseTimeoutMs = s.pauseTimeoutMs;
  }

  pause(timeoutMs: number): void {
    this.state = 'paused';
    this.pauseTimeoutMs = timeoutMs;
  }

  stop(message: string): void {
    this.state = 'stopped';
    this.stopMessage = message;
    this.release({ proceed: false, status: 503, message });
  }

  resume(): void {
    this.state = 'running';
    this.stopMessage = '';
    this.release(PROCEED);
  }

  /** Waits while paused; resolves at once when running or stopped. */
  wait(): Promise<PauseOutcome> | PauseOutcome {
    if (this.state === 'running') return PROCEED;
    if (this.state === 'stopped') return { proceed: false, status: 503, message: this.stopMessage };
    return new Promise((resolve) => {
      const waiter = (outcome: PauseOutcome): void => {
        clearTimeout(timer);
        this.waiters.delete(waiter);
        resolve(outcome);
      };
      const timer = setTimeout(
        () => waiter({ proceed: false, status: 504, message: '' }),
        this.pauseTimeoutMs,
      );
      this.waiters.add(waiter);
    });
  }

  /** Drops a waiter whose client went away. */
  get waiting(): number {
    return this.waiters.size;
  }

  private release(outcome: PauseOutcome): void {
    for (const w of [...this.waiters]) w(outcome);
  }
}
