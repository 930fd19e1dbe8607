import { failureLimiter, type FailureLimiter } from './auth.js';
import { RedisClient, type RedisOptions } from './redis.js';

/**
 * Authentication-failure counters shared by every runtime process through Redis
 * (DESIGN.md: "rate-limit counters … in Redis"): a fixed window per client, INCR with
 * the window set as the key's expiry on the first failure, in one script so a crash
 * between the two never leaves a counter without expiry. When Redis cannot be reached
 * the process counts on its own (in memory) rather than stop limiting.
 */

export interface RedisLimiterOptions extends RedisOptions {
  /** `redis://host:6379/0` */
  url: string;
  max: number;
  windowMs: number;
  /** Key prefix, so several deployments can share one Redis. @default 'dfc:authfail:' */
  prefix?: string;
}

// KEYS[1] counter; ARGV[1] window in ms. Returns the count after this failure.
const FAIL = `local n = redis.call('INCR', KEYS[1])
if redis.call('PTTL', KEYS[1]) < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return n`;

// KEYS[1] counter; ARGV[1] max. Returns the ms left in the window when blocked, else 0.
const BLOCKED = `local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n < tonumber(ARGV[1]) then return 0 end
local t = redis.call('PTTL', KEYS[1])
if t < 0 then return 0 end
return t`;

export interface RedisFailureLimiter extends FailureLimiter {
  close(): Promise<void>;
  /** Calls answered by the in-memory fallback because Redis failed. */
  readonly fallbacks: number;
}

export function redisFailureLimiter(opts: RedisLimiterOptions): RedisFailureLimiter {
  const client = new RedisClient(opts.url, opts);
  const prefix = opts.prefix ?? 'dfc:authfail:';
  const local = failureLimiter({ max: opts.max, windowMs: opts.windowMs });
  let fallbacks = 0;
  return {
    get fallbacks() {
      return fallbacks;
    },
    async blockedFor(who) {
      try {
        const ms = await client.command(['EVAL', BLOCKED, 1, prefix + who, opts.max]);
        return typeof ms === 'number' && ms > 0 ? Math.ceil(ms / 1000) : 0;
      } catch {
        fallbacks++;
        return local.blockedFor(who);
      }
    },
    async fail(who) {
      try {
        await client.command(['EVAL', FAIL, 1, prefix + who, opts.windowMs]);
      } catch {
        fallbacks++;
        local.fail(who);
      }
    },
    close: () => client.close(),
  };
}
