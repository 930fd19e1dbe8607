// Session tokens for the benchmarks (the claims a `member` or `admin` session carries).
import { createPrivateKey } from 'node:crypto';
import { SignJWT } from 'jose';
import { AUDIENCE, ISSUER } from './fixtures.mjs';

/** A signer for the project's JWT settings: HS256 with `BENCH_JWT_SECRET`, or ES256 with `BENCH_JWT_PRIVATE_KEY`. */
export function signer(env) {
  const [alg, key] = env.BENCH_JWT_SECRET
    ? ['HS256', new TextEncoder().encode(env.BENCH_JWT_SECRET)]
    : ['ES256', createPrivateKey(env.BENCH_JWT_PRIVATE_KEY)];
  /** `n` distinct tokens (ids u0…), valid for `seconds`. */
  return async function sign({ id = 'u1', role = 'member', seconds = 3600, n = 1, offset = 0 } = {}) {
    const now = Math.floor(Date.now() / 1000);
    const out = [];
    for (let i = 0; i < n; i++) {
      out.push(
        await new SignJWT({ role, id: n === 1 ? id : `u${offset + i}` })
          .setProtectedHeader({ alg })
          .setIssuer(ISSUER)
          .setAudience(AUDIENCE)
          .setSubject(n === 1 ? id : `u${offset + i}`)
          .setIssuedAt(now)
          .setExpirationTime(now + seconds)
          .sign(key),
      );
    }
    return out;
  };
}
