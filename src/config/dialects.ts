import type { Dialect, LimitUnit } from '../signals/types.js';

/** Every dialect a signal reader understands (src/signals/types.ts), as a runtime list for validation. */
export const DIALECTS = [
  'auto',
  'ietf',
  'github',
  'openai',
  'azure-openai',
  'anthropic',
  'discord',
  'shopify',
  'stripe',
  'x',
  'slack',
  'salesforce',
  'reddit',
  'atlassian',
  'hubspot',
  'zendesk',
  'cloudflare',
  'google',
  'aws',
  'twilio',
  'generic',
] as const satisfies readonly Dialect[];

/** Fails to compile when src/signals/types.ts gains a dialect this list does not have. */
type MissingDialect = Exclude<Dialect, (typeof DIALECTS)[number]>;
const everyDialectListed: MissingDialect extends never ? true : MissingDialect = true;
void everyDialectListed;

export const LIMIT_UNITS = ['requests', 'tokens', 'points', 'concurrency'] as const satisfies readonly LimitUnit[];
type MissingUnit = Exclude<LimitUnit, (typeof LIMIT_UNITS)[number]>;
const everyUnitListed: MissingUnit extends never ? true : MissingUnit = true;
void everyUnitListed;
