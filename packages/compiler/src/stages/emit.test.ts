import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { policyHash, type Policy } from '@dfc/schema';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { copyFixture, snapshotDir, tempDir } from '../../../../test/fixtures/helpers.js';
import { build, check } from '../index.js';
import { ARTIFACT_FILES, emit, nodeFileSystem, type EmitFileSystem } from './emit.js';

let tmp: ReturnType<typeof tempDir>;
let policy: Policy;
let changed: Policy;
beforeAll(async () => {
  tmp = tempDir();
  const dir = copyFixture('minimal', tmp.dir);
  const result = await check({ config: dir });
  policy = result.policy!;
  changed = { ...policy, debug: false, environment: 'development', hash: '' };
  changed.hash = policyHash(changed);
});
afterAll(() => tmp.cleanup());

type Op = 'writeNew' | 'link' | 'rename' | 'syncDir' | 'mkdir';

/** The real file system, except that the `n`th call of `op` fails with EIO. */
function failing(op: Op, n: number): EmitFileSystem & { calls: Record<string, number> } {
  const calls: Record<string, number> = {};
  const wrap = <A extends unknown[], R>(name: Op, fn: (...args: A) => Promise<R>) => async (...args: A): Promise<R> => {
    calls[name] = (calls[name] ?? 0) + 1;
    if (name === op && calls[name] === n) throw Object.assign(new Error('injected'), { code: 'EIO', syscall: name });
    return fn(...args);
  };
  return {
    ...nodeFileSystem,
    calls,
    writeNew: wrap('writeNew', nodeFileSystem.writeNew),
    link: wrap('link', nodeFileSystem.link),
    rename: wrap('rename', nodeFileSystem.rename),
    syncDir: wrap('syncDir', nodeFileSystem.syncDir),
    mkdir: wrap('mkdir', nodeFileSystem.mkdir),
  };
}

function moduleFor(p: Policy): string {
  return `export const hash = ${JSON.stringify(p.hash)};\n`;
}

describe('emit', () => {
  test('writes the three files, policy.json last, and no temp file stays behind', async () => {
    const out = join(tmp.dir, 'fresh');
    const order: string[] = [];
    const fs: EmitFileSystem = { ...nodeFileSystem, rename: async (a, b) => (order.push(b.slice(out.length + 1)), nodeFileSystem.rename(a, b)) };
    const r = await emit({ outDir: out, policy, module: moduleFor(policy), fs });
    expect(r.diagnostics).toEqual([]);
    expect(order).toEqual([...ARTIFACT_FILES]);
    expect(readdirSync(out).sort()).toEqual(['policy.json', 'policy.mjs', 'policy.schema.json']);
    expect(JSON.parse(readFileSync(join(out, 'policy.json'), 'utf8')).hash).toBe(policy.hash);
  });

  // Every step that can fail, at every call: the directory must be exactly as before.
  // (policy.schema.json does not change here, so two files are replaced.)
  const points: [Op, number][] = [
    ['writeNew', 1],
    ['writeNew', 2],
    ['link', 1],
    ['link', 2],
    ['rename', 1],
    ['rename', 2],
    ['syncDir', 1],
  ];
  test.each(points)('a failure in %s #%i leaves the old pair in place', async (op, n) => {
    const out = join(tmp.dir, `replace-${op}-${n}`);
    expect((await emit({ outDir: out, policy, module: moduleFor(policy) })).diagnostics).toEqual([]);
    const before = snapshotDir(out);
    const fs = failing(op, n);
    const r = await emit({ outDir: out, policy: changed, module: moduleFor(changed), fs });
    expect(fs.calls[op]).toBeGreaterThanOrEqual(n); // the failure really happened
    expect(r.diagnostics.map((d) => d.code)).toEqual(['DFC5002']);
    expect(r.diagnostics[0]!.notes).toContain('the output directory was left as it was');
    expect(snapshotDir(out)).toEqual(before);
  });

  test('a failure in a directory emit created removes the directory again', async () => {
    const out = join(tmp.dir, 'created', 'nested');
    const fs = failing('rename', 2);
    const r = await emit({ outDir: out, policy, module: moduleFor(policy), fs });
    expect(r.diagnostics.map((d) => d.code)).toEqual(['DFC5002']);
    expect(existsSync(join(tmp.dir, 'created'))).toBe(false);
  });

  test('an output path that is a file is DFC5001 and is left alone', async () => {
    const out = join(tmp.dir, 'a-file');
    writeFileSync(out, 'keep me');
    const r = await emit({ outDir: out, policy, module: moduleFor(policy) });
    expect(r.diagnostics.map((d) => d.code)).toEqual(['DFC5001']);
    expect(readFileSync(out, 'utf8')).toBe('keep me');
  });

  test('temp files of a killed build are removed by the next successful one, and only those', async () => {
    const out = join(tmp.dir, 'stale');
    mkdirSync(out);
    // A pid that cannot exist (above the kernel's maximum) stands for a killed build.
    writeFileSync(join(out, '.dfc-99999999-00000000-tmp-policy.json'), 'half');
    writeFileSync(join(out, `.dfc-${process.pid}-11111111-tmp-policy.json`), 'a build of this process in flight');
    writeFileSync(join(out, 'notes.txt'), 'mine');
    await emit({ outDir: out, policy, module: moduleFor(policy) });
    expect(readdirSync(out).sort()).toEqual([`.dfc-${process.pid}-11111111-tmp-policy.json`, 'notes.txt', 'policy.json', 'policy.mjs', 'policy.schema.json']);
  });

  test('build reports an emit failure through the injected file system, with the output untouched', async () => {
    const dir = copyFixture('minimal', join(tmp.dir, 'via-build'));
    const first = await build({ config: dir });
    expect(first.ok).toBe(true);
    const before = snapshotDir(join(dir, 'dist'));
    const config = join(dir, 'dfc.config.ts');
    writeFileSync(config, readFileSync(config, 'utf8').replace("update: { rule: 'deny' }", "update: { rule: 'authenticated' }"));
    const r = await build({ config: dir, emitFileSystem: failing('rename', 2) });
    expect(r.ok).toBe(false);
    expect(r.diagnostics.map((d) => d.code)).toEqual(['DFC5002']);
    expect(snapshotDir(join(dir, 'dist'))).toEqual(before);
    expect((await build({ config: dir })).ok).toBe(true);
    expect(snapshotDir(join(dir, 'dist'))).not.toEqual(before);
  });
});
