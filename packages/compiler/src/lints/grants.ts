import {
  VERBS,
  accessComponent,
  accessTier,
  indexAccess,
  matchAccess,
  type AccessIndex,
  type AccessRequest,
  type Config,
  type Operation,
  type Policy,
  type PolicyAccess,
  type Verb,
} from '@dfc/schema';
import { staticOutcome } from '@dfc/rules';
import type { RawPath } from '../diagnostics/config-path.js';
import { normalizeAccess } from '../stages/normalize.js';
import { listOf } from '../util/suggest.js';
import type { Lint } from './context.js';

/**
 * What roles and apps really grant, decided with the runtime's own access matching
 * (`matchAccess`: the most specific matching tier decides) over every component of
 * every service, and checked against the rules that guard each table.
 */

const OPERATION_OF: Record<Verb, Operation> = { GET: 'read', POST: 'create', PUT: 'update', PATCH: 'update', DELETE: 'delete' };

interface Components {
  /** Every component the service serves (the runtime's list). */
  all: string[];
  /** The same, by the component an access entry is compared with (`accessComponent`). */
  byKey: Map<string, string[]>;
}

/** The components of each service, by service name. */
function serviceComponents(config: Config): Map<string, Components> {
  const out = new Map<string, Components>();
  for (const s of config.services) {
    if (out.has(s.name)) continue;
    const tables = Object.keys(s.tables);
    const all = ['_table', ...tables.map((t) => `_table/${t}`), '_schema', ...tables.map((t) => `_schema/${t}`), '_doc'];
    const byKey = new Map<string, string[]>();
    for (const c of all) {
      const key = accessComponent(c);
      const list = byKey.get(key);
      if (list) list.push(c);
      else byKey.set(key, [c]);
    }
    out.set(s.name, { all, byKey });
  }
  return out;
}

const trim = (component: string) => component.replace(/^\/+|\/+$/g, '');

interface RoleEntries {
  name: string;
  index: number;
  active: boolean;
  /** The entries as the policy stores them, in config order. */
  entries: PolicyAccess[];
  /** The entries grouped by what they can match: `matchAccess` over `candidates` decides as over `entries`. */
  byComponent: AccessIndex;
}

const rolesOf = new WeakMap<Config, RoleEntries[]>();

/** The roles of a config (made once for the lints that all look at them). */
function roles(config: Config): RoleEntries[] {
  let out = rolesOf.get(config);
  if (!out) {
    out = (config.roles ?? []).map((r, index) => {
      const entries = r.access.map(normalizeAccess);
      return { name: r.name, index, active: r.active !== false, entries, byComponent: indexAccess(entries) };
    });
    rolesOf.set(config, out);
  }
  return out;
}

/** `matchAccess` over the role's entries that can match the request. */
const match = (role: RoleEntries, request: AccessRequest) => matchAccess(role.byComponent.candidates(request.service, request.component), request);

/** An access entry that never decides: wherever it matches, a more specific entry of the role decides. */
export const shadowedAccess: Lint = {
  name: 'shadowed-access',
  codes: ['DFC4041'],
  run({ config, report }) {
    const components = serviceComponents(config);
    for (const role of roles(config)) {
      role.entries.forEach((entry, j) => {
        let covers = false;
        let decides = false;
        const by = new Set<number>();
        const services = entry.service === '*' ? config.services.map((s) => s.name) : [entry.service];
        // An entry without `*` matches only the components compared as its own (`indexAccess`'s invariant).
        const own = trim(entry.component);
        const exact = entry.service !== '*' && !own.includes('*');
        for (const service of services) {
          const served = components.get(service);
          for (const component of (exact ? served?.byKey.get(own) : served?.all) ?? []) {
            for (const requestor of entry.requestor) {
              const request = { service, component, verb: 'GET' as const, requestor };
              const tier = accessTier(entry, request);
              if (tier === undefined) continue;
              covers = true;
              const m = match(role, request);
              if (m.tier === tier) decides = true;
              else for (const e of m.matched) by.add(role.entries.indexOf(e));
            }
          }
        }
        if (!covers || decides) return;
        const others = [...by].sort((a, b) => a - b).map((k) => `\`access[${k}]\` (\`${role.entries[k]!.component}\`)`);
        const list = others.length > 1 ? `${others.slice(0, -1).join(', ')} and ${others[others.length - 1]}` : (others[0] ?? '');
        report('DFC4041', `access entry \`${entry.component}\` of role \`${role.name}\` never decides`, ['roles', role.index, 'access', j], {
          notes: [
            `for everything it covers, a more specific entry decides: ${list}`,
            'the most specific matching entry decides, even when it grants fewer verbs; remove this entry, or move its verbs to the specific ones',
          ],
        });
      });
    }
  },
};

/** A table entry granting verbs that the table's rules deny every time (or that no rule allows). */
export const deadGrants: Lint = {
  name: 'dead-grant',
  codes: ['DFC4042'],
  run({ config, policy, report }) {
    for (const role of roles(config)) {
      if (!role.active) continue;
      role.entries.forEach((entry, j) => {
        const m = /^_table\/([^/*]+)$/.exec(trim(entry.component));
        if (!m || entry.service === '*') return;
        const table = m[1]!;
        const service = config.services.find((s) => s.name === entry.service);
        if (!service || !Object.hasOwn(service.tables, table)) return;
        const dead: { verbs: Verb[]; why: string }[] = [];
        for (const op of ['read', 'create', 'update', 'delete'] as const) {
          const verbs = entry.verbs.filter((v) => OPERATION_OF[v] === op);
          if (verbs.length === 0) continue;
          const why = deniedBecause(policy, entry.service, table, op);
          if (why) dead.push({ verbs, why });
        }
        if (dead.length === 0) return;
        const verbs = dead.flatMap((d) => d.verbs);
        report(
          'DFC4042',
          `role \`${role.name}\` grants ${listOf(verbs, 'and')} on \`${entry.service}/_table/${table}\`, but every such request is denied`,
          ['roles', role.index, 'access', j, 'verbs'],
          { notes: [...dead.map((d) => d.why), 'remove the verbs from the entry, or write a rule that can allow them'] },
        );
      });
    }
  },
};

/** Why every `op` on a table is denied, or undefined when a rule may allow it. */
function deniedBecause(policy: Policy, service: string, table: string, op: Operation): string | undefined {
  const sets = policy.rules[service] ?? {};
  const own = sets[table]?.[op];
  const rule = own ?? sets['default']?.[op];
  if (!rule) return `no rule allows \`${op}\` on \`${service}.${table}\` (an operation with no rule is denied)`;
  if (staticOutcome(rule) === 'deny') return `rule \`rules.${service}.${own ? table : 'default'}.${op}\` always denies`;
  return undefined;
}

/** An app whose API key alone (its default role) may do anything on every service. */
export const blanketKeys: Lint = {
  name: 'blanket-api-key',
  codes: ['DFC4043'],
  run({ config, report }) {
    const components = serviceComponents(config);
    const byName = new Map(roles(config).map((r) => [r.name, r]));
    (config.apps ?? []).forEach((app, i) => {
      if (app.active === false || app.role === undefined) return;
      const name = typeof app.role === 'string' ? app.role : app.role.name;
      const role = byName.get(name);
      if (!role || !role.active) return;
      const everything = config.services.every((s) =>
        (components.get(s.name)?.all ?? []).every((component) => VERBS.every((verb) => match(role, { service: s.name, component, verb }).allowed)),
      );
      if (!everything) return;
      const path: RawPath = ['apps', i];
      report('DFC4043', `the API key of app \`${app.name}\` alone grants every verb on every service (role \`${name}\`)`, path, {
        notes: [
          'whoever holds the key, with or without a session, may read, change and delete everything',
          'give the app a narrow default `role`, and let sessions choose the powerful role through `roles` (the role claim)',
        ],
      });
    });
  },
};

/** A role meant for documentation (it grants `_doc`) that also reaches table data. */
export const docsExposure: Lint = {
  name: 'docs-grant-exposes-data',
  codes: ['DFC4044'],
  run({ config, report }) {
    for (const role of roles(config)) {
      if (!role.active) continue;
      role.entries.forEach((entry, j) => {
        if (trim(entry.component) !== '_doc' || entry.service === '*' || !entry.verbs.includes('GET')) return;
        const service = config.services.find((s) => s.name === entry.service);
        if (!service) return;
        const exposed = Object.keys(service.tables).filter((t) =>
          VERBS.some((verb) => match(role, { service: service.name, component: `_table/${t}`, verb }).allowed),
        );
        if (exposed.length === 0) return;
        const shown = exposed.slice(0, 5).map((t) => `${service.name}/_table/${t}`);
        report('DFC4044', `role \`${role.name}\` grants the documentation of \`${service.name}\` and also its data`, ['roles', role.index, 'access', j], {
          notes: [
            `it reaches ${listOf(shown, 'and')}${exposed.length > 5 ? ` and ${exposed.length - 5} more` : ''}`,
            'give documentation readers a role that grants `_doc` alone, and data through other roles (an app can offer several through `roles`)',
          ],
        });
      });
    }
  },
};
