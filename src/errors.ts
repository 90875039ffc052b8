/**
 * An error the user can act on: the message names the cause (and the input or file involved) and the fix in
 * one line. The top-level boundary prints it as is, without a stack trace.
 */
export class UserError extends Error {
  override readonly name = 'UserError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The message of anything thrown, for wrapping; never the stack. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
