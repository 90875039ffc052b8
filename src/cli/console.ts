/**
 * Outside GitHub, @actions/core's workflow commands (`::group::`, `::warning::`, …) would be printed raw. This
 * rewrites them, line by line, into plain terminal output, so the action and the CLI share one code path.
 */
export interface ConsoleOptions {
  verbose: boolean;
  color: boolean;
  /** Send the translated log to stderr (stdout is then reserved for --json output). */
  toStderr: boolean;
}

export function translateWorkflowCommands(line: string, options: ConsoleOptions): string | undefined {
  const match = /^::([a-z-]+)(?: [^:]*)?::(.*)$/.exec(line);
  if (!match) return line;
  const [, command, message] = match as unknown as [string, string, string];
  const text = decodeURIComponent(message.replace(/%(?![0-9A-F]{2})/g, '%25'));
  const paint = (code: string, s: string) => (options.color ? `\u001b[${code}m${s}\u001b[0m` : s);
  switch (command) {
    case 'group':
      return paint('1', `▶ ${text}`);
    case 'endgroup':
      return undefined;
    case 'warning':
      return paint('33', `warning: ${text}`);
    case 'error':
      return paint('31', `error: ${text}`);
    case 'notice':
      return `notice: ${text}`;
    case 'debug':
      return options.verbose ? paint('2', `debug: ${text}`) : undefined;
    default:
      return undefined; // add-mask, save-state and the like mean nothing on a terminal
  }
}

/** Routes process.stdout through the translator; returns the original writer for --json output. */
export function installConsole(options: ConsoleOptions): (text: string) => void {
  const original = process.stdout.write.bind(process.stdout);
  const sink = options.toStderr
    ? (text: string) => void process.stderr.write(text)
    : (text: string) => void original(text);
  let pending = '';
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    pending += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      const out = translateWorkflowCommands(line, options);
      if (out !== undefined) sink(`${out}\n`);
    }
    const callback = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
    callback?.();
    return true;
  }) as typeof process.stdout.write;
  return (text: string) => void original(text);
}
