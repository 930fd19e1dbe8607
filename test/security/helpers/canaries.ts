/**
 * Canary secrets: distinctive random values for every kind of secret a dfc deployment
 * holds, and a scanner that finds any of them (in the encodings a leak would likely
 * use) in a piece of text.
 */
import { canary, randomKey } from './project.js';

export interface Canaries {
  /** The password inside the PostgreSQL URL. */
  dbPassword: string;
  jwtSecret: string;
  /** DFC_MASTER_KEY (base64 of 32 bytes). */
  masterKey: string;
  webKey: string;
  adminKey: string;
  /** The field encryption key (base64 of 32 bytes). */
  fieldKey: string;
  adminToken: string;
}

export function makeCanaries(): Canaries {
  return {
    dbPassword: canary('dbpassword'),
    jwtSecret: canary('jwtsecret'),
    masterKey: randomKey(),
    webKey: canary('webkey'),
    adminKey: canary('adminkey'),
    fieldKey: randomKey(),
    adminToken: canary('admintoken'),
  };
}

/** Each canary with the forms it could leak in: as is, URL-encoded, and for keys their bytes in hex and base64url. */
function forms(c: Canaries): [string, string][] {
  const out: [string, string][] = [];
  for (const [name, value] of Object.entries(c) as [keyof Canaries, string][]) {
    out.push([name, value], [name, encodeURIComponent(value)]);
    if (name === 'masterKey' || name === 'fieldKey') {
      const bytes = Buffer.from(value, 'base64');
      out.push([name, bytes.toString('hex')], [name, bytes.toString('base64url')], [name, JSON.stringify(value).slice(1, -1)]);
    }
  }
  return out;
}

/** The names of the canaries found in `text`. */
export function leaks(c: Canaries, text: string): string[] {
  const found = new Set<string>();
  for (const [name, f] of forms(c)) if (text.includes(f)) found.add(name);
  return [...found];
}
