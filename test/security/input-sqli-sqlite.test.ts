import { sqlInjectionSuite } from './fixtures/sqli-suite.js';

sqlInjectionSuite('sqlite');
