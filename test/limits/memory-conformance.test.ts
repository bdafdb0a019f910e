import { createMemoryStore } from '../../src/stores/memory.js';
import { runConformanceSuite } from './conformance.js';

runConformanceSuite('memory', () => createMemoryStore());
