import { isAbsolute } from 'node:path';
import type { Lint } from './context.js';
import { didYouMean } from '../util/suggest.js';

/** Paths in policy.json are relative to it; an absolute one ties the artifact to one machine. */
export const absolutePaths: Lint = {
  name: 'absolute-path',
  codes: ['DFC4017'],
  run({ config, report }) {
    config.services.forEach((s, i) => {
      if (s.database.type !== 'sqlite') return;
      for (const key of ['file', 'seed'] as const) {
        const value = s.database[key];
        if (value !== undefined && (isAbsolute(value) || /^[A-Za-z]:[\\/]/.test(value))) {
          report('DFC4017', `\`${key}\` of service \`${s.name}\` is an absolute path`, ['services', i, 'database', key], {
            notes: ['policy.json must build the same on every machine; write the path relative to the config file'],
          });
        }
      }
    });
  },
};

export const primaryKeys: Lint = {
  name: 'unknown-primary-key',
  codes: ['DFC4020'],
  run({ config, report }) {
    config.services.forEach((s, i) => {
      for (const [t, table] of Object.entries(s.tables)) {
        if (Object.hasOwn(table.columns, table.primaryKey)) continue;
        report('DFC4020', `primary key \`${table.primaryKey}\` of table \`${t}\` is not one of its columns`, ['services', i, 'tables', t, 'primaryKey'], {
          notes: [didYouMean(table.primaryKey, Object.keys(table.columns))],
        });
      }
    });
  },
};

export const pageSizes: Lint = {
  name: 'page-size-order',
  codes: ['DFC4019'],
  run({ config, report }) {
    const s = config.server;
    if (s?.defaultPageSize !== undefined && s.maxPageSize !== undefined && s.defaultPageSize > s.maxPageSize) {
      report('DFC4019', `\`defaultPageSize\` (${s.defaultPageSize}) is larger than \`maxPageSize\` (${s.maxPageSize})`, ['server', 'defaultPageSize']);
    }
  },
};
