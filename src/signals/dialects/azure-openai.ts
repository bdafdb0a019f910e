import type { DialectReader } from '../reading.js';
import { readOpenAi } from './openai.js';

/**
 * Azure OpenAI speaks OpenAI's dialect (often only the `x-ratelimit-remaining-*` half of it) and states its
 * waits in `retry-after-ms` as well as `retry-after`, which the shared rules already prefer. It is a dialect of
 * its own so that auto-detection can name it and configurations can ask for it.
 */
export const readAzureOpenAi: DialectReader = (input) => readOpenAi(input);
