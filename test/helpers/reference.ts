/**
 * Fixtures the tests read, kept in the repository (test/fixtures/): the 119 requests captured from the official
 * Python SDK, release 3.1.211 (docs/reference/README.md says how they were captured). Tests read no file outside the
 * repository.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const fixtures = join(resolve(dirname(fileURLToPath(import.meta.url)), '..'), 'fixtures');

export function referencePath(name: string): string {
  const path = join(fixtures, name);
  if (!existsSync(path)) throw new Error(`fixture ${name} not found in test/fixtures`);
  return path;
}
