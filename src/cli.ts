#!/usr/bin/env node
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Command, InvalidArgumentError } from 'commander';
import { pino } from 'pino';
import { checkConfigFile } from './config/check.js';
import { loadConfig } from './config/load.js';
import { runDemo } from './demo.js';
import { startGateway } from './gateway/server.js';
import { SIMULATOR_PROFILE_DESCRIPTIONS } from './simulator/profile.js';
import { startSimulator } from './simulator/server.js';
import { SIMULATOR_PROFILES, type SimulatorProfileName } from './simulator/types.js';
import { toMilliseconds } from './time.js';

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

  program
    .command('start')
    .description('Start the gateway with a configuration file.')
    .requiredOption('-c, --config <file>', 'the configuration file (YAML or JSON)')
    .action(async (options: { config: string }) => {
      const config = loadConfig(options.config);
      const logger = pino({ level: config.logging.level });
      const gateway = await startGateway({ config, logger });
      logger.info(
        { url: gateway.url, admin: gateway.adminUrl, upstreams: [...gateway.pipelines.keys()] },
        `sluice: gateway listening on ${gateway.url}, admin on ${gateway.adminUrl}`,
      );
      stopOnSignals(() => gateway.close());
    });

  program
    .command('demo')
    .description('Run simulated upstreams, a gateway and more traffic than the limits allow, and compare.')
    .option('--profile <name>', `a simulated provider: ${SIMULATOR_PROFILES.join(', ')}`, profileName, 'github')
    .option('--duration <duration>', 'how long to send traffic, such as 15s', durationOption, 15_000)
    .action(async (options: { profile: SimulatorProfileName; duration: number }) => {
      await runDemo({ profile: options.profile, durationMs: options.duration });
    });

  program
    .command('simulate')
    .description('Run a simulated rate-limited upstream, for testing your own clients.')
    .option('--profile <name>', `the provider to emulate: ${SIMULATOR_PROFILES.join(', ')}`, profileName, 'github')
    .option('--host <host>', 'the address to listen on', '127.0.0.1')
    .option('--port <port>', 'the port to listen on (0: any free one)', portOption, 9000)
    .option('--limit <n>', "the profile's primary limit", positiveInteger)
    .option('--window <duration>', "the primary limit's window, such as 1s or 1m")
    .action(
      async (options: {
        profile: SimulatorProfileName;
        host: string;
        port: number;
        limit?: number;
        window?: string;
      }) => {
        const limits = {
          ...(options.limit ? { limit: options.limit } : {}),
          ...(options.window ? { window: options.window } : {}),
        };
        const simulator = await startSimulator({
          profile: options.profile,
          host: options.host,
          port: options.port,
          limits,
        });
        console.log(`sluice: simulated ${options.profile} upstream on ${simulator.url}`);
        console.log(`  ${SIMULATOR_PROFILE_DESCRIPTIONS[options.profile]}`);
        console.log(`  report: GET ${simulator.url}/_sim/report   reset: POST ${simulator.url}/_sim/reset`);
        stopOnSignals(() => simulator.close());
      },
    );

  program
    .command('bench')
    .description('Run a benchmark from a checkout of the Sluice repository: goodput, limits, queue, gateway, economy.')
    .argument('<name>', 'the benchmark')
    .allowExcessArguments(true)
    .action((name: string, _options: unknown, command: Command) => {
      const root = fileURLToPath(new URL('..', import.meta.url));
      const script = `${root}bench/${name}/run.ts`;
      if (!/^[a-z-]+$/.test(name) || !existsSync(script)) {
        throw new InvalidArgumentError(
          `no benchmark named "${name}" in ${root}bench (benchmarks run from a checkout of the repository, with dev dependencies installed)`,
        );
      }
      const child = spawn(process.execPath, ['--import', 'tsx', '--expose-gc', script, ...command.args.slice(1)], {
        stdio: 'inherit',
        cwd: root,
      });
      child.on('exit', (code) => {
        process.exitCode = code ?? 1;
      });
    });

  return program;
}

function stopOnSignals(stop: () => Promise<void>): void {
  let stopping = false;
  const onSignal = (signal: string) => {
    if (stopping) process.exit(1);
    stopping = true;
    console.log(`sluice: ${signal}, shutting down`);
    stop().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(error instanceof Error ? error.message : String(error));
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', () => onSignal('SIGINT'));
  process.once('SIGTERM', () => onSignal('SIGTERM'));
}

function profileName(value: string): SimulatorProfileName {
  if (!(SIMULATOR_PROFILES as readonly string[]).includes(value)) {
    throw new InvalidArgumentError(`expected one of ${SIMULATOR_PROFILES.join(', ')}`);
  }
  return value as SimulatorProfileName;
}

function durationOption(value: string): number {
  try {
    return toMilliseconds(value, '--duration');
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
}

function positiveInteger(value: string): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number < 1) throw new InvalidArgumentError('expected a positive whole number');
  return number;
}

function portOption(value: string): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number < 0 || number > 65_535)
    throw new InvalidArgumentError('expected a port, 0 to 65535');
  return number;
}

// Run as a command (also through the npm bin link, whose path differs from this file's), not when imported.
const isMain = process.argv[1] !== undefined && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain) {
  buildProgram()
    .parseAsync(process.argv)
    .catch((error: unknown) => {
      console.error(error instanceof Error ? error.message : String(error));
      process.exitCode = 1;
    });
}
