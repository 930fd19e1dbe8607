// Session tokens for the benchmarks (the claims a `member` or `admin` session carries).
// Signed with node:crypto, synchronously: jose's SignJWT goes through WebCrypto and
// took about 170 µs a token, seconds for the 12,000-token pools of the JWT and memory
// benchmarks. The tokens are the ones SignJWT writes: the same header and claims in the
// same order (for HS256, the same bytes), and jose verifies them.
import { createHmac, createPrivateKey, sign as signWith } from 'node:crypto';
import { AUDIENCE, ISSUER } from './fixtures.mjs';

const b64url = (text) => Buffer.from(text).toString('base64url');

/** A signer for the project's JWT settings: HS256 with `BENCH_JWT_SECRET`, or ES256 with `BENCH_JWT_PRIVATE_KEY`. */
export function signer(env) {
  const hs = Boolean(env.BENCH_JWT_SECRET);
  const header = b64url(JSON.stringify({ alg: hs ? 'HS256' : 'ES256' }));
  const secret = hs ? Buffer.from(env.BENCH_JWT_SECRET) : undefined;
  const key = hs ? undefined : createPrivateKey(env.BENCH_JWT_PRIVATE_KEY);
  const signature = (input) =>
    hs ? createHmac('sha256', secret).update(input).digest('base64url') : signWith('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' }).toString('base64url');
  /** `n` distinct tokens (ids u0…), valid for `seconds`. */
  return async function sign({ id = 'u1', role = 'member', seconds = 3600, n = 1, offset = 0 } = {}) {
    const now = Math.floor(Date.now() / 1000);
    const out = [];
    for (let i = 0; i < n; i++) {
      const who = n === 1 ? id : `u${offset + i}`;
      // The claims in the order SignJWT writes them: the payload given, then each setter's.
      const payload = b64url(JSON.stringify({ role, id: who, iss: ISSUER, aud: AUDIENCE, sub: who, iat: now, exp: now + seconds }));
      const input = `${header}.${payload}`;
      out.push(`${input}.${signature(input)}`);
    }
    return out;
  };
}
