/**
 * The repository stands on its own (issue 12): every `*.md` / `*.txt` document a file of the repository cites
 * exists in it, named by its path from the repository root or from the citing file's folder (public documents are
 * cited by URL, which this check leaves alone), and no file names a path outside the repository (the shared folder
 * the project was built beside, the machine's work folders). Files are those git knows (tracked, or new and not
 * ignored); outside a git checkout, the files on disk minus what .gitignore leaves out.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, posix, relative, sep } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Files written by commands and kept out of git (bench/results/README.md says so): cited, never committed. */
const GENERATED = new Set(['latest.md']);

/** Paths outside the repository: the shared folder the project was built beside, the machine's work folders. */
const OUTSIDE = ['/work/', '../shared', 'shared/reference'];

/** The repository's text files, as paths relative to the root with `/` separators. */
function repositoryFiles(): string[] {
  let listed: string[];
  try {
    listed = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '-z'], { cwd: root, encoding: 'utf8' })
      .split('\0').filter(Boolean);
  } catch {
    listed = walk('');
  }
  return listed.filter((f) => existsSync(join(root, f)) && statSync(join(root, f)).isFile() && isText(f));
}

function walk(dir: string): string[] {
  const skip = new Set(['.git', 'node_modules', 'data', 'scratch', '.tmp', 'build']);
  const out: string[] = [];
  for (const e of readdirSync(join(root, dir), { withFileTypes: true })) {
    if (skip.has(e.name)) continue;
    const p = dir ? `${dir}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...(p === 'bench/results' ? [] : walk(p)));
    else out.push(p);
  }
  return out;
}

function isText(f: string): boolean {
  return !/\.(node|png|jpe?g|gif|ico|db|key|gz|zip)$/.test(f) && f !== 'package-lock.json';
}

/** A cited document: the file citing it, the line (1-based) and the name as written. */
export interface Citation { file: string; line: number; name: string }

/** Every `*.md` / `*.txt` name in `text`, URLs left out (a public document is cited by its address). */
export function citations(file: string, text: string): Citation[] {
  const found: Citation[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/\bhttps?:\/\/[^\s)>\]`'"]+/g, ' ');
    for (const m of line.matchAll(/(?<![\w./-])((?:\.{1,2}\/)*\w[\w./-]*\.(?:md|txt))(?![\w-])/g)) {
      found.push({ file, line: i + 1, name: m[1] });
    }
  });
  return found;
}

/** Whether a cited name is a file of the repository, from the root or from the citing file's folder. */
export function resolves(c: Citation, exists: (path: string) => boolean): boolean {
  if (GENERATED.has(posix.basename(c.name))) return true;
  const candidates = [posix.normalize(c.name), posix.normalize(posix.join(posix.dirname(c.file), c.name))];
  return candidates.some((p) => !p.startsWith('..') && exists(p));
}

describe('the repository is self-contained', () => {
  const files = repositoryFiles();
  // This file is left out of the scans: its own examples name missing documents on purpose.
  const self = relative(root, fileURLToPath(import.meta.url)).split(sep).join('/');
  const texts = new Map(files.filter((f) => f !== self).map((f) => [f, readFileSync(join(root, f), 'utf8')]));
  const onDisk = (p: string) => existsSync(join(root, p));

  test('the repository holds the reference documents and the fixtures the tests read', () => {
    for (const f of ['docs/reference/README.md', 'docs/reference/huawei-kms-api.md', 'docs/reference/huawei-auth.md',
      'docs/reference/observed-huawei-answers.md', 'docs/reference/seed-kms-regions-api.txt',
      'test/fixtures/sdk-captured-requests.jsonl']) {
      assert.ok(files.includes(f), `${f} is in the repository`);
    }
  });

  test('every *.md / *.txt document a file cites is in the repository', () => {
    const all = [...texts].flatMap(([f, text]) => citations(f, text));
    assert.ok(all.length > 100, `the scan finds the citations (${all.length})`);
    const missing = all.filter((c) => !resolves(c, onDisk)).map((c) => `${c.file}:${c.line}: ${c.name}`);
    assert.deepEqual(missing, [], `cited documents that are not in the repository (name them by their path in it, or cite a public URL):\n${missing.join('\n')}`);
  });

  test('no file names a path outside the repository', () => {
    const found: string[] = [];
    for (const [f, text] of texts) {
      text.split('\n').forEach((line, i) => {
        for (const o of OUTSIDE) if (line.includes(o)) found.push(`${f}:${i + 1}: ${o}`);
      });
    }
    assert.deepEqual(found, []);
  });

  test('the checks catch what they look for', () => {
    const exists = (p: string) => ['README.md', 'docs/reference/huawei-auth.md', 'docs/ARCHITECTURE.md'].includes(p);
    const text = [
      'see huawei-kms-api.md §5.2 and docs/reference/huawei-auth.md §3',
      'an old note (stack.md), the page https://example.com/guide/notes.md, [arch](../ARCHITECTURE.md)',
      'written by the bench: bench/results/latest.md; the vectors oaep-vect.txt',
    ].join('\n');
    const cited = citations('docs/reference/x.md', text);
    assert.deepEqual(cited.map((c) => [c.line, c.name]), [
      [1, 'huawei-kms-api.md'], [1, 'docs/reference/huawei-auth.md'], [2, 'stack.md'], [2, '../ARCHITECTURE.md'],
      [3, 'bench/results/latest.md'], [3, 'oaep-vect.txt'],
    ]);
    assert.deepEqual(cited.filter((c) => !resolves(c, exists)).map((c) => c.name), ['huawei-kms-api.md', 'stack.md', 'oaep-vect.txt']);
    // A name relative to the citing file's folder resolves there.
    assert.equal(resolves({ file: 'docs/reference/README.md', line: 1, name: 'huawei-auth.md' }, exists), true);
    // Never above the repository root.
    assert.equal(resolves({ file: 'README.md', line: 1, name: '../README.md' }, exists), false);
  });
});
