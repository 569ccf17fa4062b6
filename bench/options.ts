/**
 * Command line of `npm run bench` (commander): `--scenarios`, `--list`, `--duration`, `--connections`, `--auth`.
 * BENCH_SECONDS is still accepted for the duration (the option wins).
 */
import { Command, InvalidArgumentError } from 'commander';
import type { AuthMode } from './signer.js';
import { API_SCENARIOS, COMPOSITE_SCENARIOS, DEFAULT_SCENARIOS } from './scenarios.js';

/** Seconds per measurement when neither --duration nor BENCH_SECONDS is given (the default run fits in 3 minutes). */
export const DEFAULT_SECONDS = 2;
/** Connections of the maximum-throughput passes: enough to keep one server process busy on a 2-core machine. */
export const DEFAULT_CONNECTIONS = 16;

export interface Options {
  /** Scenario names in run order. */
  scenarios: string[];
  /**
   * Names given one by one in `--scenarios` (not through the sets "default" or "all"): a scenario asked for by
   * name fails when it cannot run, one that came with a set is skipped with a line (postgres without a server).
   */
  named: string[];
  /** Seconds per measurement. */
  seconds: number;
  connections: number;
  auth: AuthMode[];
  list: boolean;
}

const ALL_NAMES = [...API_SCENARIOS.map((s) => s.name), ...Object.keys(COMPOSITE_SCENARIOS)];

function positive(name: string, integer: boolean) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) throw new InvalidArgumentError(`${name} must be a positive ${integer ? 'integer' : 'number'}`);
    return n;
  };
}

/** The names of `--scenarios` as given (before the sets are expanded). */
const splitNames = (value: string) => value.split(',').map((s) => s.trim()).filter(Boolean);

function scenarioList(value: string): string[] {
  const names = splitNames(value);
  const expanded = names.flatMap((n) => (n === 'default' ? DEFAULT_SCENARIOS : n === 'all' ? ALL_NAMES : [n]));
  const unknown = expanded.filter((n) => !ALL_NAMES.includes(n));
  if (unknown.length > 0) throw new InvalidArgumentError(`unknown scenario ${unknown.join(', ')} (see --list)`);
  // Run order is the catalogue's, whatever order they were named in (list-keys must come before create-key).
  return ALL_NAMES.filter((n) => expanded.includes(n));
}

/** The text `--list` prints: every scenario with what it measures, the default set marked. */
export function scenarioListing(): string {
  const lines = ['Scenarios (* = in the default run; "default" and "all" name sets; postgres in a set is skipped when no PostgreSQL server answers):'];
  for (const s of API_SCENARIOS) {
    const bytes = s.baseline.kind === 'bare-encrypt' ? s.baseline.plaintextBytes : 0;
    const base = s.baseline.kind === 'direct' ? s.baseline.name : `bare encrypt ${bytes >= 1024 ? `${bytes / 1024} KiB` : `${bytes} B`}`;
    lines.push(`  ${DEFAULT_SCENARIOS.includes(s.name) ? '*' : ' '} ${s.name.padEnd(20)} ${s.operation}  [ratio against ${base}]`);
  }
  for (const [name, what] of Object.entries(COMPOSITE_SCENARIOS)) lines.push(`  ${DEFAULT_SCENARIOS.includes(name) ? '*' : ' '} ${name.padEnd(20)} ${what}`);
  return lines.join('\n');
}

/** Parses `argv` (process.argv form); exits with commander's message on a bad option. */
export function parseOptions(argv: readonly string[]): Options {
  const envSeconds = process.env.BENCH_SECONDS;
  const program = new Command('npm run bench --')
    .description('Throughput and latency of a real Strongroom deployment, beside bare node:http and direct-crypto baselines measured in the same run')
    .option('--scenarios <names>', 'comma-separated scenarios, or the sets "default" and "all" (default: those marked * in --list)', scenarioList)
    .option('--list', 'print the scenarios and exit', false)
    .option('--duration <seconds>', `seconds per measurement (default ${DEFAULT_SECONDS}, or BENCH_SECONDS)`, positive('--duration', false))
    .option('--connections <n>', 'connections of the maximum-throughput passes', positive('--connections', true), DEFAULT_CONNECTIONS)
    .option('--auth <mode>', 'token, aksk or both', (v: string) => {
      if (v !== 'token' && v !== 'aksk' && v !== 'both') throw new InvalidArgumentError('--auth must be token, aksk or both');
      return v;
    }, 'both')
    .showHelpAfterError();
  let named: string[] = [];
  program.on('option:scenarios', (value: string) => (named = splitNames(value).filter((n) => n !== 'default' && n !== 'all')));
  program.parse(argv as string[]);
  const o = program.opts<{ scenarios?: string[]; list: boolean; duration?: number; connections: number; auth: 'token' | 'aksk' | 'both' }>();
  let seconds = o.duration;
  if (seconds === undefined && envSeconds !== undefined) seconds = positive('BENCH_SECONDS', false)(envSeconds);
  return {
    scenarios: o.scenarios ?? [...DEFAULT_SCENARIOS],
    named,
    seconds: seconds ?? DEFAULT_SECONDS,
    connections: o.connections,
    auth: o.auth === 'both' ? ['token', 'aksk'] : [o.auth],
    list: o.list,
  };
}
