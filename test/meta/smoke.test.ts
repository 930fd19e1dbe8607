import { expect, test } from 'vitest';
import { ping } from '@dfc/schema';
test('source condition resolves', () => { expect(ping).toBe('schema'); });
