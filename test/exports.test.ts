import { describe, expect, it } from 'vitest';
import * as sluice from '../src/index.js';

describe('the package', () => {
  it('exports the public API from one entry point', () => {
    for (const name of [
      'createClient',
      'startGateway',
      'createPipeline',
      'createLimiter',
      'createMemoryStore',
      'createRedisStore',
      'createRedisBudgetStore',
      'parseRateLimit',
      'createRetryPolicy',
      'paginate',
      'createBatcher',
      'loadConfig',
      'startSimulator',
      'runLoad',
      'createAdminServer',
      'createMetrics',
      'createInboundLimits',
      'CallFailedError',
    ]) {
      expect(typeof (sluice as Record<string, unknown>)[name], name).toBe('function');
    }
  });
});
