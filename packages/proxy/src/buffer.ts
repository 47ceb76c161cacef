// A body buffer that keeps up to `memoryLimit` bytes in memory and spills the
// rest to a temporary file, with an optional total limit (0 = unlimited).
import { createReadStream } from 'node:fs';
import { open, unlink, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { randomBytes } from 'node:crypto';

export class BodyTooLargeError extends Error {
  constructor(readonly limit: number) {
    super(`body is larger than the limit of ${limit} bytes`);
    this.name = 'BodyTooLargeError';
  }
}

export class SpillBuffer {
  size = 0;
  private chunks: Buffer[] = [];
  private file: FileHandle | null = null;
  private path: string | null = null;
  private writing: Promise<void> = Promise.resolve();
  private disposed = false;

  constructor(
    private readonly memoryLimit: number,
    private readonly maxSize: number,
  ) {}

  get spilled(): boolean {
    return this.path !== null;
  }

  /**
   * Adds a chunk. Returns true when it was kept in memory, or a promise that
   * settles once it is on disk. Throws BodyTooLargeError past the limit.
   */
  write(chunk: Buffer): true | Promise<void> {
    if (chunk.length === 0) return true;
    this.size += chunk.length;
    if (this.maxSize > 0 && this.size > this.maxSize) throw new BodyTooLargeError(this.maxSize);
    if (this.path === null && this.size <= this.memoryLimit) {
      this.chunks.push(chunk);
      return true;
    }
    if (this.path === null) {
      const pending = this.chunks;
      this.chunks = [];
      pending.push(chunk);
      this.path = join(tmpdir(), `proxy-buffer-${process.pid}-${randomBytes(6).toString('hex')}`);
      const path = this.path;
      this.writing = (async () => {
        this.file = await open(path, 'wx', 0o600);
        await this.file.writev(pending);
      })();
      return this.writing;
    }
    this.writing = this.writing.then(async () => {
      await this.file!.write(chunk);
    });
    return this.writing;
  }

  /** Waits for pending disk writes. */
  async finish(): Promise<void> {
    await this.writing;
    if (this.file) {
      await this.file.close();
      this.file = null;
    }
  }

  /** The whole body: a Buffer when it stayed in memory, a stream from the file otherwise. */
  body(): Buffer | Readable {
    if (this.path === null)
      return this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.size);
    return createReadStream(this.path);
  }

  /** In-memory chunks (only meaningful when not spilled). */
  memoryChunks(): Buffer[] {
    return this.chunks;
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    this.chunks = [];
    try {
      await this.writing;
    } catch {
      /* the write already failed */
    }
    if (this.file) await this.file.close().catch(() => undefined);
    if (this.path) await unlink(this.path).catch(() => undefined);
  }
}

/** Reads a whole stream into a SpillBuffer, enforcing its limit. */
export async function bufferStream(source: Readable, buffer: SpillBuffer): Promise<void> {
  for await (const chunk of source) {
    const r = buffer.write(chunk as Buffer);
    if (r !== true) await r;
  }
  await buffer.finish();
}

export { Readable };
