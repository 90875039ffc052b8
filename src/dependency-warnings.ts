// docker-modem reads DOCKER_HOST with url.parse, which Node 24 deprecates (DEP0169) with a warning on stderr at
// every call: nothing the user can act on, and it buried our one-line errors for tcp:// engines. Only that code
// is dropped; every other warning is printed as before.
const DROPPED_WARNING_CODES = new Set(['DEP0169']);

const emitWarning = process.emitWarning.bind(process);

function codeOf(rest: unknown[]): unknown {
  const [typeOrOptions, code] = rest;
  return typeof typeOrOptions === 'object' && typeOrOptions !== null
    ? (typeOrOptions as { code?: unknown }).code
    : code;
}

process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
  if (DROPPED_WARNING_CODES.has(codeOf(rest) as string)) return;
  (emitWarning as (w: string | Error, ...r: unknown[]) => void)(warning, ...rest);
}) as typeof process.emitWarning;
