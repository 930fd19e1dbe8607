import * as config from '@dfc/config';
import { expect, test } from 'vitest';
import * as dfc from './index.js';

test('`dfc` exports exactly the authoring API of @dfc/config', () => {
  expect(Object.keys(dfc).sort()).toEqual(Object.keys(config).sort());
  for (const name of Object.keys(config)) expect(dfc[name as keyof typeof dfc]).toBe(config[name as keyof typeof config]);
  expect(typeof dfc.defineConfig).toBe('function');
  expect(dfc.secret('API_KEY')).toEqual({ $secret: 'API_KEY' });
});
