import { Option } from 'commander';
import {
  diffPolicies,
  loadPolicyAtRevision,
  loadPolicySide,
  renderDiff,
  type DiffFormat,
  type PolicySide,
} from '@dfc/compiler';
import { formatText } from '../output/format.js';
import { EXIT, type DfcCommand } from './command.js';

const FORMATS: readonly DiffFormat[] = ['text', 'markdown', 'json'];

/**
 * `dfc diff <old> <new>` / `dfc diff --base <ref> [config]`: what a policy change
 * means, each change classed as broadening, narrowing or neutral.
 */
const command: DfcCommand = {
  name: 'diff',
  configure(cmd) {
    cmd
      .description('show what changes in meaning between two policies (artifact directories, configs, or a git revision)')
      .argument('[old]', 'the policy before: an artifact directory, a config file, or a directory holding one')
      .argument('[new]', 'the policy after (same forms)')
      .option('--base <ref>', 'compare the config as it was at this git revision with the working tree ([old] then names the config)')
      .addOption(new Option('--format <format>', 'output format').choices(FORMATS).default('text'))
      .addOption(new Option('--fail-on <what>', 'exit 1 when a change of this kind is found').choices(['broaden', 'any']));
  },
  async run(args, io) {
    const [first, second] = args.operands;
    const base = args.options.base as string | undefined;
    let sides: [PolicySide, PolicySide];
    if (base !== undefined) {
      if (second !== undefined) {
        io.err('dfc diff: with `--base`, give at most one config (the working-tree version is compared with the revision)\n');
        return EXIT.usage;
      }
      const config = first ?? '.';
      sides = await Promise.all([loadPolicyAtRevision(base, config, { cwd: io.cwd }), loadPolicySide(config, { cwd: io.cwd })]);
    } else {
      if (first === undefined || second === undefined) {
        io.err('dfc diff: give two policies (`dfc diff old new`) or a revision (`dfc diff --base main`)\n');
        return EXIT.usage;
      }
      sides = await Promise.all([loadPolicySide(first, { cwd: io.cwd }), loadPolicySide(second, { cwd: io.cwd })]);
    }
    const [before, after] = sides;
    if (!before.policy || !after.policy) {
      for (const side of sides) {
        const errors = side.diagnostics.filter((d) => d.severity === 'error');
        if (side.policy || errors.length === 0) continue;
        io.err(formatText(errors, { cwd: io.cwd, color: io.color.err }));
        io.err(`dfc diff: \`${side.label}\` could not be read or built\n`);
      }
      return EXIT.failed;
    }
    const diff = diffPolicies(before.policy, after.policy);
    io.out(renderDiff(diff, args.options.format as DiffFormat));
    return failed(args.options.failOn as string | undefined, diff.summary) ? EXIT.failed : EXIT.ok;
  },
};

function failed(failOn: string | undefined, summary: { broadens: number; narrows: number; neutral: number }): boolean {
  if (failOn === 'broaden') return summary.broadens > 0;
  if (failOn === 'any') return summary.broadens + summary.narrows + summary.neutral > 0;
  return false;
}

export default command;
