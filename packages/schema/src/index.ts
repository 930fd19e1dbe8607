export * from './rule.js';
export * from './config.js';
export * from './policy.js';
export * from './canonical.js';
export * from './version.js';
export * from './where.js';
export * from './access.js';
export * from './signature.js';
