/**
 * Config paths. Internally a path is the list of keys from the default export down
 * to a value (`['roles', 0, 'access', 2, 'verbs']`), which is what source positions
 * are found from. Users see dfc's form, where arrays of named things are addressed by
 * name: `roles.editor.access[2].verbs`, `rules.blog.posts.update.f1`.
 */

export type RawPath = readonly (string | number)[];

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

function keySegment(key: string): string {
  return IDENTIFIER.test(key) ? '.' + key : '[' + JSON.stringify(key) + ']';
}

/** Top-level arrays whose elements are addressed by name. */
const NAMED_ARRAYS = new Set(['services', 'roles', 'apps']);

function get(value: unknown, key: string | number): unknown {
  if (value === null || typeof value !== 'object') return undefined;
  return Object.hasOwn(value, key) ? (value as Record<string | number, unknown>)[key] : undefined;
}

function nameOf(value: unknown): string | undefined {
  const name = get(value, 'name');
  return typeof name === 'string' && name.length > 0 ? name : undefined;
}

/**
 * The user-facing form of `raw`, given the config value it points into (used to
 * find the names of array elements). Falls back to indexes where a name is missing.
 */
export function displayPath(root: unknown, raw: RawPath): string {
  let out = '';
  let value = root;
  for (let i = 0; i < raw.length; i++) {
    const seg = raw[i]!;
    const next = get(value, seg);
    if (i === 1 && typeof seg === 'number' && typeof raw[0] === 'string') {
      const top = raw[0];
      if (NAMED_ARRAYS.has(top)) {
        const name = nameOf(next);
        out += name !== undefined ? keySegment(name) : `[${seg}]`;
        value = next;
        continue;
      }
      if (top === 'cors') {
        // CORS entries have no name; their path identifies them.
        const corsPath = get(next, 'path');
        out += typeof corsPath === 'string' ? '[' + JSON.stringify(corsPath) + ']' : `[${seg}]`;
        value = next;
        continue;
      }
      if (top === 'rules') {
        const service = get(next, 'service');
        const table = get(next, 'table');
        if (typeof service === 'string' && typeof table === 'string') {
          out += keySegment(service) + keySegment(table);
          // `rules[0].rules.read` reads `rules.blog.posts.read`: the inner `rules` key is implied.
          if (raw[2] === 'rules') {
            value = get(next, 'rules');
            i++;
          } else {
            value = next;
          }
          continue;
        }
      }
    }
    out += typeof seg === 'number' ? `[${seg}]` : keySegment(seg);
    value = next;
  }
  return out.startsWith('.') ? out.slice(1) : out;
}

/** `a.b[2]["x-y"]` for paths that do not start at the config root (e.g. inside a rule). */
export function formatRelativePath(raw: RawPath): string {
  const out = raw.map((seg) => (typeof seg === 'number' ? `[${seg}]` : keySegment(seg))).join('');
  return out.startsWith('.') ? out.slice(1) : out;
}
