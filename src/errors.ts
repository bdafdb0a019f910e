/**
 * Errors Sluice raises are typed values: each has a stable `code` a program can switch on,
 * and a message that tells the user what to change.
 */
export class SluiceError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SluiceError';
    this.code = code;
  }
}

/** A value given by the user (a policy, an option, a config entry) is invalid. `field` names it. */
export class InvalidOptionError extends SluiceError {
  readonly field: string;
  constructor(field: string, problem: string) {
    super('ERR_SLUICE_INVALID_OPTION', `${field}: ${problem}`);
    this.name = 'InvalidOptionError';
    this.field = field;
  }
}
