import { statSync } from 'node:fs';
import { join, sep } from 'node:path';
import ts from 'typescript';
import type { DiagnosticCode } from '../diagnostics/codes.js';
import { diagnostic, type Diagnostic } from '../diagnostics/diagnostic.js';
import { DFC_SPECIFIERS, dfcConfigPackage } from '../source/dfc-package.js';
import { SECRET_HINT } from '../lints/security.js';
import { spanOfNode } from '../source/locate.js';

export interface TypecheckInput {
  configFile: string;
  /** More files checked in the same program (policy tests, which import the config). */
  alsoCheck?: readonly string[] | undefined;
  configDir: string;
  /** The previous run's session (`--watch` rebuilds). */
  session?: TypecheckSession | undefined;
}

export interface TypecheckOutput {
  diagnostics: Diagnostic[];
  program: ts.Program;
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
 */
export interface TypecheckSession {
  readonly optionsKey: string;
}

/**
 * Options used when the config's directory has no tsconfig.json. `Bundler`
 * resolution matches what load (esbuild) accepts; `types: []` keeps the program to
 * the config, its imports and the standard library (which keeps it fast).
 */
const DEFAULT_OPTIONS: ts.CompilerOptions = {
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
const documentCache = new Map<string, { stamp: string; file: ts.SourceFile }>();

function stampOf(fileName: string): string | undefined {
  try {
    const s = statSync(fileName);
    return `${s.mtimeMs}:${s.size}`;
  } catch {
    return undefined;
  }
}

function compilerOptionsFor(configDir: string): { options: ts.CompilerOptions; diagnostics: readonly ts.Diagnostic[] } {
  const tsconfig = join(configDir, 'tsconfig.json');
  if (stampOf(tsconfig) === undefined) return { options: { ...DEFAULT_OPTIONS }, diagnostics: [] };
  const diagnostics: ts.Diagnostic[] = [];
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
  const options: ts.CompilerOptions = { ...parsed.options };
  for (const key of EMIT_ONLY_OPTIONS) delete options[key];
  return { options, diagnostics };
}

export function typecheck(input: TypecheckInput): TypecheckOutput {
  const { options: userOptions, diagnostics: configDiagnostics } = compilerOptionsFor(input.configDir);
  const options: ts.CompilerOptions = { ...userOptions, noEmit: true, skipLibCheck: true };
  const optionsKey = JSON.stringify(options);
  const dfc = dfcConfigPackage();

  const host = ts.createCompilerHost(options, true);
  const baseGetSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (fileName, languageVersionOrOptions, onError, shouldCreate) => {
    const lv =
      typeof languageVersionOrOptions === 'object'
        ? `${languageVersionOrOptions.languageVersion}:${languageVersionOrOptions.impliedNodeFormat ?? ''}`
        : String(languageVersionOrOptions);
    const key = `${optionsKey}\0${fileName}\0${lv}`;
    const stamp = stampOf(fileName);
    const hit = documentCache.get(key);
    if (hit && stamp !== undefined && hit.stamp === stamp && !shouldCreate) return hit.file;
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
      if (result.resolvedModule || !DFC_SPECIFIERS.has(literal.text)) return result;
      return {
        resolvedModule: {
          resolvedFileName: dfc.types,
          extension: dfc.types.endsWith('.d.ts') ? ts.Extension.Dts : ts.Extension.Ts,
          isExternalLibraryImport: true,
        },
      };
    });

  const program = ts.createProgram({
    rootNames: [input.configFile, ...(input.alsoCheck ?? [])],
    options,
    host,
    configFileParsingDiagnostics: configDiagnostics,
  });

  const userFiles = program.getSourceFiles().filter((sf) => isUserFile(program, sf, dfc.dir));
  const found: ts.Diagnostic[] = [...configDiagnostics, ...program.getOptionsDiagnostics()];
  const syntactic = userFiles.flatMap((sf) => program.getSyntacticDiagnostics(sf));
  found.push(...syntactic);
  // As tsc does: semantic errors are noise while the file does not parse. JavaScript
  // files are only checked with `checkJs` or `// @ts-check`; without any file to check,
  // the type checker (the costly part) is never created.
  const checked = userFiles.filter((sf) => !isJavaScript(sf) || options.checkJs === true || /^\s*\/\/\s*@ts-check\b/m.test(sf.text));
  if (syntactic.length === 0 && checked.length > 0) {
    found.push(...program.getGlobalDiagnostics());
    for (const sf of checked) found.push(...program.getSemanticDiagnostics(sf));
  }

  const diagnostics = found
    .filter((d) => d.category === ts.DiagnosticCategory.Error)
    .map((d) => toDiagnostic(d, configDiagnostics.includes(d)));
  const files = userFiles.map((sf) => sf.fileName).sort();
  return { diagnostics, program, files, session: { optionsKey } };
}

function isJavaScript(sf: ts.SourceFile): boolean {
  return /\.[cm]?jsx?$/.test(sf.fileName);
}

function isUserFile(program: ts.Program, sf: ts.SourceFile, dfcDir: string): boolean {
  if (sf.isDeclarationFile || program.isSourceFileFromExternalLibrary(sf)) return false;
  if (sf.fileName.split('/').includes('node_modules')) return false;
  return !sf.fileName.startsWith(dfcDir.split(sep).join('/') + '/');
}

const MODULE_NOT_FOUND = new Set([2307, 2792, 2732, 6053, 2691, 5097, 2834, 2835]);
const MISSING_EXPORT = new Set([2305, 2614, 2724, 2459, 2460, 2613]);

function codeFor(d: ts.Diagnostic, fromTsconfig: boolean): DiagnosticCode {
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

function toDiagnostic(d: ts.Diagnostic, fromTsconfig: boolean): Diagnostic {
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
