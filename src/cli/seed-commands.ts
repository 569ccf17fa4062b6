/**
 * `strongroom seed FILE` and `strongroom export --region R` (README "Seed files"; the work is in src/seed/).
 * Exit codes: 0 done (seed: the JSON report on stdout), 1 the seed conflicts with the deployment's keys or a region
 * refused or could not be reached, 2 a usage error or an invalid file (every problem on stderr; nothing changed).
 */
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { writePrivateFile } from '../deployment.js';

// The seed modules (YAML, schemas, key-pair engines) load only when a seed command runs: other commands start faster.
type SeedClient = typeof import('../seed/seed-client.js');

/** Runs a command's work, turning the seed's errors into their exit codes and messages on stderr. */
async function run(work: (seed: SeedClient) => Promise<void>): Promise<void> {
  const seed = await import('../seed/seed-client.js');
  const { SeedApplyError, SeedFileError } = seed;
  try {
    await work(seed);
  } catch (err) {
    if (err instanceof SeedFileError) {
      console.error(`strongroom: the seed cannot be used; nothing was changed:\n${err.problems.map((p) => `  ${p}`).join('\n')}`);
      process.exitCode = 2;
    } else if (err instanceof SeedApplyError) {
      console.error(`strongroom: ${err.message}`);
      process.exitCode = 1;
    } else {
      throw err;
    }
  }
}

export function seedCommands(program: Command): void {
  program.command('seed').description('create or update the keys a seed file declares in a running deployment (JSON report on stdout)')
    .argument('<file>', 'the seed file (YAML)').option('--data-dir <dir>', 'the deployment\'s data directory', './data')
    .action((file: string, o: { dataDir: string }) => run(async ({ applySeedFile }) => {
      const report = await applySeedFile(o.dataDir, file);
      process.stdout.write(JSON.stringify(report, null, 2) + '\n');
    }));

  program.command('export').description('write a region\'s keys (of the bootstrap account) as a seed file')
    .requiredOption('--region <id>', 'the region').option('--data-dir <dir>', 'the deployment\'s data directory', './data')
    .option('--out <file>', 'write to this file instead of stdout (mode 0600 with --with-material)')
    .option('--with-material', 'include key material (symmetric and HMAC keys as base64 raw bytes, key pairs as PEM)', false)
    .option('--no-grants', 'leave grants out (their grantees are ids of this deployment)')
    .action((o: { region: string; dataDir: string; out?: string; withMaterial: boolean; grants: boolean }) => run(async ({ exportRegion }) => {
      const { text, skipped } = await exportRegion(o.dataDir, o.region, { withMaterial: o.withMaterial, grants: o.grants });
      for (const s of skipped) console.error(`strongroom: key ${s.key_id} left out: ${s.reason}`);
      if (o.out === undefined) process.stdout.write(text);
      else if (o.withMaterial) writePrivateFile(o.out, text);
      else writeFileSync(o.out, text);
    }));
}
