import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { DFC_VERSION } from '@dfc/schema';

// policy.json records the dfc version; it must be the version of the packages
// that wrote it (changesets bump all packages together: .changeset/config.json `fixed`).
test('DFC_VERSION matches every package version', () => {
  for (const dir of ['config', 'schema', 'rules', 'compiler', 'runtime', 'cli']) {
    const pkg = JSON.parse(readFileSync(join(import.meta.dirname, '../../packages', dir, 'package.json'), 'utf8'));
    expect(pkg.version, dir).toBe(DFC_VERSION);
  }
});
