import type { Lint } from './context.js';

export const SECRET_HINT = 'write `secret(\'NAME\')` and set `NAME` in the environment where the policy runs, or store a value encrypted with `dfc encrypt`';

/** A plain string where a `secret()` is expected (security checklist C9). */
export const plaintextSecrets: Lint = {
  name: 'plaintext-secret',
  codes: ['DFC4002'],
  run({ config, report }) {
    // invariant: messages never quote the value itself.
    config.services.forEach((s, i) => {
      if (s.database.type === 'sqlite' || typeof s.database.url !== 'string') return;
      const url = s.database.url;
      const hasPassword = /^[a-z][a-z0-9+.-]*:\/\/[^/@:]*:[^/@]*@/i.test(url);
      report(
        'DFC4002',
        hasPassword
          ? `database url of service \`${s.name}\` holds a password in plain text`
          : `database url of service \`${s.name}\` is written in plain text`,
        ['services', i, 'database', 'url'],
        { sensitive: true, notes: [SECRET_HINT, !hasPassword && 'a connection url usually holds credentials, so dfc keeps it out of policy.json'] },
      );
    });
    (config.apps ?? []).forEach((a, i) => {
      if (typeof a.apiKey === 'string') {
        report('DFC4002', `API key of app \`${a.name}\` is written in plain text`, ['apps', i, 'apiKey'], {
          sensitive: true,
          notes: [SECRET_HINT, 'or store only its SHA-256: `apiKey: { sha256: \'…\' }`'],
        });
      }
    });
    const jwt = config.auth?.jwt;
    if (typeof jwt?.secret === 'string') {
      report('DFC4002', 'JWT secret is written in plain text', ['auth', 'jwt', 'secret'], { sensitive: true, notes: [SECRET_HINT] });
    }
    if (typeof config.crypto?.key === 'string') {
      report('DFC4002', 'field encryption key is written in plain text', ['crypto', 'key'], { sensitive: true, notes: [SECRET_HINT] });
    }
    if (typeof config.admin?.token === 'string') {
      report('DFC4002', 'admin token is written in plain text', ['admin', 'token'], { sensitive: true, notes: [SECRET_HINT] });
    }
  },
};

/** `*` or `null` origins with credentials (security checklist §1.6). */
export const corsCredentials: Lint = {
  name: 'cors-credentials-any-origin',
  codes: ['DFC4001'],
  run({ config, report }) {
    (config.cors ?? []).forEach((c, i) => {
      if (!c.supportsCredentials) return;
      c.origins.forEach((origin, j) => {
        if (origin !== '*' && origin !== 'null') return;
        report('DFC4001', `CORS entry \`${c.path}\` allows origin \`${origin}\` with credentials`, ['cors', i, 'origins', j], {
          notes: [
            origin === '*'
              ? 'any web site could then make credentialed requests on behalf of your users'
              : 'the `null` origin is sent by sandboxed iframes and local files, which any site can create',
            'list the exact origins (`https://app.example.com`), or set `supportsCredentials: false`',
          ],
        });
      });
    });
  },
};

/** Debug output in production (DESIGN.md: no stack or SQL in a production response). */
export const debugInProduction: Lint = {
  name: 'debug-in-production',
  codes: ['DFC4007'],
  run({ config, report }) {
    if (config.debug === true && (config.environment ?? 'production') === 'production') {
      report('DFC4007', 'debug errors are enabled in a production config', ['debug'], {
        notes: ['debug responses carry stacks, SQL and decision traces', 'set `environment: \'development\'` for local work, or remove `debug`'],
      });
    }
  },
};

/** JWT verification settings (security checklist §1.5, A2). */
export const jwtSettings: Lint = {
  name: 'jwt',
  codes: ['DFC4013', 'DFC4014', 'DFC4015'],
  run({ config, report }) {
    const jwt = config.auth?.jwt;
    if (!jwt) return;
    const path = ['auth', 'jwt'];
    const hasPublic = jwt.publicKey !== undefined || jwt.jwksUrl !== undefined;
    if (jwt.secret === undefined && !hasPublic) {
      report('DFC4015', 'JWT sessions have no key to verify them', path, {
        notes: ['set `secret` (HMAC), `publicKey` or `jwksUrl`'],
      });
    }
    const missing = [jwt.issuer === undefined && '`issuer`', jwt.audience === undefined && '`audience`'].filter(Boolean);
    if (missing.length > 0) {
      report('DFC4013', `JWT sessions are accepted without checking ${missing.join(' and ')}`, path, {
        notes: [
          `without ${missing.length === 1 ? 'it' : 'them'}, a token issued for another service is accepted here`,
          'set the values your identity provider puts in `iss` and `aud`',
        ],
      });
    }
    const algorithms = jwt.algorithms ?? (jwt.secret !== undefined ? ['HS256'] : ['RS256']);
    const hmac = algorithms.filter((a) => a.startsWith('HS'));
    const asymmetric = algorithms.filter((a) => !a.startsWith('HS'));
    const algPath = jwt.algorithms ? [...path, 'algorithms'] : path;
    if (jwt.secret !== undefined && hmac.length === 0) {
      report('DFC4014', `JWT secret is set but \`algorithms\` allows only ${asymmetric.map((a) => '`' + a + '`').join(', ')}`, algPath, {
        notes: ['an HMAC secret verifies only `HS256`, `HS384` or `HS512` tokens'],
      });
    }
    if (hasPublic && hmac.length > 0) {
      report('DFC4014', `JWT public key is set and \`algorithms\` allows ${hmac.map((a) => '`' + a + '`').join(', ')}`, algPath, {
        notes: ['a token signed with HMAC using the public key as secret would then verify (key confusion)', 'allow only asymmetric algorithms such as `RS256` or `ES256` with a public key'],
      });
    }
  },
};
