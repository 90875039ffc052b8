import { UserError } from '../errors.js';

export interface ParsedArgs {
  positional: string[];
  /** --name value pairs; a repeated flag keeps every value in order. */
  flags: Map<string, string[]>;
  switches: Set<string>;
}

/**
 * Parses `--name value`, `--name=value` and bare switches. Which names are switches is given, so a value
 * that starts with a dash is still read as a value.
 */
export function parseArgs(
  argv: string[],
  switches: readonly string[],
  aliases: Record<string, string> = {},
): ParsedArgs {
  const parsed: ParsedArgs = { positional: [], flags: new Map(), switches: new Set() };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--') {
      parsed.positional.push(...argv.slice(i + 1)); // everything after -- is an operand
      break;
    }
    if (!arg.startsWith('-') || arg === '-') {
      parsed.positional.push(arg);
      continue;
    }
    const [rawName, inline] = splitOnce(arg.replace(/^--?/, ''), '=');
    const name = aliases[rawName] ?? rawName;
    if (switches.includes(name)) {
      if (inline !== undefined && inline !== 'true') {
        if (inline === 'false') continue;
        throw new UserError(`--${name} takes no value.`);
      }
      parsed.switches.add(name);
      continue;
    }
    const value = inline ?? argv[++i];
    if (value === undefined) throw new UserError(`--${name} needs a value.`);
    parsed.flags.set(name, [...(parsed.flags.get(name) ?? []), value]);
  }
  return parsed;
}

function splitOnce(text: string, separator: string): [string, string | undefined] {
  const at = text.indexOf(separator);
  return at < 0 ? [text, undefined] : [text.slice(0, at), text.slice(at + 1)];
}
