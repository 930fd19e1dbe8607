import { authzSuite } from './fixtures/authz-suite.js';

authzSuite('postgres');
