#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { checkConfigFile } from './config/check.js';

const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

export function buildProgram(): Command {
  const program = new Command('sluice')
    .description('Call rate-limited APIs at full speed without getting throttled; enforce fair limits on your own.')
    .version(version);

  program
    .command('check-config')
    .description('Validate a configuration file: print every problem and exit 1, or a summary and exit 0.')
    .argument('<file>', 'the configuration file (YAML, or JSON when it ends in .json)')
    .option('--secrets', 'also check that every secret reference resolves (values are never printed)')
    .action((file: string, options: { secrets?: boolean }) => {
      const result = checkConfigFile(file, { secrets: options.secrets === true });
      if (result.ok) {
        console.log(result.summary);
      } else {
        for (const line of result.problems) console.error(line);
        process.exitCode = 1;
      }
    });

  return program;
}

const isMain = process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href;
if (isMain) {
  buildProgram()
    .parseAsync(process.argv)
    .catch((error: unknown) => {
      console.error(error instanceof Error ? error.message : String(error));
      process.exitCode = 1;
    });
}
