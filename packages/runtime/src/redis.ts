import net from 'node:net';
import { DfcError } from './errors.js';

/**
 * A minimal Redis client (RESP2 over one TCP connection) for the few commands the
 * runtime's shared counters need. Commands are pipelined in order; the connection opens
 * on first use and again after any failure; a command that gets no reply in time fails
 * and drops the connection (so a hung server never holds requests).
 */

export type RespValue = string | number | null | RespValue[];

export class RedisReplyError extends Error {
  override name = 'RedisReplyError';
}

export interface RedisOptions {
  /** Milliseconds to connect. @default 1000 */
  connectTimeoutMs?: number;
  /** Milliseconds for a reply. @default 1000 */
  commandTimeoutMs?: number;
}

interface Pending {
  resolve(v: RespValue): void;
  reject(e: Error): void;
}

export class RedisClient {
  readonly #host: string;
  readonly #port: number;
  readonly #password: string | undefined;
  readonly #username: string | undefined;
  readonly #db: number;
  readonly #connectTimeout: number;
  readonly #commandTimeout: number;
  #socket: net.Socket | undefined;
  #ready: Promise<net.Socket> | undefined;
  #pending: Pending[] = [];
  #buffer: Buffer = Buffer.alloc(0);
  #closed = false;

  /** `redis://[user:password@]host[:port][/db]` */
  constructor(url: string, opts: RedisOptions = {}) {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      throw new DfcError('DFC_ERR_SERVER_CONFIG', 'the redis url is not a url', { note: 'write it as `redis://host:6379/0`' });
    }
    if (u.protocol !== 'redis:') throw new DfcError('DFC_ERR_SERVER_CONFIG', 'the redis url must start with `redis://`');
    this.#host = u.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1';
    this.#port = u.port ? Number(u.port) : 6379;
    this.#username = u.username ? decodeURIComponent(u.username) : undefined;
    this.#password = u.password ? decodeURIComponent(u.password) : undefined;
    const db = u.pathname.replace(/^\//, '');
    this.#db = db === '' ? 0 : Number(db);
    if (!Number.isInteger(this.#db) || this.#db < 0) throw new DfcError('DFC_ERR_SERVER_CONFIG', 'the redis database in the url is not a number');
    this.#connectTimeout = opts.connectTimeoutMs ?? 1000;
    this.#commandTimeout = opts.commandTimeoutMs ?? 1000;
  }

  async command(args: readonly (string | number)[]): Promise<RespValue> {
    if (this.#closed) throw new Error('the redis client is closed');
    const socket = await this.#connect();
    return this.#send(socket, args);
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#drop(new Error('the redis client is closed'));
  }

  #send(socket: net.Socket, args: readonly (string | number)[]): Promise<RespValue> {
    return new Promise<RespValue>((resolve, reject) => {
      const timer = setTimeout(() => this.#drop(new Error('redis did not answer in time')), this.#commandTimeout);
      timer.unref();
      this.#pending.push({
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      socket.write(encode(args));
    });
  }

  #connect(): Promise<net.Socket> {
    if (this.#socket && this.#ready) return this.#ready;
    this.#ready = new Promise<net.Socket>((resolve, reject) => {
      const socket = net.connect({ host: this.#host, port: this.#port });
      this.#socket = socket;
      socket.setNoDelay(true);
      const timer = setTimeout(() => socket.destroy(new Error('redis connection timed out')), this.#connectTimeout);
      timer.unref();
      socket.on('data', (chunk: Buffer) => this.#onData(chunk));
      socket.on('error', (e) => {
        clearTimeout(timer);
        reject(e);
        this.#drop(e, socket);
      });
      socket.on('close', () => {
        clearTimeout(timer);
        reject(new Error('redis connection closed'));
        this.#drop(new Error('redis connection closed'), socket);
      });
      socket.once('connect', () => {
        clearTimeout(timer);
        const setup: Promise<RespValue>[] = [];
        if (this.#password !== undefined) setup.push(this.#send(socket, this.#username ? ['AUTH', this.#username, this.#password] : ['AUTH', this.#password]));
        if (this.#db !== 0) setup.push(this.#send(socket, ['SELECT', this.#db]));
        Promise.all(setup).then(
          () => resolve(socket),
          (e: Error) => {
            reject(e);
            this.#drop(e, socket);
          },
        );
      });
    });
    // a failed connection is retried by the next command
    this.#ready.catch(() => {});
    return this.#ready;
  }

  #drop(err: Error, socket = this.#socket): void {
    if (socket !== this.#socket) return;
    this.#socket = undefined;
    this.#ready = undefined;
    this.#buffer = Buffer.alloc(0);
    const pending = this.#pending;
    this.#pending = [];
    socket?.destroy();
    for (const p of pending) p.reject(err);
  }

  #onData(chunk: Buffer): void {
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    for (;;) {
      let parsed: { value: RespValue | RedisReplyError; end: number } | undefined;
      try {
        parsed = parse(this.#buffer, 0);
      } catch (e) {
        this.#drop(e as Error);
        return;
      }
      if (!parsed) return;
      this.#buffer = this.#buffer.subarray(parsed.end);
      const p = this.#pending.shift();
      if (!p) continue;
      if (parsed.value instanceof RedisReplyError) p.reject(parsed.value);
      else p.resolve(parsed.value);
    }
  }
}

function encode(args: readonly (string | number)[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const a of args) {
    const b = Buffer.from(String(a), 'utf8');
    parts.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n'));
  }
  return Buffer.concat(parts);
}

/** One RESP2 value at `at`, or undefined when the buffer does not hold all of it yet. */
function parse(buf: Buffer, at: number): { value: RespValue | RedisReplyError; end: number } | undefined {
  if (at >= buf.length) return undefined;
  const eol = buf.indexOf('\r\n', at);
  if (eol < 0) return undefined;
  const type = String.fromCharCode(buf[at]!);
  const line = buf.toString('utf8', at + 1, eol);
  switch (type) {
    case '+':
      return { value: line, end: eol + 2 };
    case '-':
      return { value: new RedisReplyError(line), end: eol + 2 };
    case ':':
      return { value: Number(line), end: eol + 2 };
    case '$': {
      const n = Number(line);
      if (n < 0) return { value: null, end: eol + 2 };
      if (buf.length < eol + 2 + n + 2) return undefined;
      return { value: buf.toString('utf8', eol + 2, eol + 2 + n), end: eol + 2 + n + 2 };
    }
    case '*': {
      const n = Number(line);
      if (n < 0) return { value: null, end: eol + 2 };
      const items: RespValue[] = [];
      let pos = eol + 2;
      for (let i = 0; i < n; i++) {
        const r = parse(buf, pos);
        if (!r) return undefined;
        // an error inside an array (EXEC) is kept as its message
        items.push(r.value instanceof RedisReplyError ? r.value.message : r.value);
        pos = r.end;
      }
      return { value: items, end: pos };
    }
    default:
      throw new Error(`unexpected redis reply type ${JSON.stringify(type)}`);
  }
}
