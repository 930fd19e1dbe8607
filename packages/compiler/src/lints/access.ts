import type { Config } from '@dfc/schema';
import type { Lint } from './context.js';
import { didYouMean, listOf } from '../util/suggest.js';

function serviceNames(config: Config): string[] {
  return config.services.map((s) => s.name);
}

function roleNames(config: Config): string[] {
  return (config.roles ?? []).map((r) => r.name);
}

const nameOf = (ref: string | { name: string }) => (typeof ref === 'string' ? ref : ref.name);

/** Components a role entry may name: `*`, `_table`, `_table/*`, `_table/<t>`, `_schema…`, `_doc`. */
const COMPONENT = /^(?:\*|_doc|_table|_schema|(_table|_schema)\/(\*|[^/*]+))$/;

/** Role access entries: the service, the component and the filters they name. */
export const roleAccess: Lint = {
  name: 'role-access',
  codes: ['DFC4003', 'DFC4006', 'DFC4010', 'DFC4011', 'DFC4016', 'DFC4023'],
  run({ config, report }) {
    const services = new Map(config.services.map((s) => [s.name, s]));
    (config.roles ?? []).forEach((role, i) => {
      const rolePath = ['roles', i];
      if (role.access.length === 0 || role.access.every((a) => a.verbs.length === 0)) {
        report('DFC4006', `role \`${role.name}\` grants nothing`, role.access.length === 0 ? [...rolePath, 'access'] : rolePath, {
          notes: ['every request with this role is denied; add access entries with verbs, or remove the role'],
        });
      }
      role.access.forEach((entry, j) => {
        const path = [...rolePath, 'access', j];
        const serviceName = nameOf(entry.service);
        const service = services.get(serviceName);
        if (serviceName !== '*' && !service) {
          report('DFC4010', `role \`${role.name}\` refers to unknown service \`${serviceName}\``, [...path, 'service'], {
            notes: [didYouMean(serviceName, services.keys()), `services: ${listOf(serviceNames(config), 'and')}`],
          });
          return;
        }
        const component = entry.component.replace(/^\/+|\/+$/g, '');
        const m = COMPONENT.exec(component);
        if (!m) {
          report('DFC4016', `role \`${role.name}\` names unknown component \`${entry.component}\``, [...path, 'component'], {
            notes: ['a component is `*`, `_table/*`, `_table/<table>`, `_schema`, `_schema/<table>` or `_doc`'],
          });
          return;
        }
        if (serviceName === '*' && component !== '*') {
          report('DFC4016', `role \`${role.name}\` names component \`${entry.component}\` on all services`, [...path, 'component'], {
            notes: ['with `service: \'*\'` the component must be `*`'],
          });
          return;
        }
        const table = m[2] !== undefined && m[2] !== '*' ? m[2] : undefined;
        if (table !== undefined && service && !Object.hasOwn(service.tables, table)) {
          report('DFC4011', `role \`${role.name}\` refers to unknown table \`${table}\` of service \`${service.name}\``, [...path, 'component'], {
            notes: [didYouMean(table, Object.keys(service.tables)), `tables: ${listOf(Object.keys(service.tables), 'and')}`],
          });
          return;
        }
        const filters = entry.filters ?? [];
        if (filters.length === 0 || !service) return;
        if (component === '_doc' || component.startsWith('_schema')) {
          report('DFC4023', `role \`${role.name}\` has filters on \`${entry.component}\`, which holds no rows`, [...path, 'filters'], {
            notes: ['filters apply to table components (`_table/…` or `*`)'],
          });
          return;
        }
        const tables = table !== undefined ? [table] : Object.keys(service.tables);
        filters.forEach((f, k) => {
          const lacking = tables.filter((t) => !Object.hasOwn(service.tables[t]!.columns, f.name));
          if (lacking.length === 0) return;
          const columns = new Set(tables.flatMap((t) => Object.keys(service.tables[t]!.columns)));
          report(
            'DFC4003',
            table !== undefined
              ? `role filter names unknown column \`${f.name}\` of table \`${table}\``
              : `role filter names column \`${f.name}\`, which ${listOf(lacking, 'and')} ${lacking.length === 1 ? 'does' : 'do'} not have`,
            [...path, 'filters', k, 'name'],
            { notes: [didYouMean(f.name, columns), table === undefined && 'a filter on `*` or `_table/*` applies to every table of the service'] },
          );
        });
      });
    });
  },
};

/** Apps and the roles they hand out; requirements that name roles. */
export const roleReferences: Lint = {
  name: 'role-references',
  codes: ['DFC4009', 'DFC4012', 'DFC4025'],
  run({ config, report }) {
    const roles = new Map((config.roles ?? []).map((r) => [r.name, r]));
    const known = roleNames(config);
    const check = (ref: string | { name: string }, owner: string, path: (string | number)[]) => {
      const name = nameOf(ref);
      if (roles.has(name)) return true;
      report('DFC4009', `${owner} refers to role \`${name}\`, which is not in \`roles\``, path, {
        notes: [
          typeof ref === 'object' ? `add \`${name}\` to \`roles\` in \`defineConfig\`` : didYouMean(name, known),
          known.length > 0 ? `roles: ${listOf(known, 'and')}` : 'the config defines no roles',
        ],
      });
      return false;
    };
    (config.apps ?? []).forEach((app, i) => {
      const path = ['apps', i];
      if (app.role === undefined && (app.roles ?? []).length === 0) {
        report('DFC4012', `app \`${app.name}\` has no role`, path, {
          notes: ['every request with its API key is denied; set `role` (and optionally `roles`)'],
        });
      }
      if (app.role !== undefined && check(app.role, `app \`${app.name}\``, [...path, 'role'])) {
        const role = roles.get(nameOf(app.role))!;
        if (role.active === false) {
          report('DFC4025', `app \`${app.name}\` uses inactive role \`${role.name}\` as its default`, [...path, 'role'], {
            notes: ['callers of this app get no access until the role is active'],
          });
        }
      }
      (app.roles ?? []).forEach((r, j) => check(r, `app \`${app.name}\``, [...path, 'roles', j]));
    });
    const requirement = (block: Record<string, { type: string; roles?: string[] }> | undefined, owner: string, path: (string | number)[]) => {
      for (const [name, req] of Object.entries(block ?? {})) {
        if (req.type !== 'role') continue;
        (req.roles ?? []).forEach((r, j) => check(r, `requirement \`${name}\` of ${owner}`, [...path, name, 'roles', j]));
      }
    };
    config.services.forEach((s, i) => {
      requirement(s.security, `service \`${s.name}\``, ['services', i, 'security']);
      for (const [t, table] of Object.entries(s.tables)) {
        requirement(table.security, `table \`${t}\``, ['services', i, 'tables', t, 'security']);
        for (const [c, col] of Object.entries(table.columns)) {
          if (typeof col === 'object') requirement(col.security, `column \`${t}.${c}\``, ['services', i, 'tables', t, 'columns', c, 'security']);
        }
      }
    });
  },
};
