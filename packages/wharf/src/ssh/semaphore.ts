/** A counting semaphore with an adjustable limit (FIFO waiters). */
export class Semaphore {
  private active = 0;
  private readonly waiters: (() => void)[] = [];

  constructor(private limitValue: number) {
    if (!(limitValue >= 1)) throw new Error(`semaphore limit must be at least 1, got ${limitValue}`);
  }

  get limit(): number {
    return this.limitValue;
  }

  get inUse(): number {
    return this.active;
  }

  get waiting(): number {
    return this.waiters.length;
  }

  /** Lowers (or raises) the limit; holders above a lowered limit keep their slots until release. */
  setLimit(limit: number): void {
    this.limitValue = Math.max(1, limit);
    this.drain();
  }

  acquire(): Promise<() => void> {
    return new Promise((resolve) => {
      this.waiters.push(() => {
        this.active++;
        let released = false;
        resolve(() => {
          if (released) return;
          released = true;
          this.active--;
          this.drain();
        });
      });
      this.drain();
    });
  }

  async use<T>(fn: () => Promise<T>): Promise<T> {
    const release = await this.acquire();
    try {
      return await fn();
    } finally {
      release();
    }
  }

  private drain(): void {
    while (this.active < this.limitValue && this.waiters.length > 0) this.waiters.shift()!();
  }
}
