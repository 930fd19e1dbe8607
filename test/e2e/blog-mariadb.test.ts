import { blogScenarios } from './blog-scenarios.js';

blogScenarios('mysql');
