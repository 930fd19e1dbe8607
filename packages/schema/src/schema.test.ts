import { describe, expect, test } from 'vitest';
import { ConfigSchema } from './config.js';
import { PolicySchema, policyJsonSchema } from './policy.js';
import { RuleSchema, SourceRuleSchema } from './rule.js';

describe('rule schema', () => {
  test('accepts every Space Cloud rule kind', () => {
    const rules = [
      { rule: 'allow' },
      { rule: 'deny', name: 'no', error: 'closed' },
      { rule: 'authenticated' },
      { rule: 'match', eval: 'in', type: 'string', f1: 'args.auth.role', f2: ['admin', 'moderator'] },
      { rule: 'and', clauses: [{ rule: 'allow' }] },
      { rule: 'or', clauses: [{ rule: 'query', db: 'blog', col: 'profiles', find: { userId: 'args.find.userId' } }] },
      { rule: 'remove', fields: ['res.password'], clause: { rule: 'deny' } },
      { rule: 'force', field: 'args.find.userId', value: 'args.auth.id' },
      { rule: 'encrypt', fields: ['args.doc.email'] },
      { rule: 'decrypt', fields: ['res.email'] },
      { rule: 'hash', fields: ['args.doc.password'] },
      { rule: 'webhook', url: 'https://hooks.example.com/x', timeout: 2000 },
      { rule: 'code', id: 'c0', sourceHash: 'sha256:' + '0'.repeat(64), async: false },
    ];
    for (const r of rules) expect(RuleSchema.safeParse(r).success, JSON.stringify(r)).toBe(true);
  });

  test('refuses unknown kinds, unknown keys and prototype paths', () => {
    expect(RuleSchema.safeParse({ rule: 'maybe' }).success).toBe(false);
    expect(RuleSchema.safeParse({ rule: 'allow', extra: 1 }).success).toBe(false);
    const bad = RuleSchema.safeParse({
      rule: 'and',
      clauses: [{ rule: 'match', eval: '==', type: 'string', f1: 'args.auth.id', f2: 'args.find.__proto__' }],
    });
    expect(bad.error?.issues[0]?.path).toEqual(['clauses', 0, 'f2']);
    expect(RuleSchema.safeParse({ rule: 'remove', fields: ['res.constructor.prototype'] }).success).toBe(false);
    expect(RuleSchema.safeParse({ rule: 'remove', fields: ['password'] }).success).toBe(false);
  });

  test('a literal string that is not a path may hold any text', () => {
    expect(RuleSchema.safeParse({ rule: 'match', eval: '==', type: 'string', f1: 'args.auth.role', f2: '__proto__' }).success).toBe(true);
  });

  test('code rules hold a function in the config and a reference in the artifact', () => {
    expect(SourceRuleSchema.safeParse({ rule: 'code', fn: () => true }).success).toBe(true);
    expect(RuleSchema.safeParse({ rule: 'code', fn: () => true }).success).toBe(false);
  });
});

describe('config schema', () => {
  test('a minimal config parses', () => {
    const config = {
      services: [{ name: 'blog', database: { type: 'sqlite', file: './b.db' }, tables: { posts: { columns: { id: 'integer' }, primaryKey: 'id' } } }],
    };
    expect(ConfigSchema.safeParse(config).success).toBe(true);
  });
  test('needs at least one service and refuses unknown top-level keys', () => {
    expect(ConfigSchema.safeParse({ services: [] }).success).toBe(false);
    expect(ConfigSchema.safeParse({ services: [], rulez: [] }).error?.issues.map((i) => i.code)).toContain('unrecognized_keys');
  });
});

describe('policy schema', () => {
  test('JSON Schema export describes the artifact', () => {
    const schema = policyJsonSchema();
    expect(schema.type).toBe('object');
    expect(Object.keys(schema.properties as object)).toEqual(expect.arrayContaining(['hash', 'rules', 'roles', 'cors']));
  });
  test('refuses another artifact version', () => {
    const r = PolicySchema.safeParse({ artifactVersion: 999 });
    expect(r.error?.issues.some((i) => i.path[0] === 'artifactVersion')).toBe(true);
  });
});
