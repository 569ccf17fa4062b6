/**
 * The README's action tables stay true: every operation of both catalogues has its row (SDK name, method and path,
 * IAM action, `*` for names of ours), and no row names an operation that does not exist.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { IAM_OPERATIONS } from '../src/api/iam/catalogue.js';
import { KMS_OPERATIONS } from '../src/api/kms/catalogue.js';
import type { Operation } from '../src/api/operation.js';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
const rows = readme.split('\n').filter((l) => /^\| `[A-Za-z]+` \| `(GET|POST|PUT|PATCH|DELETE|HEAD) /.test(l));

function expectedRow(o: Operation): string {
  const action = o.authentication === 'none' ? 'none (no credentials)'
    : o.action === null ? 'none (any authenticated caller; see below)'
    : `\`${o.action}\`${o.actionSource === 'strongroom' ? ' *' : ''}`;
  return `| \`${o.name}\` | \`${o.method} ${o.path}\` | ${action} |`;
}

test('every operation has its row in the README action tables, and every row an operation', () => {
  const all = [...KMS_OPERATIONS, ...IAM_OPERATIONS] as readonly Operation[];
  for (const o of all) assert.ok(rows.includes(expectedRow(o)), `README lacks or misstates: ${expectedRow(o)}`);
  assert.equal(rows.length, all.length, 'a README row names no operation of the catalogues');
});
