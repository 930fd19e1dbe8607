/**
 * What the define* functions return must be what `@dfc/schema`'s zod schemas
 * accept: this keeps the authoring types and the validator in step.
 */
import { describe, expectTypeOf, test } from 'vitest';
import type { z } from 'zod';
import type {
  AppSchema,
  ConfigSchema,
  CorsSchema,
  RequirementSchema,
  RoleSchema,
  RuleSetSchema,
  ServiceSchema,
  SourceRule,
} from '@dfc/schema';
import type { App, Config, Cors, RequirementValue, Role, RuleSet, RuleValue, Service } from 'dfc';
import config, { blog, postRules, editor, webApp, corsBlog, userRules } from '../../examples/blog/dfc.config.js';

describe('returned values fit the zod input types', () => {
  test('the general types', () => {
    expectTypeOf<Config>().toExtend<z.input<typeof ConfigSchema>>();
    expectTypeOf<Service>().toExtend<z.input<typeof ServiceSchema>>();
    expectTypeOf<RuleSet>().toExtend<z.input<typeof RuleSetSchema>>();
    expectTypeOf<Role>().toExtend<z.input<typeof RoleSchema>>();
    expectTypeOf<App>().toExtend<z.input<typeof AppSchema>>();
    expectTypeOf<Cors>().toExtend<z.input<typeof CorsSchema>>();
    expectTypeOf<RequirementValue>().toExtend<z.input<typeof RequirementSchema>>();
    // the rule schemas are recursive (typed as ZodType<SourceRule>): compare with their TypeScript type
    expectTypeOf<RuleValue>().toExtend<SourceRule>();
  });

  test('the values of examples/blog', () => {
    expectTypeOf(config).toExtend<z.input<typeof ConfigSchema>>();
    expectTypeOf(blog).toExtend<z.input<typeof ServiceSchema>>();
    expectTypeOf(postRules).toExtend<z.input<typeof RuleSetSchema>>();
    expectTypeOf(userRules.rules.read).toExtend<SourceRule | undefined>();
    expectTypeOf(editor).toExtend<z.input<typeof RoleSchema>>();
    expectTypeOf(webApp).toExtend<z.input<typeof AppSchema>>();
    expectTypeOf(corsBlog).toExtend<z.input<typeof CorsSchema>>();
  });
});
