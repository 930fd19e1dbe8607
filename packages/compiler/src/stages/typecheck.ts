import { realpathSync, statSync } from 'node:fs';
import { dirname, join, sep } from 'node:path';
import type * as TS from 'typescript';
import type { DiagnosticCode } from '../diagnostics/codes.js';
import { diagnostic, type Diagnostic } from '../diagnostics/diagnostic.js';
import { DFC_SPECIFIERS, dfcConfigPackage } from '../source/dfc-package.js';
import { SECRET_HINT } from '../lints/security.js';
import { spanOfNode } from '../source/locate.js';
import { changedRules, isPlainData, onlyRulesChanged, returnsFromFirstTwo } from '../source/rule-edit.js';
import { ts } from '../source/typescript.js';

export interface TypecheckInput {
  configFile: string;
  /** More files checked in the same program (policy tests, which import the config). */
  alsoCheck?: readonly string[] | undefined;
  configDir: string;
  /** The previous run's session (`--watch` rebuilds). */
  session?: TypecheckSession | undefined;
  /** Keep, in the returned session, what the next run can reuse (a caller that rebuilds). */
  incremental?: boolean | undefined;
  /**
   * `false`: the authoring types' checks are off (`TypeSettings` `checks: false` in
   * @dfc/config): a much cheaper check that still finds every error in the user's
   * own code, but not a wrong path, column, table or role in a define* call (the
   * validate and analyze stages find those). Default `true`.
   */
  authoringChecks?: boolean | undefined;
  /**
   * A user file to check again as if it had changed since `session` (the watcher's
   * warm-up, see `warmUp` in pipeline.ts): it is read from source, checked and its
   * declarations emitted, whatever its stamp says.
   */
  checkAgain?: string | undefined;
}

export interface TypecheckOutput {
  diagnostics: Diagnostic[];
  program: TS.Program;
  /** The user's own source files in the program (the config and what it imports). */
  files: string[];
  /** Pass back as `session` on the next run. */
  session: TypecheckSession;
}

/**
 * What one run leaves for the next. Not the program: holding it kept its type checker
 * alive while the next run built another, and a rebuild of a 1,000-table config ran out
 * of heap; parsed files are reused through the document cache below instead (passing
 * the old program saved nothing measurable on top of it).
 *
 * What it keeps is text: the declarations (`.d.ts`) of the user's imported files as
 * the run inferred them. A file that has not changed since, had no error, and imports
 * only such files is given to the next run's program as its declarations: the checker
 * then reads its exported types instead of inferring them again from every
 * `defineService`/`defineRule` call in it (a TypeScript builder program re-checks
 * only changed files too, but checking the config still infers every imported file's
 * exports, which is nearly all of the work).
 */
export interface TypecheckSession {
  readonly optionsKey: string;
  /** Per imported user file (not the config, not a policy test). */
  readonly declarations?: ReadonlyMap<string, FileDeclarations>;
  /**
   * Stamps of the other files the program read (dfc's types, packages, the standard
   * library): declarations are reused only while none of them changed.
   */
  readonly libraryStamps?: ReadonlyMap<string, string>;
  /**
   * What checking each user file found (the config and policy tests included). A file
   * that has not changed, whose imports resolve as before and whose imports' exported
   * types are unchanged (their declarations are the same text) is not checked again:
   * its errors are these. Absent after a run that could not record them (a syntax
   * error, an error outside any file, a file that changes the global scope).
   */
  readonly checks?: ReadonlyMap<string, FileCheck>;
}

/** A user file's check as one run did it (or took it over from the run before). */
export interface FileCheck {
  /** The file's mtime and size when it was read. */
  readonly stamp: string;
  /** How each of its imports resolved. */
  readonly resolutions: string;
  /** Its errors. */
  readonly diagnostics: readonly Diagnostic[];
}

/** A file's declarations as one run emitted them. */
export interface FileDeclarations {
  /** The file's mtime and size when it was read. */
  readonly stamp: string;
  /** The `.d.ts` text. */
  readonly text: string;
  /** The user files it imports. */
  readonly imports: readonly string[];
}

/**
 * Options used when the config's directory has no tsconfig.json. `Bundler`
 * resolution matches what load (esbuild) accepts; `types: []` keeps the program to
 * the config, its imports and the standard library (which keeps it fast).
 */
const DEFAULT_OPTIONS: TS.CompilerOptions = {
  target: ts.ScriptTarget.ES2023,
  lib: ['lib.es2023.d.ts'],
  module: ts.ModuleKind.ESNext,
  moduleResolution: ts.ModuleResolutionKind.Bundler,
  strict: true,
  skipLibCheck: true,
  isolatedModules: true,
  allowImportingTsExtensions: true,
  resolveJsonModule: true,
  esModuleInterop: true,
  // A `.js`/`.mjs` config is parsed (syntax errors are reported) but not type-checked.
  allowJs: true,
  types: [],
};

/** Options that only matter for emitting, which typecheck never does. */
const EMIT_ONLY_OPTIONS = [
  'composite',
  'incremental',
  'tsBuildInfoFile',
  'declaration',
  'declarationMap',
  'emitDeclarationOnly',
  'sourceMap',
  'inlineSourceMap',
  'outDir',
  'outFile',
  'rootDir',
  'declarationDir',
] as const;

/**
 * Parsed source files shared by every program in this process, keyed by file,
 * language version and module format, and checked against the file's mtime and size.
 * The standard library's declarations are most of what a program parses; reusing
 * them makes every build after the first (watch rebuilds, tests) much faster.
 */
const documentCache = new Map<string, { stamp: string; file: TS.SourceFile }>();

/** The same for the declarations a rebuild reads in place of unchanged files, checked against their text. */
const declarationCache = new Map<string, { text: string; file: TS.SourceFile }>();

function stampOf(fileName: string): string | undefined {
  try {
    const s = statSync(fileName);
    return `${s.mtimeMs}:${s.size}`;
  } catch {
    return undefined;
  }
}

function compilerOptionsFor(configDir: string): { options: TS.CompilerOptions; diagnostics: readonly TS.Diagnostic[] } {
  const tsconfig = join(configDir, 'tsconfig.json');
  if (stampOf(tsconfig) === undefined) return { options: { ...DEFAULT_OPTIONS }, diagnostics: [] };
  const diagnostics: TS.Diagnostic[] = [];
  const parsed = ts.getParsedCommandLineOfConfigFile(
    tsconfig,
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (d) => diagnostics.push(d),
    },
  );
  if (!parsed) return { options: { ...DEFAULT_OPTIONS }, diagnostics };
  // Only problems with the options matter here; "no inputs found" and the like do not,
  // because the root file is always the config.
  diagnostics.push(...parsed.errors.filter((d) => d.code !== 18003));
  const options: TS.CompilerOptions = { ...parsed.options };
  for (const key of EMIT_ONLY_OPTIONS) delete options[key];
  return { options, diagnostics };
}

/**
 * A declaration file the program gets besides the config: it turns off the
 * documentation-only types of the authoring API (`TypeSettings` in @dfc/config),
 * which only give an editor its hover text and cost the checker most of its time
 * on large configs, and, unless `authoringChecks`, the authoring checks. Never
 * written to disk; never reported (a declaration file).
 *
 * Without the checks, it also gives `defineRule` a signature ahead of the declared
 * one (a module augmentation's overloads come first) for rule sets without a code
 * rule (`RuleSetWithoutCode`): one type for every table, which the checker relates a
 * rule set to once instead of inferring from it and checking it against its own
 * table's type. A rule set with a `fn` fails it and takes the declared signature,
 * as before; so does every call when the checks are on, as in an editor.
 */
function typeSettingsFile(dfcTypes: string, authoringChecks: boolean): { fileName: string; text: string; module: string } {
  let real = dfcTypes;
  try {
    real = realpathSync(dfcTypes);
  } catch {
    // keep the path as found
  }
  const module = JSON.stringify(real.replace(/\.d\.ts$|\.ts$/, '').split(sep).join('/'));
  const ruleSet = JSON.stringify(join(dirname(real), 'rule-set').split(sep).join('/'));
  const lines = ['export {};', `declare module ${module} {`, '  interface TypeSettings {', '    hoverDocs: false;'];
  if (!authoringChecks) lines.push('    checks: false;');
  lines.push('  }', '}');
  if (!authoringChecks) {
    const t = (name: string) => `import(${module}).${name}`;
    lines.push(
      `declare module ${ruleSet} {`,
      `  export function defineRule<S extends ${t('ServiceLike')}, T extends ${t('RuleTable')}<S>>(service: S, table: T, rules: ${t('RuleSetWithoutCode')}): ${t('RuleSet')}<S['name'], T>;`,
      '}',
    );
  }
  return {
    fileName: join(dirname(real), '__dfc_build_type_settings__.d.ts').split(sep).join('/'),
    text: lines.join('\n') + '\n',
    module,
  };
}

/** Whether every file still has the stamp it had (a missing file has none). */
function unchanged(stamps: ReadonlyMap<string, string> | undefined): boolean {
  if (!stamps) return false;
  for (const [file, stamp] of stamps) if ((stampOf(file) ?? '') !== stamp) return false;
  return true;
}

/** Where a reused file's declarations stand in the program (beside the file, so its imports resolve alike). */
const reusedName = (file: string) => file.replace(/\.ts$/, '.dfc-reused.d.ts');

/**
 * Files whose previous declarations still hold: unchanged since they were emitted,
 * and importing only such files (an error-free file whose import changed may infer
 * other types now).
 */
function reusableDeclarations(previous: ReadonlyMap<string, FileDeclarations> | undefined, roots: ReadonlySet<string>): Map<string, FileDeclarations> {
  const out = new Map<string, FileDeclarations>();
  if (!previous) return out;
  const state = new Map<string, boolean>();
  const ok = (file: string): boolean => {
    const known = state.get(file);
    if (known !== undefined) return known;
    const decl = previous.get(file);
    state.set(file, true); // an import cycle of unchanged files holds
    const result = decl !== undefined && !roots.has(file) && stampOf(file) === decl.stamp && decl.imports.every(ok);
    state.set(file, result);
    return result;
  };
  for (const [file, decl] of previous) if (ok(file)) out.set(file, decl);
  return out;
}

export function typecheck(input: TypecheckInput): TypecheckOutput {
  const { options: userOptions, diagnostics: configDiagnostics } = compilerOptionsFor(input.configDir);
  const options: TS.CompilerOptions = { ...userOptions, noEmit: true, skipLibCheck: true };
  const authoringChecks = input.authoringChecks ?? true;
  const parseKey = JSON.stringify(options);
  const optionsKey = JSON.stringify({ ...options, authoringChecks });
  const dfc = dfcConfigPackage();
  const rootNames = [input.configFile, ...(input.alsoCheck ?? [])];
  const previousSession =
    input.incremental && input.session?.optionsKey === optionsKey && unchanged(input.session.libraryStamps) ? input.session : undefined;
  // Declarations stand for their files only while no file declares anything global (see
  // `keepsToItself`): the previous run's `checks` say that it found none.
  const previous = previousSession?.checks ? previousSession.declarations : undefined;
  let reused = reusableDeclarations(previous, new Set(input.checkAgain === undefined ? rootNames : [...rootNames, input.checkAgain]));
  let reusedByName = new Map([...reused].map(([file, decl]) => [reusedName(file), { file, decl }]));
  /** Stamps of the files as read, and how each file's imports resolved (reused declarations under their own file's name). */
  let readStamps = new Map<string, string>();
  let resolutionsOf = new Map<string, string[]>();
  /** The parse an earlier program had of a file read again from source because it changed. */
  const superseded = new Map<string, { stamp: string; file: TS.SourceFile }>();

  const host = ts.createCompilerHost(options, true);
  const settings = typeSettingsFile(dfc.types, authoringChecks);
  /** A rules argument on its own (see `rulesFit`), in a file of its own (never written) beside the config, where the user's files are. */
  const literal = { fileName: join(input.configDir, '__dfc_build_rules__.ts').split(sep).join('/'), text: '' };
  const baseGetSourceFile = host.getSourceFile.bind(host);
  const baseFileExists = host.fileExists.bind(host);
  host.fileExists = (fileName) => fileName === settings.fileName || fileName === literal.fileName || reusedByName.has(fileName) || baseFileExists(fileName);
  host.getSourceFile = (fileName, languageVersionOrOptions, onError, shouldCreate) => {
    if (fileName === settings.fileName) return ts.createSourceFile(fileName, settings.text, languageVersionOrOptions, true);
    if (fileName === literal.fileName) return ts.createSourceFile(fileName, literal.text, languageVersionOrOptions, true);
    const lv =
      typeof languageVersionOrOptions === 'object'
        ? `${languageVersionOrOptions.languageVersion}:${languageVersionOrOptions.impliedNodeFormat ?? ''}`
        : String(languageVersionOrOptions);
    const key = `${parseKey}\0${fileName}\0${lv}`;
    const reuse = reusedByName.get(fileName);
    if (reuse) {
      const parsed = declarationCache.get(key);
      if (parsed?.text === reuse.decl.text) return parsed.file;
      const file = ts.createSourceFile(fileName, reuse.decl.text, languageVersionOrOptions, true);
      declarationCache.set(key, { text: reuse.decl.text, file });
      return file;
    }
    const stamp = stampOf(fileName);
    if (stamp !== undefined) readStamps.set(fileName, stamp);
    const hit = documentCache.get(key);
    if (hit && stamp !== undefined && hit.stamp === stamp && !shouldCreate) return hit.file;
    if (hit) superseded.set(fileName, hit);
    const file = baseGetSourceFile(fileName, languageVersionOrOptions, onError, shouldCreate);
    if (file && stamp !== undefined) documentCache.set(key, { stamp, file });
    return file;
  };

  // `dfc` and `@dfc/config` resolve as usual when the project has them installed;
  // otherwise (a fresh `dfc init` directory) to the running dfc's own declarations.
  const resolutionCache = ts.createModuleResolutionCache(input.configDir, (s) => s, options);
  host.resolveModuleNameLiterals = (literals, containingFile, redirected, opts, containingSourceFile) =>
    literals.map((literal) => {
      const mode = ts.getModeForUsageLocation(containingSourceFile, literal, opts);
      const result = ts.resolveModuleName(literal.text, containingFile, opts, host, resolutionCache, redirected, mode);
      const resolved = result.resolvedModule;
      const from = reusedByName.get(containingFile)?.file ?? containingFile;
      const resolutions = resolutionsOf.get(from) ?? [];
      resolutionsOf.set(from, resolutions);
      resolutions.push(`${literal.text}\0${mode ?? ''}\0${resolved?.resolvedFileName ?? ''}\0${resolved?.isExternalLibraryImport ? 'external' : ''}`);
      if (resolved && !resolved.isExternalLibraryImport && reused.has(resolved.resolvedFileName)) {
        return { resolvedModule: { ...resolved, resolvedFileName: reusedName(resolved.resolvedFileName), extension: ts.Extension.Dts } };
      }
      if (resolved || !DFC_SPECIFIERS.has(literal.text)) return result;
      return {
        resolvedModule: {
          resolvedFileName: dfc.types,
          extension: dfc.types.endsWith('.d.ts') ? ts.Extension.Dts : ts.Extension.Ts,
          isExternalLibraryImport: true,
        },
      };
    });

  const createProgram = () =>
    ts.createProgram({
      rootNames: [...rootNames, settings.fileName],
      options,
      host,
      configFileParsingDiagnostics: configDiagnostics,
    });
  let program = createProgram();
  const isUser = (sf: TS.SourceFile) => isUserFile(program, sf, dfc.dir) || reusedByName.has(sf.fileName);
  const keepToThemselves = () => program.getSourceFiles().every((sf) => !isUser(sf) || keepsToItself(sf));
  let everyFileLocal = keepToThemselves();
  if (!everyFileLocal && reused.size > 0) {
    // A file now declares something global, which may change what another file's
    // declarations say: every file is read from source.
    reused = new Map();
    reusedByName = new Map();
    readStamps = new Map();
    resolutionsOf = new Map();
    program = createProgram();
    everyFileLocal = keepToThemselves();
  }

  const userFiles = program.getSourceFiles().filter((sf) => isUserFile(program, sf, dfc.dir));
  const userNames = new Set(userFiles.map((sf) => sf.fileName));
  const reusedInProgram = [...reusedByName].filter(([name]) => program.getSourceFile(name)).map(([, r]) => r);
  const files = [...userNames, ...reusedInProgram.map((r) => r.file)].sort();
  const libraryStamps = new Map(
    program
      .getSourceFiles()
      .filter((sf) => !files.includes(sf.fileName) && !reusedByName.has(sf.fileName) && sf.fileName !== settings.fileName)
      .map((sf) => [sf.fileName, readStamps.get(sf.fileName) ?? ''] as const),
  );
  /** The user files each user file imports (reused declarations under their own file's name). */
  const importsOf = new Map<string, string[]>();
  const importers = new Map<string, string[]>();
  const allUser = new Set(files);
  for (const [file, resolutions] of resolutionsOf) {
    const imports = [...new Set(resolutions.map((r) => r.split('\0')[2]!).filter((f) => allUser.has(f)))].sort();
    importsOf.set(file, imports);
    for (const imported of imports) {
      const list = importers.get(imported);
      if (list) list.push(file);
      else importers.set(imported, [file]);
    }
  }
  const resolutionKey = (file: string) => (resolutionsOf.get(file) ?? []).join('\n');

  /** A call of dfc's `defineRule` (whose result does not depend on its rules), not of a function of the user's. */
  const isRulesCall = (call: TS.CallExpression): boolean => {
    const checker = program.getTypeChecker();
    let symbol = checker.getSymbolAtLocation(call.expression);
    if (symbol && symbol.flags & ts.SymbolFlags.Alias) symbol = checker.getAliasedSymbol(symbol);
    const declarations = symbol?.name === 'defineRule' ? (symbol.declarations ?? []) : [];
    return declarations.every((d) => !isUserFile(program, d.getSourceFile(), dfc.dir)) && returnsFromFirstTwo(declarations);
  };

  /**
   * Whether a rules argument written as plain data is a rule set the first pass's
   * `defineRule` signature takes (`RuleSetWithoutCode`): checked on its own, in a small
   * program of its own, as that signature's parameter would check it.
   */
  const rulesFit = (text: string): boolean => {
    literal.text = `import type { RuleSetWithoutCode } from ${settings.module};\nexport const rules: RuleSetWithoutCode = ${text};\n`;
    const alone = ts.createProgram({ rootNames: [literal.fileName, settings.fileName], options, host });
    const sf = alone.getSourceFile(literal.fileName);
    if (!sf) return false;
    const errors = [...alone.getSyntacticDiagnostics(sf), ...alone.getGlobalDiagnostics(), ...alone.getSemanticDiagnostics(sf)];
    return errors.every((d) => d.category !== ts.DiagnosticCategory.Error);
  };

  const fixed: TS.Diagnostic[] = [...configDiagnostics, ...program.getOptionsDiagnostics()];
  const syntactic = userFiles.flatMap((sf) => program.getSyntacticDiagnostics(sf));
  fixed.push(...syntactic);
  // As tsc does: semantic errors are noise while the file does not parse. JavaScript
  // files are only checked with `checkJs` or `// @ts-check`; without any file to check,
  // the type checker (the costly part) is never created.
  const checkable = new Set(
    userFiles.filter((sf) => !isJavaScript(sf) || options.checkJs === true || /^\s*\/\/\s*@ts-check\b/m.test(sf.text)).map((sf) => sf.fileName),
  );
  const semanticRun = syntactic.length === 0 && checkable.size > 0;
  if (semanticRun) fixed.push(...program.getGlobalDiagnostics());
  const fixedErrors = fixed.filter((d) => d.category === ts.DiagnosticCategory.Error);
  const diagnostics = fixedErrors.map((d) => toDiagnostic(d, configDiagnostics.includes(d)));

  // Checks of files found the same as before are taken over, while every file is a
  // module that leaves the global scope alone (a global declaration reaches files
  // that do not import it) and no error stands outside a file (options, globals).
  const localOnly = semanticRun && !fixedErrors.some((d) => !d.file) && everyFileLocal;
  const previousChecks = localOnly ? previousSession?.checks : undefined;
  const checks = new Map<string, FileCheck>();
  /** Declarations emitted this run for files checked without an error. */
  const emitted = new Map<string, string | undefined>();
  const withErrors = new Set<string>();
  if (semanticRun) {
    const takenOver = new Map<string, FileCheck>();
    for (const file of userNames) {
      const stamp = readStamps.get(file);
      const before = previousChecks?.get(file);
      if (before && stamp !== undefined && before.stamp === stamp && before.resolutions === resolutionKey(file) && file !== input.checkAgain) takenOver.set(file, before);
    }
    // A file read as its declarations had no error when they were emitted, and nothing it imports changed since.
    for (const r of reusedInProgram) {
      const before = previousChecks?.get(r.file);
      takenOver.set(r.file, before?.stamp === r.decl.stamp ? before : { stamp: r.decl.stamp, resolutions: resolutionKey(r.file), diagnostics: [] });
    }
    /**
     * Whether the previous check of a changed file still holds, so that it is not
     * checked again: in the first pass (no authoring checks), when that check found no
     * error, the file's imports resolve as before and are read as the declarations the
     * previous run emitted, and the only edit is inside the rules of one call of dfc's
     * `defineRule`, written as plain data that the first pass's signature takes. The
     * result's type does not depend on the rules, and plain data has no type but its
     * own, so nothing else in the file can check differently. (A rule set that does not
     * fit, or rules with code or names in them, are checked in the file as before.)
     */
    const checkHolds = (file: string, sf: TS.SourceFile): boolean => {
      if (authoringChecks || !input.incremental || file === input.checkAgain) return false;
      const before = previousChecks?.get(file);
      const parsedBefore = superseded.get(file);
      if (!before || before.diagnostics.length > 0 || before.resolutions !== resolutionKey(file) || parsedBefore?.stamp !== before.stamp) return false;
      if (!previous?.has(file) || !(importsOf.get(file) ?? []).every((f) => reused.has(f))) return false;
      const rules = changedRules(parsedBefore.file, sf, isRulesCall);
      return rules !== undefined && isPlainData(rules) && rulesFit(rules.getText(sf));
    };
    // Every file not taken over is checked, and so is every file importing one whose
    // exported types may have changed (no declarations to compare, or different ones).
    // In the program's order (imports before the files importing them), as a cold build checks them.
    const pending = [...userNames].filter((f) => !takenOver.has(f));
    const visited = new Set<string>();
    for (let next = 0; next < pending.length; next++) {
      const file = pending[next]!;
      const sf = program.getSourceFile(file);
      if (visited.has(file) || !sf) continue;
      visited.add(file);
      takenOver.delete(file);
      let fileErrors: TS.Diagnostic[] = [];
      // (When the check holds, the edit is one `onlyRulesChanged` accepts: not looked for twice.)
      const holds = checkable.has(file) && checkHolds(file, sf);
      if (checkable.has(file) && !holds) {
        fileErrors = program.getSemanticDiagnostics(sf).filter((d) => d.category === ts.DiagnosticCategory.Error);
        if (fileErrors.length > 0) withErrors.add(file);
      }
      const fileDiagnostics = fileErrors.map((d) => toDiagnostic(d, false));
      diagnostics.push(...fileDiagnostics);
      const stamp = readStamps.get(file);
      if (stamp !== undefined) checks.set(file, { stamp, resolutions: resolutionKey(file), diagnostics: fileDiagnostics });
      let same = false;
      if (mayDeclare(file, rootNames) && checkable.has(file) && fileErrors.length === 0 && stamp !== undefined && input.incremental) {
        const before = previous?.get(file);
        const parsedBefore = superseded.get(file);
        // Only while every user file it imports is read as the declarations the previous
        // run emitted: its exported types are then the same as when `before` was emitted.
        const importsAsBefore = (importsOf.get(file) ?? []).every((f) => reused.has(f));
        if (before && parsedBefore?.stamp === before.stamp && importsAsBefore && (holds || onlyRulesChanged(parsedBefore.file, sf, isRulesCall))) {
          emitted.set(file, before.text);
          same = true;
        } else {
          const text = emitDeclarations(program, sf);
          emitted.set(file, text);
          same = text !== undefined && text === before?.text;
        }
      }
      if (!same) for (const importer of importers.get(file) ?? []) if (!visited.has(importer)) pending.push(importer);
    }
    for (const [file, check] of takenOver) {
      checks.set(file, check);
      diagnostics.push(...check.diagnostics);
      if (check.diagnostics.length > 0) withErrors.add(file);
    }
  }

  let session: TypecheckSession = { optionsKey };
  if (input.incremental && !semanticRun) {
    // Nothing was checked (a syntax error): what the previous run kept still holds for
    // the files it describes, stamped as they were then, and so do the stamps it relied on.
    session = previousSession
      ? { ...previousSession, libraryStamps: new Map([...(previousSession.libraryStamps ?? []), ...libraryStamps]) }
      : { optionsKey, declarations: new Map(), libraryStamps };
  } else if (input.incremental) {
    // (Without `checks`, the next run reads no declarations: none are kept.)
    const declarations = new Map(localOnly ? reusedInProgram.map((r) => [r.file, r.decl]) : []);
    if (localOnly) {
      for (const sf of userFiles) {
        const file = sf.fileName;
        const stamp = readStamps.get(file);
        if (!mayDeclare(file, rootNames) || withErrors.has(file) || stamp === undefined) continue;
        // A file taken over keeps the declarations it had (it was not checked: emitting them would check it).
        const text = emitted.has(file) ? emitted.get(file) : previous?.get(file)?.stamp === stamp ? previous.get(file)!.text : emitDeclarations(program, sf);
        if (text !== undefined) declarations.set(file, { stamp, text, imports: importsOf.get(file) ?? [] });
      }
    }
    session = localOnly ? { optionsKey, declarations, libraryStamps, checks } : { optionsKey, declarations, libraryStamps };
  }
  return { diagnostics, program, files, session };
}

/** Whether the next run may read this file as its declarations (an imported TypeScript file). */
function mayDeclare(file: string, rootNames: readonly string[]): boolean {
  return !rootNames.includes(file) && file.endsWith('.ts') && !file.endsWith('.d.ts');
}

/** A module that declares nothing global and augments no other module (or a JSON file). */
function keepsToItself(sf: TS.SourceFile): boolean {
  if (sf.fileName.endsWith('.json')) return true;
  const augmentations = (sf as TS.SourceFile & { moduleAugmentations?: readonly unknown[] }).moduleAugmentations;
  return (
    ts.isExternalModule(sf) &&
    (augmentations?.length ?? 0) === 0 &&
    sf.referencedFiles.length === 0 &&
    sf.typeReferenceDirectives.length === 0 &&
    sf.libReferenceDirectives.length === 0
  );
}

/**
 * A file's declarations (`.d.ts`), emitted as the builder program does to compare a
 * file's shape, whatever `noEmit` says; undefined when they cannot be emitted cleanly.
 */
function emitDeclarations(program: TS.Program, sf: TS.SourceFile): string | undefined {
  const emit = program.emit as (
    targetSourceFile: TS.SourceFile,
    writeFile: TS.WriteFileCallback,
    cancellationToken: undefined,
    emitOnlyDtsFiles: true,
    customTransformers: undefined,
    forceDtsEmit: true,
  ) => TS.EmitResult;
  let text: string | undefined;
  const result = emit.call(program, sf, (name, data) => {
    if (name.endsWith('.d.ts')) text = data;
  }, undefined, true, undefined, true);
  // (`emitSkipped` is set under `noEmit` even though the declarations were written.)
  return result.diagnostics.length > 0 ? undefined : text;
}

function isJavaScript(sf: TS.SourceFile): boolean {
  return /\.[cm]?jsx?$/.test(sf.fileName);
}

function isUserFile(program: TS.Program, sf: TS.SourceFile, dfcDir: string): boolean {
  if (sf.isDeclarationFile || program.isSourceFileFromExternalLibrary(sf)) return false;
  if (sf.fileName.split('/').includes('node_modules')) return false;
  return !sf.fileName.startsWith(dfcDir.split(sep).join('/') + '/');
}

const MODULE_NOT_FOUND = new Set([2307, 2792, 2732, 6053, 2691, 5097, 2834, 2835]);
const MISSING_EXPORT = new Set([2305, 2614, 2724, 2459, 2460, 2613]);

function codeFor(d: TS.Diagnostic, fromTsconfig: boolean): DiagnosticCode {
  if (fromTsconfig || (!d.file && d.code >= 5000 && d.code < 7000)) return 'DFC2005';
  if (MODULE_NOT_FOUND.has(d.code)) return 'DFC2002';
  if (MISSING_EXPORT.has(d.code)) return 'DFC2004';
  if (d.code >= 1000 && d.code < 2000) return 'DFC2001';
  return 'DFC2003';
}

/**
 * dfc's authoring types report some mistakes as string literal types that read as a
 * message (`"unknown column \`usrId\` in table \`posts\`"`); those become the message.
 */
const MESSAGE_TYPE = /^Type '(.*)' is not assignable to type '"([^"]* [^"]*)"'\.?$/;

/** A plain value where the authoring types want a `secret()` (their names hold `Secret` or `ApiKey`). */
const SECRET_TYPE = /^Type '[^']*' is not assignable to type '[^']*(?:Secret|ApiKey)[^']*'/;

function toDiagnostic(d: TS.Diagnostic, fromTsconfig: boolean): Diagnostic {
  let [head = '', ...rest] = ts.flattenDiagnosticMessageText(d.messageText, '\n').split('\n');
  const notes: string[] = [];
  const span = d.file && d.start !== undefined ? spanOfNode(d.file, d.start, d.start + (d.length ?? 0)) : undefined;
  if (SECRET_TYPE.test(head.trim())) {
    // Never echo what may be a secret (security checklist C9): no value, no source line.
    return diagnostic('DFC2003', 'a secret is written in plain text where `secret()` is expected', {
      span,
      sensitive: true,
      notes: [SECRET_HINT, `TypeScript error TS${d.code}`],
    });
  }
  const messageType = MESSAGE_TYPE.exec(head.trim());
  if (messageType) {
    notes.push(`found \`${shorten(messageType[1]!)}\``);
    head = messageType[2]!;
  }
  // "… Did you mean `x`?" goes to a note.
  const hint = /\.\s+(Did you mean .*\?)$/.exec(head);
  if (hint) {
    head = head.slice(0, hint.index);
    notes.push(cedarStyle(hint[1]!));
  }
  notes.push(...rest.map((line) => cedarStyle(line.trim())).filter((line) => line.length > 0));
  notes.push(`TypeScript error TS${d.code}`);
  return diagnostic(codeFor(d, fromTsconfig), cedarStyle(head), { span, notes });
}

/**
 * TypeScript's messages in Cedar style: lowercase first word, no final period, names
 * in backticks instead of quotes, very long types shortened.
 */
export function cedarStyle(message: string): string {
  let text = message.trim().replace(/\.$/, '');
  if (!text.includes('`')) text = text.replace(/'([^'\n]*)'/g, (_, inner: string) => '`' + shorten(inner) + '`');
  text = text.replace(/^([A-Z])([a-z])/, (_, first: string, second: string) => first.toLowerCase() + second);
  return text;
}

function shorten(text: string): string {
  return text.length > 100 ? text.slice(0, 97) + '…' : text;
}
