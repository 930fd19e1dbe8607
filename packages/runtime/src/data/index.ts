/**
 * The runtime's data layer: client parameters parsed into conditions, conditions
 * rendered to parameterised SQL, and one `DataSource` per service over SQLite,
 * PostgreSQL or MySQL/MariaDB. The HTTP side uses only what is exported here.
 */
export type { DataSource, OpenOptions, OrderBy, Row, SelectQuery } from './types.js';
export { DataError, FilterError, type DataErrorKind, type FilterParameter } from './errors.js';
export { openDataSource } from './connect.js';
export { createTables, seed } from './ddl.js';
export {
  MAX_CONDITIONS,
  MAX_DEPTH,
  MAX_LIST,
  parseCount,
  parseFields,
  parseFilter,
  parseId,
  parseIds,
  parseOrder,
  type ParseFilterOptions,
} from './filter.js';
export { MAX_TEXT as MAX_FILTER_LENGTH } from './tokenize.js';
export { printFilter } from './print.js';
export { evaluateWhere, matchesWhere } from './match.js';
export { parseDate, tableColumns } from './values.js';
