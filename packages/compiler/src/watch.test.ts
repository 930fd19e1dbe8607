import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { copyFixture, snapshotDir, tempDir } from '../../../test/fixtures/helpers.js';
import type { CompileResult } from './pipeline.js';
import { watch, type WatchHandle } from './watch.js';
import { watchLoop } from './watch-loop.js';
import { check } from './index.js';
import { warmUp, type CompilerSession } from './pipeline.js';

let tmp: ReturnType<typeof tempDir>;
beforeAll(() => {
  tmp = tempDir();
});
afterAll(() => tmp.cleanup());

/** Results as they arrive; `next()` waits (bounded) for the next one. */
function collector() {
  const results: { result: CompileResult; changed: string[] }[] = [];
  let wake: (() => void) | undefined;
  return {
    onResult(result: CompileResult, changed: string[]) {
      results.push({ result, changed });
      wake?.();
    },
    async next(count: number) {
      const deadline = Date.now() + 30_000;
      while (results.length < count) {
        if (Date.now() > deadline) throw new Error(`no build result ${count} within 30 s`);
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, 200);
        });
      }
      return results[count - 1]!;
    },
    results,
  };
}

test('rebuilds on changes to the config and its imports, keeps the last good output after an error', async () => {
  const dir = copyFixture('minimal', tmp.dir);
  const config = join(dir, 'dfc.config.ts');
  const original = readFileSync(config, 'utf8');
  // Move the table's rules into an imported module, so the watch list holds two files.
  writeFileSync(
    join(dir, 'access.ts'),
    "export const updateRule = { rule: 'deny' } as const;\n",
  );
  writeFileSync(
    config,
    "import { updateRule } from './access.js';\n" + original.replace("update: { rule: 'deny' }", 'update: updateRule'),
  );
  const c = collector();
  let handle: WatchHandle | undefined;
  try {
    handle = watch({ config: dir, debounceMs: 20 }, c.onResult);
    const first = await c.next(1);
    expect(first.result.diagnostics).toEqual([]);
    expect(first.result.inputs).toEqual([join(dir, 'access.ts'), config]);
    const firstHash = first.result.policy!.hash;

    // A change to the imported file rebuilds.
    writeFileSync(join(dir, 'access.ts'), "export const updateRule = { rule: 'authenticated' } as const;\n");
    const second = await c.next(2);
    expect(second.changed).toEqual([join(dir, 'access.ts')]);
    expect(second.result.ok).toBe(true);
    expect(second.result.policy!.hash).not.toBe(firstHash);
    expect(second.result.policy!.rules.shop!.orders!.update).toEqual({ rule: 'authenticated' });
    const good = snapshotDir(join(dir, 'dist'));

    // A broken config is reported and the output stays as the last good build left it.
    writeFileSync(config, readFileSync(config, 'utf8').replace("eval: '=='", "eval: '=='  ,,"));
    const third = await c.next(3);
    expect(third.result.ok).toBe(false);
    expect(third.result.diagnostics[0]!.code).toBe('DFC2001');
    expect(snapshotDir(join(dir, 'dist'))).toEqual(good);

    // Fixing it builds again.
    writeFileSync(config, readFileSync(config, 'utf8').replace("eval: '=='  ,,", "eval: '=='"));
    const fourth = await c.next(4);
    expect(fourth.result.ok).toBe(true);
    expect(fourth.result.policy!.hash).toBe(second.result.policy!.hash);
  } finally {
    await handle?.close();
  }
  const count = c.results.length;
  writeFileSync(config, original);
  await new Promise((resolve) => setTimeout(resolve, 300));
  expect(c.results.length).toBe(count); // closed: no more builds
});

test('each rebuild reports what a cold build of the same files reports, when an edit breaks a file that did not change', async () => {
  const dir = copyFixture('minimal', tmp.dir);
  const config = join(dir, 'dfc.config.ts');
  const access = join(dir, 'access.ts');
  writeFileSync(access, "export const updateRule = { rule: 'deny' } as const;\nexport const note = 'orders';\n");
  writeFileSync(config, "import { updateRule } from './access.js';\n" + readFileSync(config, 'utf8').replace("update: { rule: 'deny' }", 'update: updateRule'));
  const c = collector();
  let handle: WatchHandle | undefined;
  const sameAsCold = async (result: CompileResult) => {
    const cold = await check({ config: dir });
    expect(result.diagnostics).toEqual(cold.diagnostics);
    expect(result.ok).toBe(cold.ok);
    expect(result.policy).toEqual(cold.policy);
    expect(result.module).toEqual(cold.module);
  };
  try {
    handle = watch({ config: dir, debounceMs: 20 }, c.onResult);
    await sameAsCold((await c.next(1)).result);

    // access.ts changes where the config does not look: nothing else to report.
    writeFileSync(access, readFileSync(access, 'utf8').replace("note = 'orders'", "note = 'all orders'"));
    const second = await c.next(2);
    expect(second.result.ok).toBe(true);
    await sameAsCold(second.result);

    // The name the config imports is gone: the unchanged config has an error.
    writeFileSync(access, readFileSync(access, 'utf8').replace('export const updateRule =', 'export const updateRules ='));
    const third = await c.next(3);
    expect(third.result.diagnostics.map((d) => `${d.code} ${d.file?.split('/').pop()}:${d.line}`)).toEqual(['DFC2004 dfc.config.ts:1']);
    await sameAsCold(third.result);

    // Named back, with another rule: the config builds again, with that rule.
    writeFileSync(access, readFileSync(access, 'utf8').replace("export const updateRules = { rule: 'deny' }", "export const updateRule = { rule: 'authenticated' }"));
    const fourth = await c.next(4);
    expect(fourth.result.ok).toBe(true);
    expect(fourth.result.policy!.rules.shop!.orders!.update).toEqual({ rule: 'authenticated' });
    await sameAsCold(fourth.result);
  } finally {
    await handle?.close();
  }
});

test('the loop does its after-first work once, after the first report, and a change that arrives meanwhile runs after it', async () => {
  const dir = join(tmp.dir, 'after-first');
  mkdirSync(dir);
  const input = join(dir, 'input.txt');
  writeFileSync(input, 'a');
  const events: string[] = [];
  let runs = 0;
  let finish = () => {};
  const started = new Promise<void>((resolve) => {
    finish = resolve;
  });
  let release = () => {};
  const gate = new Promise<void>((resolve) => (release = resolve));
  const loop = watchLoop<number>({
    run: async () => {
      events.push(`run ${++runs}`);
      return runs;
    },
    inputs: () => [input],
    prune: () => true,
    report: (n) => events.push(`report ${n}`),
    afterFirst: async () => {
      events.push('after first');
      finish();
      await gate;
      events.push('after first done');
    },
    debounceMs: 20,
  });
  try {
    // Ready at the first report, not once the work after it is done.
    await loop.ready;
    expect(events.slice(0, 2)).toEqual(['run 1', 'report 1']);
    await started;
    writeFileSync(input, 'b');
    release();
    const deadline = Date.now() + 30_000;
    while (!events.includes('report 2') && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(events).toEqual(['run 1', 'report 1', 'after first', 'after first done', 'run 2', 'report 2']);
  } finally {
    await loop.close();
  }
});

test('the warm-up after the first build leaves the session as the build left it', async () => {
  const dir = copyFixture('minimal', tmp.dir);
  const config = join(dir, 'dfc.config.ts');
  writeFileSync(join(dir, 'access.ts'), "export const updateRule = { rule: 'deny' } as const;\nexport const limit: number = 'ten';\n");
  writeFileSync(config, "import { updateRule } from './access.js';\n" + readFileSync(config, 'utf8').replace("update: { rule: 'deny' }", 'update: updateRule'));
  const session: CompilerSession = {};
  const first = await check({ config: dir, session });
  expect(first.diagnostics.map((d) => `${d.code} ${d.file?.split('/').pop()}:${d.line}`)).toEqual(['DFC2003 access.ts:2']);
  const kept = structuredClone(session.typecheck);
  warmUp({ config: dir, session });
  expect(session.typecheck).toEqual(kept);
  // And the next build reports what it reported.
  expect((await check({ config: dir, session })).diagnostics).toEqual(first.diagnostics);
});
