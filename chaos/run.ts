/**
 * `npm run chaos -- --seconds N [--workers W]`: the crash-safety harness (chaos/harness.ts) from the command line.
 * Prints each kill and any lost fact as it goes; the last line is `kills K, acknowledged A, lost L`; exits 1 when
 * anything was lost.
 */
import { parseArgs } from 'node:util';
import { runChaos } from './harness.js';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '60' }, workers: { type: 'string', default: '4' } } });
const seconds = Number(values.seconds);
const workers = Number(values.workers);
if (!Number.isInteger(seconds) || seconds < 5 || !Number.isInteger(workers) || workers < 1) {
  console.error('usage: npm run chaos -- --seconds N (at least 5) [--workers W]');
  process.exit(2);
}
const started = Date.now();
const result = await runChaos({ seconds, workers, log: (line) => console.log(`${((Date.now() - started) / 1000).toFixed(1).padStart(6)} s  ${line}`) });
for (const p of result.problems) console.log(`lost: ${p}`);
console.log(`kills ${result.kills}, acknowledged ${result.acknowledged}, lost ${result.lost}`);
process.exit(result.lost === 0 ? 0 : 1);
