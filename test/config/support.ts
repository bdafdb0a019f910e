import { expect } from 'vitest';
import { type ConfigProblem, isConfigError } from '../../src/config/problems.js';

/** The problems a function reports by throwing a ConfigError (failing the test if it throws anything else). */
export function problemsOf(run: () => unknown): ConfigProblem[] {
  try {
    run();
  } catch (error) {
    if (isConfigError(error)) return [...error.problems];
    throw error;
  }
  expect.fail('expected a ConfigError, but nothing was thrown');
}

/** The one problem at `path` (failing when there is none or several). */
export function problemAt(problems: readonly ConfigProblem[], path: string): ConfigProblem {
  const found = problems.filter((problem) => problem.path === path);
  expect(found, `problems at ${path} among ${JSON.stringify(problems, null, 1)}`).toHaveLength(1);
  return found[0] as ConfigProblem;
}

/** A minimal valid gateway configuration with `extra` YAML lines added under the top level. */
export const minimalYaml = (upstreamLines = '', topLines = '') =>
  `${topLines}
upstreams:
  github:
    url: https://api.github.com
${upstreamLines
  .split('\n')
  .filter((line) => line.trim() !== '')
  .map((line) => `    ${line}`)
  .join('\n')}
`;
