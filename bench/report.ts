/**
 * The benchmark's report: rows printed as one table on stdout and written to bench/results/ as JSON and
 * Markdown (`latest.json`, `latest.md`, and a copy of each named after the start time).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PACED_GRACE_SECONDS, type LoadResult } from './load.js';

export const RESULTS_DIR = fileURLToPath(new URL('./results/', import.meta.url));

/** One line of the report. Rates are requests (or operations) per second, latencies ms. */
export interface Row {
  section: 'api' | 'half-load' | 'keygen-interference' | 'scale' | 'postgres' | 'baseline';
  operation: string;
  /** `token`, `aksk`, or `-` for direct primitives. */
  auth: string;
  /** `max` (closed loop, N connections), `paced` (fixed rate, open loop), `direct` (in-process calls). */
  mode: 'max' | 'paced' | 'direct';
  /** Paced rows: the rate asked for, req/s. */
  targetRate?: number;
  result: LoadResult;
  baseline?: { name: string; requestsPerSecond: number };
  /** requests/s ÷ baseline requests/s. */
  ratio?: number;
  /** Rows of another store: requests/s ÷ requests/s of the same operation and auth on the SQLite deployment, same run. */
  vsSqlite?: number;
  notes: string[];
}

export interface RunInfo {
  command: string;
  node: string;
  openssl: string;
  cpus: number;
  cpuModel: string;
  /** Seconds per measurement. */
  seconds: number;
  connections: number;
  auth: string[];
  scenarios: string[];
  startedAt: string;
  /** Whole run, seconds (startup and seeding included). */
  totalSeconds?: number;
  notes: string[];
}

const fmtRate = (v: number | undefined) => (v === undefined || Number.isNaN(v) ? '—' : v >= 100 ? v.toFixed(0) : v.toFixed(1));
const fmtMs = (v: number | undefined) => (v === undefined || Number.isNaN(v) ? '—' : v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));

const COLUMNS = ['operation', 'auth', 'req/s', 'p50 ms', 'p99 ms', 'failed', 'baseline', 'baseline req/s', 'ratio'] as const;
/** The last column, shown only when a row has a figure for it (the postgres scenario's rows). */
const VS_SQLITE = 'vs SQLite';

/** The table's columns: COLUMNS, and `vs SQLite` when some row compares with the SQLite deployment. */
function columnsOf(rows: readonly Row[]): string[] {
  return rows.some((r) => r.vsSqlite !== undefined) ? [...COLUMNS, VS_SQLITE] : [...COLUMNS];
}

function cells(r: Row, withVsSqlite: boolean): string[] {
  const res = r.result;
  const rate = r.mode === 'paced' ? `${fmtRate(res.requestsPerSecond)} (paced)` : fmtRate(res.requestsPerSecond);
  const failed = res.failed === 0 ? '0' : `${res.failed}${res.aborted ? ' ABORTED' : ''}`;
  // Unanswered requests count at their wait so far: a percentile they reach is a lower bound.
  const share = res.unansweredShare ?? 0;
  const atLeast = (v: number, p: number) => (share > 1 - p && !Number.isNaN(v) ? `≥${fmtMs(v)}` : fmtMs(v));
  return [
    r.operation, r.auth, res.aborted && res.ok === 0 ? '—' : rate, atLeast(res.p50Ms, 0.5), atLeast(res.p99Ms, 0.99), failed,
    r.baseline?.name ?? '—', fmtRate(r.baseline?.requestsPerSecond), r.ratio === undefined ? '—' : r.ratio.toFixed(2),
    ...(withVsSqlite ? [r.vsSqlite === undefined || Number.isNaN(r.vsSqlite) ? '—' : r.vsSqlite.toFixed(2)] : []),
  ];
}

/** The rows as a fixed-width text table, one section after another. */
export function textTable(rows: readonly Row[]): string {
  const columns = columnsOf(rows);
  const table = [columns, ...rows.map((r) => cells(r, columns.length > COLUMNS.length))];
  const widths = columns.map((_, i) => Math.max(...table.map((t) => t[i]!.length)));
  const numeric = new Set([2, 3, 4, 5, 7, 8, 9]);
  const line = (t: string[]) => t.map((c, i) => (numeric.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd();
  const out = [line(table[0]!), widths.map((w) => '-'.repeat(w)).join('  ')];
  let section = rows[0]?.section;
  rows.forEach((r, i) => {
    if (r.section !== section) {
      out.push('');
      section = r.section;
    }
    out.push(line(table[i + 1]!));
  });
  return out.join('\n');
}

/** Notes of the rows (failures, first failing answers, row-specific remarks), one per line. */
export function rowNotes(rows: readonly Row[]): string[] {
  const out: string[] = [];
  for (const r of rows) {
    const res = r.result;
    const label = `${r.operation} (${r.auth})`;
    if (res.failed > 0 || res.aborted) {
      const codes = Object.entries(res.statuses).map(([code, n]) => `${code}×${n}`).join(', ');
      out.push(`${label}: ${res.failed} failed (statuses ${codes || 'none'}; connection errors ${res.errors})${res.aborted ? `; ${res.aborted}` : ''}${res.firstFailure ? `; first: ${res.firstFailure}` : ''}`);
    }
    if (res.unanswered) out.push(`${label}: ${res.unanswered} requests had no answer ${PACED_GRACE_SECONDS} s after the last one was due; counted at their wait so far (≥: a lower bound)`);
    if (res.senderLagP99Ms !== undefined && res.senderLagP99Ms > 5) out.push(`${label}: the paced sender ran late (p99 ${fmtMs(res.senderLagP99Ms)} ms); this lateness is included in the latencies`);
    for (const n of r.notes) out.push(`${label}: ${n}`);
  }
  return out;
}

function markdown(info: RunInfo, rows: readonly Row[]): string {
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  const columns = columnsOf(rows);
  const lines = [
    `# Strongroom benchmark, ${info.startedAt}`,
    '',
    `\`${info.command}\` — node ${info.node} (OpenSSL ${info.openssl}), ${info.cpus} CPUs (${info.cpuModel}), ` +
      `${info.seconds} s per measurement, ${info.connections} connections, auth ${info.auth.join(', ')}` +
      (info.totalSeconds !== undefined ? `, whole run ${info.totalSeconds.toFixed(0)} s` : '') + '.',
    '',
    `| ${columns.join(' | ')} |`,
    `| ${columns.map((_, i) => (i >= 2 && i !== 6 ? '---:' : '---')).join(' | ')} |`,
    ...rows.map((r) => `| ${cells(r, columns.length > COLUMNS.length).map(esc).join(' | ')} |`),
    '',
    ...info.notes.map((n) => `- ${n}`),
    ...rowNotes(rows).map((n) => `- ${esc(n)}`),
    '',
  ];
  return lines.join('\n');
}

/** Writes latest.json / latest.md and timestamped copies under bench/results/; returns the paths written. */
export function writeResults(info: RunInfo, rows: readonly Row[]): string[] {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const stamp = info.startedAt.replace(/[:.]/g, '-');
  const json = JSON.stringify({ info, rows }, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2) + '\n';
  const md = markdown(info, rows);
  const paths = [join(RESULTS_DIR, 'latest.json'), join(RESULTS_DIR, 'latest.md'), join(RESULTS_DIR, `${stamp}.json`), join(RESULTS_DIR, `${stamp}.md`)];
  writeFileSync(paths[0]!, json);
  writeFileSync(paths[1]!, md);
  writeFileSync(paths[2]!, json);
  writeFileSync(paths[3]!, md);
  return paths;
}
