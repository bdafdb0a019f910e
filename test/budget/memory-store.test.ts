import { createMemoryBudgetStore } from '../../src/budget/memory-store.js';
import { runBudgetConformance } from './conformance.js';

runBudgetConformance('memory', () => createMemoryBudgetStore());
