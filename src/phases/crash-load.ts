import { randomSeed, roundPlan } from '../check/crash-plan.js';
import { describeCommand, runCommandSpec, type CommandResult } from '../check/commands.js';
import { startAndWait } from '../check/restarts.js';
import { AcknowledgedTokens, type LoadTally } from '../check/tokens.js';
import { crashRoundProblem } from '../check/verdict.js';
import { ToolError } from '../docker/exec.js';
import type { CommandSpec, Settings } from '../inputs.js';
import { whenAborted } from '../interrupt.js';
import type { Log } from '../log.js';
import { PowerLossCrash } from '../power/power-loss.js';
import { privileged } from '../host/privileged.js';
import { serviceContainers, StackError } from '../stack/lifecycle.js';
import { PROCESS_CRASH, type CrashStrategy } from '../types/crash-strategy.js';
import type { CrashLoadOutcome, CrashRound, PhaseOutcome, PowerCut } from '../types/outcomes.js';
import { keepingPartial, runningStack, type Phase, type RunningStack } from './phase.js';
import { ROUND_VARIABLE } from './restarts.js';

export type CrashLoadSettings = Pick<
  Settings,
  'load' | 'acknowledged' | 'crashRounds' | 'crashSeed' | 'crashKind' | 'services' | 'waitTimeoutSeconds'
>;

type CrashLoadPhaseOutcome = Extract<PhaseOutcome, { phase: 'crash-load' }>;

/** How long a load may take to print its first token (compose exec and a client starting on a busy box). */
const FIRST_TOKEN_TIMEOUT_MS = 60_000;
/** The acknowledged command gets this long. */
const ACKNOWLEDGED_TIMEOUT_MS = 300_000;

/** Crash rounds under load (issue 16), when `load` is set: SIGKILL while the load writes, then read back. */
export const crashLoadPhase: Phase = {
  name: 'crash-load',
  timing: 'crash-load',
  run: async (input) =>
    input.settings.load.length
      ? checkCrashLoad(input.settings, runningStack(input), input.log, input.signal)
      : { phase: 'crash-load' },
};

export async function checkCrashLoad(
  settings: CrashLoadSettings,
  stack: RunningStack,
  log: Log,
  signal?: AbortSignal,
  strategy: CrashStrategy = crashStrategyFor(settings, stack, log),
): Promise<CrashLoadPhaseOutcome> {
  const services = crashTargets(settings, stack.model.services);
  const seed = settings.crashSeed ?? randomSeed();
  const crash: CrashLoadOutcome = {
    kind: strategy.kind,
    services,
    seed,
    roundsPlanned: settings.crashRounds,
    rounds: [],
  };
  const ending = strategy.kind === 'power-loss' ? 'a SIGKILL and a power cut' : 'a SIGKILL';
  log.info(
    `Crash under load: ${settings.crashRounds} round(s), each ending in ${ending} of ${services.join(', ')}; crash-seed ${seed} (set crash-seed: ${seed} to replay this run).`,
  );
  const outcome: CrashLoadPhaseOutcome = { phase: 'crash-load', crash };
  return keepingPartial(outcome, async () => {
    try {
      await strategy.setUp();
      const env = await stack.commandEnv();
      let roundSeed = seed;
      for (let n = 1; n <= settings.crashRounds; n++) {
        signal?.throwIfAborted();
        const plan = roundPlan(roundSeed);
        const round = await log.group(`Crash round ${n} (seed ${roundSeed})`, () =>
          crashRound(
            { round: n, seed: roundSeed, plannedLoadMs: plan.loadMs },
            { settings, stack, env, log, strategy, signal },
          ),
        );
        crash.rounds.push(round);
        log.info(roundLine(round));
        // A load or a stack that broke a round would break the next one the same way.
        if (crashRoundProblem(round)) break;
        roundSeed = plan.nextSeed;
      }
    } finally {
      await strategy.tearDown(signal?.aborted ?? false);
      if (strategy.setup) crash.power = strategy.setup;
    }
    return outcome;
  });
}

/** What the rounds end in: a SIGKILL, or (power-loss) a SIGKILL and a power cut of the places they write. */
function crashStrategyFor(settings: CrashLoadSettings, stack: RunningStack, log: Log): CrashStrategy {
  if (settings.crashKind === 'process') return PROCESS_CRASH;
  return new PowerLossCrash({
    stack,
    targets: crashTargets(settings, stack.model.services),
    startAndWait: (what) => recover(settings, stack, what),
    log,
    root: privileged(),
    runId: stack.runLabel,
  });
}

/**
 * The services whose containers a round kills: those `load` names; with only host: loads, those
 * `acknowledged` names; else the selected services (all when none are selected).
 */
export function crashTargets(
  settings: Pick<CrashLoadSettings, 'load' | 'acknowledged' | 'services'>,
  known: string[],
): string[] {
  const named = (specs: CommandSpec[]) => [
    ...new Set(specs.flatMap((s) => (s.target === 'host' ? [] : [s.target.service]))),
  ];
  for (const targets of [named(settings.load), named(settings.acknowledged), settings.services])
    if (targets.length) return targets;
  return known;
}

interface RoundStart {
  round: number;
  seed: number;
  plannedLoadMs: number;
}

/** The load as it runs: its commands' ends, and what happened before the crash. */
interface RunningLoad {
  tokens: AcknowledgedTokens;
  /** Resolves when the load printed its first token, printed garbage, or one of its commands ended. */
  settled: Promise<void>;
  firstTokenAt?: number;
  /** The first command that ended before the crash, described. */
  endedEarly?: string;
  crashed: boolean;
  stop: AbortController;
  results: Promise<CommandResult[]>;
}

/** What every round works with. */
interface RoundContext {
  settings: CrashLoadSettings;
  stack: RunningStack;
  env: Record<string, string>;
  log: Log;
  strategy: CrashStrategy;
  signal?: AbortSignal;
}

async function crashRound(start: RoundStart, context: RoundContext): Promise<CrashRound> {
  const { settings, stack, env, log, strategy, signal } = context;
  const round: CrashRound = { ...start, loadMs: 0, acknowledged: 0, duplicates: 0 };
  await strategy.beforeLoad();
  const load = startLoad(settings.load, stack, { ...env, [ROUND_VARIABLE]: String(start.round) });
  const aborted = signal ? whenAborted(signal) : new Promise<never>(() => undefined);
  let tally: LoadTally | undefined;
  try {
    await firstOf(FIRST_TOKEN_TIMEOUT_MS, [load.settled, aborted]);
    if (load.firstTokenAt === undefined || load.endedEarly || load.tokens.summary().garbage !== undefined)
      return round;
    const stopped = new Promise<void>((resolve) => void load.results.then(() => resolve()));
    await firstOf(start.plannedLoadMs, [stopped, aborted, garbageSeen(load)]);
    if (load.endedEarly || load.tokens.summary().garbage !== undefined) return round;
    await crashAndRecover(round, load, context);
    if (round.error) return round;
    tally = await stopLoad(load, round);
    const leftovers = await leftoverProcesses(stack, settings);
    if (leftovers.length) return Object.assign(round, { leftovers });
    await readBack(round, load.tokens, settings, stack, env);
    return round;
  } finally {
    tally ??= await stopLoad(load, round);
    Object.assign(round, tallyFields(tally), load.endedEarly ? { endedBeforeCrash: load.endedEarly } : {});
    if (!load.crashed) await killInContainerLoops(settings, stack, log);
  }
}

function startLoad(specs: CommandSpec[], stack: RunningStack, env: Record<string, string>): RunningLoad {
  let settle: () => void = () => undefined;
  const settled = new Promise<void>((resolve) => (settle = resolve));
  const load: RunningLoad = {
    tokens: new AcknowledgedTokens({
      onFirstToken: () => {
        load.firstTokenAt = Date.now();
        settle();
      },
      onGarbage: () => {
        load.stop.abort(); // refused at once: nothing it prints after garbage is read
        settle();
      },
    }),
    settled,
    crashed: false,
    stop: new AbortController(),
    results: Promise.resolve([]),
  };
  load.results = Promise.all(
    specs.map(async (spec) => {
      const reader = load.tokens.reader();
      const result = await runCommandSpec(
        stack.compose,
        spec,
        { env, kind: 'writes', onStdout: (chunk) => reader.push(chunk), signal: load.stop.signal },
        [ROUND_VARIABLE],
      );
      reader.end();
      if (!load.crashed && !load.stop.signal.aborted) load.endedEarly ??= describeCommand(result);
      settle();
      return result;
    }),
  );
  return load;
}

/** Resolves once the load has printed garbage (it is then already being stopped). */
function garbageSeen(load: RunningLoad): Promise<void> {
  return new Promise((resolve) =>
    load.stop.signal.addEventListener('abort', () => resolve(), { once: true }),
  );
}

/**
 * SIGKILL of the targets' containers (and the power cut, if the strategy makes one), then start and wait
 * healthy: the recovery time is all of that after the SIGKILL.
 */
async function crashAndRecover(round: CrashRound, load: RunningLoad, context: RoundContext): Promise<void> {
  const { settings, stack, log, strategy } = context;
  load.crashed = true;
  try {
    let killedAt = 0;
    const cut = async (services: string[]) => {
      killedAt = Date.now();
      round.loadMs = killedAt - (load.firstTokenAt ?? killedAt);
      log.info(`SIGKILL of ${services.join(', ')} after ${seconds(round.loadMs)} under load`);
      const powerCut = await strategy.afterKill();
      if (powerCut) {
        round.powerCut = powerCut;
        log.info(powerCutLine(powerCut));
      }
    };
    await killAndRecover(settings, stack, `after crash round ${round.round}`, cut);
    round.recoveryMs = Date.now() - killedAt;
  } catch (error) {
    if (!(error instanceof StackError || error instanceof ToolError)) throw error;
    round.error = error.message;
  }
}

/**
 * SIGKILL of the targets' whole containers, then start them and wait until the selected services (with the
 * crashed ones among them; none selected: the whole stack) are healthy. The stack's baseline moves on.
 */
async function killAndRecover(
  settings: CrashLoadSettings,
  stack: RunningStack,
  what: string,
  killed: (services: string[]) => Promise<void> = async () => undefined,
): Promise<void> {
  const services = crashTargets(settings, stack.model.services);
  await stack.compose.kill(services);
  await killed(services);
  await recover(settings, stack, what);
}

/** Starts the targets and waits until the selected services (with the targets among them) are healthy. */
async function recover(settings: CrashLoadSettings, stack: RunningStack, what: string): Promise<void> {
  const services = crashTargets(settings, stack.model.services);
  const waitFor = settings.services.length ? [...new Set([...settings.services, ...services])] : [];
  stack.baseline = await startAndWait(
    stack.compose,
    stack.engine,
    { services: waitFor, started: services, waitTimeoutSeconds: settings.waitTimeoutSeconds },
    what,
  );
}

/** Stops the load (SIGTERM, SIGKILL after the grace) and counts what it printed. */
async function stopLoad(load: RunningLoad, round: CrashRound): Promise<LoadTally> {
  load.stop.abort();
  const results = await load.results;
  if (results.some((r) => r.outlivedGrace)) round.outlivedGrace = true;
  return load.tokens.end();
}

function tallyFields(tally: LoadTally): Partial<CrashRound> {
  return {
    acknowledged: tally.acknowledged,
    duplicates: tally.duplicates,
    ...(tally.firstDuplicate !== undefined ? { firstDuplicate: tally.firstDuplicate } : {}),
    ...(tally.garbage !== undefined ? { garbage: tally.garbage } : {}),
  };
}

/**
 * Exec processes still running in the crashed services' containers once the load was stopped. A short
 * exec the load started just before its SIGTERM may still be ending: only what outlives a second look counts.
 */
async function leftoverProcesses(stack: RunningStack, settings: CrashLoadSettings): Promise<string[]> {
  const first = await runningExecsOf(stack, settings);
  if (first.length === 0) return first;
  await delay(LEFTOVER_SECOND_LOOK_MS);
  return runningExecsOf(stack, settings);
}

const LEFTOVER_SECOND_LOOK_MS = 2000;

async function runningExecsOf(stack: RunningStack, settings: CrashLoadSettings): Promise<string[]> {
  const services = crashTargets(settings, stack.model.services);
  const containers = (await serviceContainers(stack.engine, stack.model.project)).filter((c) =>
    services.includes(c.service),
  );
  const found = await Promise.all(
    containers.map(async (c) =>
      (await stack.engine.runningExecs(c.details.id)).map((cmd) => `${c.service}: ${cmd}`),
    ),
  );
  return found.flat();
}

/**
 * A load that never reached the crash may still run inside its containers (stopping `compose exec` does not
 * stop what it started there): the container kill ends it, as it would have ended it in the round.
 */
async function killInContainerLoops(
  settings: CrashLoadSettings,
  stack: RunningStack,
  log: Log,
): Promise<void> {
  const leftovers = await leftoverProcesses(stack, settings).catch(() => []);
  if (leftovers.length === 0) return;
  log.info(`Stopping the load left in the containers (${leftovers.join('; ')}) with a SIGKILL and a start`);
  await killAndRecover(settings, stack, 'after stopping the load');
}

/** Runs `acknowledged`, streaming its output against the acknowledged tokens. */
async function readBack(
  round: CrashRound,
  tokens: AcknowledgedTokens,
  settings: CrashLoadSettings,
  stack: RunningStack,
  env: Record<string, string>,
): Promise<void> {
  const check = tokens.verify();
  for (const spec of settings.acknowledged) {
    const result = await runCommandSpec(stack.compose, spec, {
      env,
      kind: 'probes',
      onStdout: (chunk) => check.push(chunk),
      timeoutMs: ACKNOWLEDGED_TIMEOUT_MS,
    });
    if (result.exitCode !== 0 || result.timedOut) {
      round.error = `acknowledged failed after the recovery: ${describeCommand(result)}`;
      return;
    }
  }
  const { lost, firstLost } = check.finish();
  round.lost = lost;
  round.firstLost = firstLost;
}

function roundLine(round: CrashRound): string {
  const recovery = round.recoveryMs === undefined ? '' : `, recovered in ${seconds(round.recoveryMs)}`;
  const lost = round.lost === undefined ? 'not compared' : `${round.lost} lost`;
  return `Crash round ${round.round} (seed ${round.seed}): ${seconds(round.loadMs)} under load, ${round.acknowledged} acknowledged, ${lost}${recovery}`;
}

function powerCutLine(cut: PowerCut): string {
  const canary = cut.canaryProblem ? `canary FAILED (${cut.canaryProblem})` : 'canary ok';
  return `Power cut: ${cut.droppedBlocks} unflushed block(s) dropped, ${cut.discardedWrites} write(s) discarded at unmount, ${canary}${cut.overflowed ? ', memory cap overflowed' : ''}; remounted in ${seconds(cut.remountMs)}`;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The first of `events`, or `ms` passed; the timer is cleared either way, so it holds nothing up. */
async function firstOf(ms: number, events: Promise<unknown>[]): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([new Promise((resolve) => (timer = setTimeout(resolve, ms))), ...events]);
  } finally {
    clearTimeout(timer);
  }
}
