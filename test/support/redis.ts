import { inject } from 'vitest';

/** The Redis URL the global setup found, or '' when Redis tests must be skipped (never under CI=true). */
export const redisUrl: string = inject('redisUrl');
export const hasRedis = redisUrl !== '';
