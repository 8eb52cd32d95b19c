// The few Node.js declarations index.d.ts and example-app.ts use, so that `tsc` checks them with
// no @types/node (nothing is fetched from npm). Only what is used, typed as Node 20 has it.
declare module 'node:events' {
  export class EventEmitter {
    on(event: string | symbol, listener: (...args: any[]) => void): this;
    once(event: string | symbol, listener: (...args: any[]) => void): this;
    off(event: string | symbol, listener: (...args: any[]) => void): this;
    emit(event: string | symbol, ...args: any[]): boolean;
  }
}
interface Buffer extends Uint8Array {
  toString(encoding?: 'utf8' | 'base64' | 'hex'): string;
}
declare var Buffer: { from(text: string, encoding?: 'utf8' | 'base64'): Buffer; byteLength(text: string): number };
interface AbortSignal {
  readonly aborted: boolean;
  readonly reason: unknown;
}
declare var AbortSignal: { timeout(ms: number): AbortSignal; abort(reason?: unknown): AbortSignal };
declare class AbortController {
  readonly signal: AbortSignal;
  abort(reason?: unknown): void;
}
declare var process: {
  env: Record<string, string | undefined>;
  stdout: { write(text: string): boolean };
  exitCode: number | undefined;
};
declare var console: { log(...args: unknown[]): void; error(...args: unknown[]): void };
declare module 'node:stream' {
  import { EventEmitter } from 'node:events';
  export class Readable extends EventEmitter {
    [Symbol.asyncIterator](): AsyncIterableIterator<Buffer>;
    pipe<T>(destination: T): T;
    destroy(error?: Error): this;
  }
}
