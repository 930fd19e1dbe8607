import { describe, expect, test } from 'vitest';
import { analyzeCodeRule } from './code-rule.js';

type Fn = (...args: never[]) => unknown;
const problems = (fn: Fn) => analyzeCodeRule(fn).problems;

describe('code rule analysis', () => {
  test('a self-contained function has no problems and keeps its source', () => {
    const fn = (args: { auth?: { role?: string } }) => ['admin'].includes(String(args.auth?.role)) && Math.max(1, 2) > 0;
    const r = analyzeCodeRule(fn as Fn);
    expect(r.problems).toEqual([]);
    expect(r.async).toBe(false);
    expect(r.source).toBe(fn.toString());
  });

  test('locals, destructuring, inner functions, catch bindings and labels are its own', () => {
    const fn = ({ auth, find }: { auth?: { id?: string }; find?: { userId?: string } }) => {
      const [first = ''] = [auth?.id];
      function same(a: unknown, b: unknown) {
        return a === b;
      }
      let ok = false;
      outer: for (const x of [1]) {
        try {
          ok = same(first, find?.userId) && x === 1;
        } catch (error) {
          ok = error === undefined;
        }
        break outer;
      }
      return ok;
    };
    expect(problems(fn as Fn)).toEqual([]);
  });

  test('names from outside the function are reported, once each', () => {
    const staff = ['admin'];
    const limit = 3;
    const fn = (args: { auth?: { role?: string } }) => staff.includes(String(args.auth?.role)) && staff.length < limit;
    expect(problems(fn as Fn)).toEqual([
      { kind: 'free', name: 'staff' },
      { kind: 'free', name: 'limit' },
    ]);
  });

  test('shorthand properties are references too', () => {
    const role = 'admin';
    const fn = () => JSON.stringify({ role }) !== '';
    expect(problems(fn)).toEqual([{ kind: 'free', name: 'role' }]);
  });

  test('escape hatches are refused even when spelled as properties', () => {
    /* eslint-disable */
    const viaProcess = () => (globalThis as unknown as { process: { env: object } }).process.env !== undefined;
    const viaConstructor = (args: object) => (args as { constructor: unknown }).constructor !== Object;
    const viaBracket = (args: Record<string, unknown>) => args['__proto__'] !== null;
    const viaEval = () => (0, eval)('1') === 1;
    expect(problems(viaProcess)).toEqual([{ kind: 'forbidden', name: 'globalThis' }]);
    expect(problems(viaConstructor as Fn)).toEqual([{ kind: 'forbidden-property', name: 'constructor' }]);
    expect(problems(viaBracket as Fn)).toEqual([{ kind: 'forbidden-property', name: '__proto__' }]);
    expect(problems(viaEval)).toEqual([{ kind: 'forbidden', name: 'eval' }]);
  });

  test('`this` and dynamic import are refused', () => {
    const withThis = function (this: { x?: number }) {
      return this.x === 1;
    };
    expect(problems(withThis)).toEqual([{ kind: 'this' }]);
    expect(problems(new Function('return import("fs")') as Fn)).toEqual([{ kind: 'dynamic-import' }]);
  });

  test('`this` inside a nested ordinary function is that function\'s own', () => {
    const fn = () => {
      const o = {
        v: 1,
        get() {
          return this.v;
        },
      };
      return o.get() === 1;
    };
    expect(problems(fn)).toEqual([]);
  });

  test('method syntax becomes a function expression; async is detected', () => {
    const holder = {
      async check(args: { auth?: object }) {
        return args.auth !== undefined;
      },
    };
    const r = analyzeCodeRule(holder.check as Fn);
    expect(r.problems).toEqual([]);
    expect(r.async).toBe(true);
    expect(r.source).toMatch(/^async function \(args\) \{/);
    const f = new Function(`return (${r.source})`)() as (a: object) => Promise<boolean>;
    return expect(f({ auth: {} })).resolves.toBe(true);
  });

  test('functions without portable source are reported', () => {
    expect(problems(Math.max as Fn)).toEqual([{ kind: 'not-a-function', detail: 'a built-in or bound function has no source' }]);
    expect(problems(((a: unknown) => a).bind(null) as Fn)).toEqual([{ kind: 'not-a-function', detail: 'a built-in or bound function has no source' }]);
    function* gen() {
      yield true;
    }
    expect(problems(gen as Fn)).toEqual([{ kind: 'not-a-function', detail: 'a generator cannot decide a rule' }]);
  });
});
