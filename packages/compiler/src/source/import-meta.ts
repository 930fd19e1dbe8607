import { dirname } from 'node:path';
import { pathToFileURL } from 'node:url';

/**
 * A user file's `import.meta` once it is compiled to run from the temp directory: esbuild
 * replaces each member by a constant (`IMPORT_META`), which `withImportMeta` declares on
 * the file's first line with the file's own values, so that line numbers stay right.
 */
export const IMPORT_META = {
  'import.meta.url': '__dfc_import_meta_url',
  'import.meta.dirname': '__dfc_import_meta_dirname',
  'import.meta.filename': '__dfc_import_meta_filename',
};

/** The file's source with its values for import.meta on its first line. */
export function withImportMeta(file: string, source: string): string {
  return (
    `const __dfc_import_meta_url = ${JSON.stringify(pathToFileURL(file).href)}, ` +
    `__dfc_import_meta_dirname = ${JSON.stringify(dirname(file))}, ` +
    `__dfc_import_meta_filename = ${JSON.stringify(file)};` +
    source
  );
}

const PRELUDE = /^const __dfc_import_meta_url = "(?:[^"\\]|\\.)*", __dfc_import_meta_dirname = "(?:[^"\\]|\\.)*", __dfc_import_meta_filename = "(?:[^"\\]|\\.)*";/;

/** What {@link withImportMeta} put before a first line's own text, if it is there. */
export function importMetaPrelude(firstLine: string): string | undefined {
  return PRELUDE.exec(firstLine)?.[0];
}
