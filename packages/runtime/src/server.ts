import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyServerOptions } from 'fastify';
import { DFC_VERSION } from '@dfc/schema';
import { DfcError, errorBody } from './errors.js';
import { dfcPlugin, type DfcPluginOptions } from './plugin.js';
import { Runtime, type RuntimeOptions } from './runtime.js';

/**
 * The standalone server: a Fastify instance with safe defaults (timeouts, body limit,
 * request ids, log redaction) and the dfc plugin, plus the admin listener.
 */

export interface ServerOptions extends RuntimeOptions {
  host?: string;
  port?: number;
  /** PEM certificate and key: serve HTTPS (and send HSTS). */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** A pino logger configuration, or false for none. @default { level: 'info' } */
  logger?: boolean | Record<string, unknown>;
  /** Where pino writes (tests capture it). */
  logStream?: { write(line: string): void };
  /** The admin listener. Defaults to the policy's `admin` block; `false` disables it. */
  admin?: false | { host?: string; port?: number; token?: string };
  /**
   * Milliseconds. `shutdown`: how long `close()` waits for requests in flight before it
   * closes their connections (a client that never finishes its request cannot hold the
   * process). @default { request: 30000, headers: 15000, keepAlive: 72000, connection: 60000, shutdown: 10000 }
   */
  timeouts?: { request?: number; headers?: number; keepAlive?: number; connection?: number; shutdown?: number };
  plugin?: Omit<DfcPluginOptions, keyof RuntimeOptions | 'runtime' | 'hsts'>;
}

export interface DfcServer {
  app: FastifyInstance;
  admin: FastifyInstance | undefined;
  runtime: Runtime;
  /** Start both listeners; resolves to their addresses. */
  listen(): Promise<{ url: string; adminUrl?: string }>;
  /** Stop accepting, finish requests in flight (up to `timeouts.shutdown`), close database pools. */
  close(): Promise<void>;
}

/** Header names and query parameters whose values never reach a log line. */
export const REDACTED_HEADERS = ['authorization', 'x-api-key', 'x-dreamfactory-api-key', 'x-dreamfactory-session-token', 'cookie', 'x-admin-token'];

/**
 * The URL with the value of every query parameter that may carry a credential replaced.
 * Names are compared after percent-decoding (`api%5Fkey` is `api_key` to the query
 * parser), and generously: any name holding `key` or `token` is redacted.
 */
export function redactUrl(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return url;
  const parts = url
    .slice(q + 1)
    .split('&')
    .map((part) => {
      const eq = part.indexOf('=');
      const raw = eq < 0 ? part : part.slice(0, eq);
      const name = raw.replace(/\+/g, ' ').replace(/%([0-9a-f]{2})/gi, (_m, h: string) => String.fromCharCode(parseInt(h, 16))).toLowerCase();
      return /key|token/.test(name) && eq >= 0 ? `${raw}=[redacted]` : part;
    });
  return url.slice(0, q + 1) + parts.join('&');
}

export async function createServer(opts: ServerOptions): Promise<DfcServer> {
  const runtime = await Runtime.create(opts);
  const t = opts.timeouts ?? {};
  const logger = loggerOptions(opts);
  const common: FastifyServerOptions = {
    logger,
    genReqId: () => randomUUID(),
    requestIdHeader: false,
    bodyLimit: runtime.state.compiled.policy.server.bodyLimit,
    requestTimeout: t.request ?? 30_000,
    connectionTimeout: t.connection ?? 60_000,
    keepAliveTimeout: t.keepAlive ?? 72_000,
    return503OnClosing: true,
    routerOptions: { maxParamLength: 1024 },
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    // The router's own refusals (a malformed URL, an over-long path segment) in dfc's
    // format, without echoing the path.
    frameworkErrors: (err, req, rawReply) => {
      const reply = rawReply as unknown as FastifyReply;
      const e = (err as { code?: string }).code === 'FST_ERR_MAX_PARAM_LENGTH' ? new DfcError('DFC_ERR_URI_TOO_LONG') : new DfcError('DFC_ERR_BAD_REQUEST', 'the request URL is malformed');
      void reply.code(e.status).header('cache-control', 'no-store').header('x-content-type-options', 'nosniff').send(errorBody(e, String(req.id), false));
    },
  };
  // Node checks the headers and request deadlines of open connections every
  // `connectionsCheckingInterval` (30 s by default), which would stretch a 15 s headers
  // timeout to 45 s for a slow client: check every second instead.
  const checking = { connectionsCheckingInterval: 1_000 };
  const app = (opts.tls
    ? Fastify({ ...common, https: { cert: opts.tls.cert, key: opts.tls.key, ...checking } } as FastifyServerOptions)
    : Fastify({ ...common, http: checking } as FastifyServerOptions)) as unknown as FastifyInstance;
  app.server.headersTimeout = t.headers ?? 15_000;
  // The server owns its Fastify instance, so reads are answered directly (docs/deploy.md:
  // an `onSend` hook added to `server.app` does not see them).
  await app.register(dfcPlugin, { directAnswers: true, ...(opts.plugin ?? {}), runtime, hsts: opts.tls !== undefined });
  app.addHook('onClose', async () => runtime.close());

  const admin = await createAdmin(runtime, opts, logger);

  return {
    app,
    admin,
    runtime,
    async listen() {
      const url = await app.listen({ host: opts.host ?? '127.0.0.1', port: opts.port ?? 8080 });
      const out: { url: string; adminUrl?: string } = { url };
      if (admin) {
        const a = adminAddress(runtime, opts);
        out.adminUrl = await admin.listen({ host: a.host, port: a.port });
      }
      return out;
    },
    async close() {
      // Requests still open at the deadline lose their connections; the close then completes.
      const deadline = setTimeout(() => {
        app.server.closeAllConnections();
        admin?.server.closeAllConnections();
      }, t.shutdown ?? 10_000);
      deadline.unref();
      try {
        await Promise.allSettled([admin?.close(), app.close()]);
      } finally {
        clearTimeout(deadline);
      }
    },
  };
}

function loggerOptions(opts: ServerOptions): FastifyServerOptions['logger'] {
  if (opts.logger === false) return false;
  const base = typeof opts.logger === 'object' ? opts.logger : { level: 'info' };
  return {
    ...base,
    ...(opts.logStream ? { stream: opts.logStream } : {}),
    redact: { paths: REDACTED_HEADERS.map((h) => `req.headers["${h}"]`), censor: '[redacted]' },
    serializers: {
      req: (req: { method: string; url: string; id?: string; ip?: string }) => ({ method: req.method, url: redactUrl(req.url), id: req.id, ip: req.ip }),
    },
  } as FastifyServerOptions['logger'];
}

function adminAddress(runtime: Runtime, opts: ServerOptions): { host: string; port: number } {
  const fromPolicy = runtime.state.compiled.policy.admin;
  const o = opts.admin || {};
  return { host: o.host ?? fromPolicy?.host ?? '127.0.0.1', port: o.port ?? fromPolicy?.port ?? 9090 };
}

async function createAdmin(runtime: Runtime, opts: ServerOptions, logger: FastifyServerOptions['logger']): Promise<FastifyInstance | undefined> {
  if (opts.admin === false) return undefined;
  const policyAdmin = runtime.state.compiled.policy.admin;
  const token = opts.admin?.token ?? (policyAdmin ? runtime.state.compiled.resolveSecret(policyAdmin.token, 'the admin token') : undefined);
  if (token === undefined) return undefined;
  if (token.length < 16) throw new DfcError('DFC_ERR_SERVER_CONFIG', 'the admin token is shorter than 16 characters');
  const digest = createHash('sha256').update(token).digest();
  const admin = Fastify({ logger, genReqId: () => randomUUID(), bodyLimit: 4096, requestTimeout: 30_000 }) as unknown as FastifyInstance;
  admin.addHook('onRequest', async (req, reply) => {
    reply.header('cache-control', 'no-store');
    reply.header('x-content-type-options', 'nosniff');
    const h = req.headers.authorization;
    const m = typeof h === 'string' ? /^bearer (\S+)$/i.exec(h) : null;
    const given = createHash('sha256').update(m?.[1] ?? '').digest();
    if (!m || !timingSafeEqual(given, digest)) {
      return reply.code(401).send(errorBody(new DfcError('DFC_ERR_INVALID_TOKEN', 'the admin token is not valid'), req.id, false));
    }
  });
  admin.get('/health', async () => ({ status: 'ok' }));
  admin.get('/ready', async (_req, reply) => {
    const r = await runtime.ready();
    return reply.code(r.ok ? 200 : 503).send({ status: r.ok ? 'ready' : 'unavailable', services: r.services });
  });
  admin.get('/policy', async () => {
    const s = runtime.state;
    return { hash: s.compiled.hash, dfcVersion: s.compiled.policy.dfcVersion, runtimeVersion: DFC_VERSION, environment: s.compiled.policy.environment, generation: s.generation, loadedAt: s.loadedAt.toISOString() };
  });
  admin.post('/reload', async (req, reply) => {
    const body = (req.body ?? {}) as { dir?: unknown };
    const dir = typeof body.dir === 'string' ? body.dir : undefined;
    try {
      const s = await runtime.reload(dir);
      return { status: 'reloaded', hash: s.compiled.hash, generation: s.generation };
    } catch (e) {
      const err = e instanceof DfcError ? e : new DfcError('DFC_ERR_ARTIFACT_MODULE', 'the new policy could not be loaded');
      req.log.warn({ code: err.code }, 'reload refused; the policy in service is unchanged');
      return reply.code(422).send({ error: { code: err.code, status: 422, message: err.message, ...(err.note ? { note: err.note } : {}), requestId: req.id }, hash: runtime.state.compiled.hash });
    }
  });
  admin.get('/metrics', async (_req, reply) => reply.type('text/plain; version=0.0.4').send(runtime.metrics.render()));
  admin.setNotFoundHandler(async (req, reply) => reply.code(404).send(errorBody(new DfcError('DFC_ERR_NOT_FOUND'), req.id, false)));
  return admin;
}
