import { readFileSync, statSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { hasControlCharacter } from './fields.js';
import { ConfigError, suggestion } from './problems.js';

/** How a secret is written in a configuration: never the value itself, only where to find it. */
export type SecretReferenceInput = { env: string } | { file: string };

/** A secret reference after validation, remembering where in the configuration it was written. */
export type SecretReference = ({ env: string } | { file: string }) & {
  /** The option that holds it, such as `upstreams.github.credentials.team-a.value`: errors name it. */
  configPath: string;
};

export const ENVIRONMENT_VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

const REFERENCE_FORMS = '{ env: NAME } (an environment variable) or { file: PATH } (a file holding the secret)';

/** Never echoes what was given: a string in a secret's place is most likely the secret itself. */
function secretReferenceMessage(input: unknown): string {
  if (typeof input === 'string' || typeof input === 'number') {
    return `a secret must not be written into the configuration: use a reference, ${REFERENCE_FORMS}`;
  }
  if (input === undefined) return `missing (expected ${REFERENCE_FORMS})`;
  if (input !== null && typeof input === 'object' && !Array.isArray(input)) {
    const keys = Object.keys(input);
    if (keys.includes('env') && keys.includes('file')) return 'expected either env or file, not both';
    const typo = keys.find((key) => key !== 'env' && key !== 'file');
    const hint = typo === undefined ? '' : suggestion(typo, ['env', 'file']);
    return `expected a secret reference, ${REFERENCE_FORMS}${hint}`;
  }
  return `expected a secret reference, ${REFERENCE_FORMS}`;
}

const secretError = (issue: { input?: unknown }) => secretReferenceMessage(issue.input);

const environmentReference = z.strictObject(
  {
    env: z
      .string({ error: () => 'expected the name of an environment variable, such as GITHUB_TOKEN' })
      .regex(ENVIRONMENT_VARIABLE_NAME, {
        error: () => 'expected the name of an environment variable: letters, digits and "_", not starting with a digit',
      }),
  },
  { error: secretError },
);

const fileReference = z.strictObject(
  {
    file: z
      .string({ error: () => 'expected the path of a file holding the secret' })
      .min(1, { error: () => 'expected the path of a file holding the secret' }),
  },
  { error: secretError },
);

/** One instance, so that the JSON Schema defines it once and refers to it everywhere. */
export const secretReferenceSchema = z.union([environmentReference, fileReference], { error: secretError }).meta({
  id: 'secretReference',
  description: 'Where to read a secret at start-up: { env: NAME } or { file: PATH }. The value itself never goes here.',
});

/** Relative file paths are resolved against the configuration file's directory, so a config works from anywhere. */
export function normalizeSecretReference(
  input: SecretReferenceInput,
  configPath: string,
  baseDirectory: string,
): SecretReference {
  if ('env' in input) return { env: input.env, configPath };
  return { file: isAbsolute(input.file) ? input.file : resolve(baseDirectory, input.file), configPath };
}

export interface ResolveSecretOptions {
  /** Where environment variables are read. Default `process.env`. */
  env?: Readonly<Record<string, string | undefined>>;
}

/** A secret file larger than this is almost certainly the wrong file (a certificate bundle, a log). */
const MAX_SECRET_FILE_BYTES = 64 * 1024;

function secretFailure(reference: SecretReference, problem: string): ConfigError {
  return new ConfigError([{ path: reference.configPath, message: problem }]);
}

function checkedValue(reference: SecretReference, raw: string, where: string): string {
  const value = raw.trim();
  if (value === '') throw secretFailure(reference, `${where} is empty`);
  // A line break or control character in a credential would let it split the request it is written into.
  if (hasControlCharacter(value)) {
    throw secretFailure(reference, `${where} contains a line break or control character`);
  }
  return value;
}

/**
 * Reads the secret a reference points to (at start-up, not per request). Surrounding whitespace is trimmed, since
 * secret files usually end with a newline. Fails with a ConfigError naming the option and the variable or file, and
 * never the value.
 */
export function resolveSecret(reference: SecretReference, options: ResolveSecretOptions = {}): string {
  if ('env' in reference) {
    const environment = options.env ?? process.env;
    const raw = environment[reference.env];
    if (raw === undefined) throw secretFailure(reference, `environment variable ${reference.env} is not set`);
    return checkedValue(reference, raw, `environment variable ${reference.env}`);
  }
  const where = `secret file ${reference.file}`;
  let raw: string;
  try {
    const size = statSync(reference.file).size;
    if (size > MAX_SECRET_FILE_BYTES) {
      throw secretFailure(
        reference,
        `${where} is ${size} bytes, more than a secret (64 KiB at most): is it the right file?`,
      );
    }
    raw = readFileSync(reference.file, 'utf8');
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    const reason =
      code === 'ENOENT'
        ? 'does not exist'
        : code === 'EACCES' || code === 'EPERM'
          ? 'cannot be read (permission denied)'
          : code === 'EISDIR'
            ? 'is a directory, not a file'
            : `cannot be read (${code ?? 'unknown error'})`;
    throw secretFailure(reference, `${where} ${reason}`);
  }
  return checkedValue(reference, raw, where);
}
