/** Where the project's shared reference material lives (a sibling of the repository, as CI lays it out). */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export function referencePath(name: string): string {
  for (const dir of [join(root, '..', 'shared', 'reference'), join(root, 'test', 'fixtures')]) {
    if (existsSync(join(dir, name))) return join(dir, name);
  }
  throw new Error(`reference file ${name} not found next to the repository`);
}
