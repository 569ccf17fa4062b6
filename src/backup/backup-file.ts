/**
 * The backup file of a region (`strongroom backup`): one line of JSON, the header, readable with `head -1`, then the
 * content, gzip-compressed JSON lines (storage/snapshot.ts): for each part (`region`, then `iam` when present) a line
 * `{"part", "dialect", "schemaVersion", "tables"}`, then for each table a line `{"table", "columns", "rows"}` followed
 * by one line per row (an array of cells). Written and read a line at a time, so a large store never becomes one
 * string.
 *
 * The header names the format and its version, the region, the deployment it came from, when it was taken, the root
 * keys its wrapped material needs (id and kind, never a key, a PIN or a store password), the schema versions, the
 * rows per table, and the deployment's layout without its secrets (regions, ports, quotas: what a restore writes
 * into a new deployment.json). Integrity: `content_sha256` is the SHA-256 of the header (without its last three
 * fields) and the compressed content; `content_mac` is an HMAC-SHA256 of the same bytes under a key that only the
 * region's root key unwraps (`mac_key`, wrapped bound to "strongroom backup mac key"), so a file changed by anyone
 * without the root key is refused, header included.
 *
 * The file is written with mode 0600 to a temporary name beside the target, synced, then renamed into place.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname, join, basename } from 'node:path';
import { once } from 'node:events';
import { createGzip, gunzipSync } from 'node:zlib';
import type { RootKey } from '../keystore/root-key.js';
import type { StoreSnapshot } from '../storage/snapshot.js';

export const BACKUP_FORMAT = 'strongroom-backup';
export const BACKUP_VERSION = 1;
const MAC_KEY_CONTEXT = Buffer.from('strongroom backup mac key');

/** What a root key is, as a backup names it: its id and kind; a PKCS#11 key adds where it lives (no PIN). */
export interface RootKeyDescription {
  id: string;
  /** `file` (the key file master.key) or `pkcs11`. */
  kind: string;
  module?: string;
  token?: string;
  key_label?: string;
}

/** The deployment a backup came from, without its secrets (no internal secret, no store URL, no TLS files). */
export interface DeploymentLayout {
  host: string;
  iam_port: number;
  regions: { id: string; ports: number[] }[];
  nodes?: number;
  key_quota: number;
  grant_quota?: number;
  throttling?: unknown;
  replication?: Record<string, string[]>;
  peer_timeout_ms?: number;
  outbox_max_backoff_ms?: number;
  lease_ms?: number;
  deletion_sweep_ms?: number;
}

export interface BackupHeader {
  format: typeof BACKUP_FORMAT;
  version: number;
  region: string;
  deployment_id: string | null;
  /** ISO 8601 time the region's snapshot was taken. */
  created_at: string;
  /** The store kind the backup was read from. */
  store: 'sqlite' | 'postgres';
  root_key: RootKeyDescription;
  /** IAM's part: its root key and schema version; null when the backup holds no IAM snapshot. */
  iam: { root_key: RootKeyDescription; schema_version: number } | null;
  schema_version: number;
  /** Rows per table of the region and of IAM. */
  counts: { region: Record<string, number>; iam: Record<string, number> | null };
  deployment: DeploymentLayout;
  /** Base64: 32 random bytes wrapped by the region's root key. */
  mac_key: string;
  content_sha256: string;
  content_mac: string;
}

export interface BackupContent {
  region: StoreSnapshot;
  iam: StoreSnapshot | null;
}

/** Raised when a file is not a backup this version reads, or is damaged or changed. */
export class BackupFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BackupFileError';
  }
}

type Unsealed = Omit<BackupHeader, 'mac_key' | 'content_sha256' | 'content_mac'>;

/** The bytes the hash and the MAC cover: the header without its integrity fields, a newline, the content. */
const covered = (h: Unsealed, body: Buffer): Buffer => {
  const { mac_key: _m, content_sha256: _s, content_mac: _c, ...rest } = h as BackupHeader;
  return Buffer.concat([Buffer.from(JSON.stringify(rest) + '\n'), body]);
};

/** Writes a backup file atomically (mode 0600) and returns its size in bytes. */
export async function writeBackupFile(path: string, header: Unsealed, content: BackupContent, rootKey: RootKey): Promise<number> {
  const body = await encodeContent(content);
  const macKey = randomBytes(32);
  const bytes = covered(header, body);
  const full: BackupHeader = {
    ...header,
    mac_key: (await rootKey.wrap(macKey, MAC_KEY_CONTEXT)).toString('base64'),
    content_sha256: createHash('sha256').update(bytes).digest('hex'),
    content_mac: createHmac('sha256', macKey).update(bytes).digest('hex'),
  };
  macKey.fill(0);
  const out = Buffer.concat([Buffer.from(JSON.stringify(full) + '\n'), body]);
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    const fd = openSync(tmp, 'wx', 0o600);
    try {
      writeSync(fd, out);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw new Error(`cannot write ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  return out.length;
}

/** A backup file read and its header checked against its content hash (the MAC needs the root key: verifyBackupMac). */
export interface ReadBackup {
  header: BackupHeader;
  /** The compressed content, as stored. */
  body: Buffer;
}

/** Reads a backup file: its header, and the content's hash checked. Throws BackupFileError. */
export function readBackupFile(path: string): ReadBackup {
  let file: Buffer;
  try {
    file = readFileSync(path);
  } catch (err) {
    throw new BackupFileError(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const nl = file.indexOf(0x0a);
  let header: BackupHeader;
  try {
    header = JSON.parse(file.subarray(0, nl < 0 ? file.length : nl).toString('utf8')) as BackupHeader;
  } catch {
    throw new BackupFileError(`${path} is not a Strongroom backup (its first line is not a JSON header)`);
  }
  if (header?.format !== BACKUP_FORMAT) throw new BackupFileError(`${path} is not a Strongroom backup`);
  if (header.version !== BACKUP_VERSION) throw new BackupFileError(`${path} is a backup of format version ${String(header.version)}; this Strongroom reads version ${BACKUP_VERSION}`);
  const body = file.subarray(nl + 1);
  const digest = createHash('sha256').update(covered(header, body)).digest();
  const stated = Buffer.from(String(header.content_sha256 ?? ''), 'hex');
  if (stated.length !== digest.length || !timingSafeEqual(stated, digest)) {
    throw new BackupFileError(`${path} is damaged or was changed: its content does not match the SHA-256 in its header; nothing was restored`);
  }
  return { header, body };
}

/**
 * Checks the content's MAC with the region's root key (which unwraps `mac_key`): a file changed by someone without
 * the root key is refused. Throws BackupFileError; an `unwrap` failure means another root key.
 */
export async function verifyBackupMac(backup: ReadBackup, rootKey: RootKey): Promise<void> {
  let macKey: Buffer;
  try {
    macKey = await rootKey.unwrap(Buffer.from(backup.header.mac_key, 'base64'), MAC_KEY_CONTEXT);
  } catch {
    throw new BackupFileError(`the backup's MAC key does not unwrap under root key ${rootKey.id} (the backup names ${backup.header.root_key.id})`);
  }
  const mac = createHmac('sha256', macKey).update(covered(backup.header, backup.body)).digest();
  macKey.fill(0);
  const stated = Buffer.from(String(backup.header.content_mac ?? ''), 'hex');
  if (stated.length !== mac.length || !timingSafeEqual(stated, mac)) {
    throw new BackupFileError('the backup was changed: its MAC does not match its content; nothing was restored');
  }
}

/** The content as gzip-compressed JSON lines (see the module's comment). */
async function encodeContent(content: BackupContent): Promise<Buffer> {
  const gzip = createGzip();
  const chunks: Buffer[] = [];
  gzip.on('data', (c: Buffer) => chunks.push(c));
  const ended = once(gzip, 'end');
  // Lines are handed to gzip about a megabyte at a time.
  let pending: string[] = [];
  let size = 0;
  const flush = async () => {
    if (pending.length === 0) return;
    const ok = gzip.write(pending.join(''));
    pending = [];
    size = 0;
    if (!ok) await once(gzip, 'drain');
  };
  const line = async (value: unknown) => {
    const text = JSON.stringify(value) + '\n';
    pending.push(text);
    size += text.length;
    if (size >= 1 << 20) await flush();
  };
  for (const [part, snapshot] of [['region', content.region], ['iam', content.iam]] as const) {
    if (snapshot === null) continue;
    await line({ part, dialect: snapshot.dialect, schemaVersion: snapshot.schemaVersion, tables: snapshot.tables.length });
    for (const t of snapshot.tables) {
      await line({ table: t.name, columns: t.columns, rows: t.rows.length });
      for (const row of t.rows) await line(row);
    }
  }
  await flush();
  gzip.end();
  await ended;
  return Buffer.concat(chunks);
}

/** The snapshots of a checked backup. Throws BackupFileError when the content is not what the format says. */
export function backupContent(backup: ReadBackup): BackupContent {
  let text: Buffer;
  try {
    text = gunzipSync(backup.body);
  } catch {
    throw new BackupFileError('the backup\'s content cannot be read (not gzip-compressed)');
  }
  let at = 0;
  const next = (): unknown => {
    if (at >= text.length) throw new BackupFileError('the backup\'s content ends early');
    let end = text.indexOf(0x0a, at);
    if (end < 0) end = text.length;
    const line = text.subarray(at, end).toString('utf8');
    at = end + 1;
    try {
      return JSON.parse(line);
    } catch {
      throw new BackupFileError('the backup\'s content has a line that is not JSON');
    }
  };
  const content: BackupContent = { region: null as unknown as StoreSnapshot, iam: null };
  while (at < text.length) {
    const head = next() as { part?: string; dialect?: StoreSnapshot['dialect']; schemaVersion?: number; tables?: number };
    if ((head.part !== 'region' && head.part !== 'iam') || typeof head.tables !== 'number' || typeof head.schemaVersion !== 'number') {
      throw new BackupFileError('the backup\'s content is not in the format its header names');
    }
    const snapshot: StoreSnapshot = { dialect: head.dialect!, schemaVersion: head.schemaVersion, tables: [] };
    for (let i = 0; i < head.tables; i++) {
      const t = next() as { table?: string; columns?: string[]; rows?: number };
      if (typeof t.table !== 'string' || !Array.isArray(t.columns) || typeof t.rows !== 'number') throw new BackupFileError('the backup\'s content is not in the format its header names');
      const rows: StoreSnapshot['tables'][number]['rows'] = [];
      for (let r = 0; r < t.rows; r++) rows.push(next() as StoreSnapshot['tables'][number]['rows'][number]);
      snapshot.tables.push({ name: t.table, columns: t.columns, rows });
    }
    content[head.part] = snapshot;
  }
  if (content.region === null) throw new BackupFileError('the backup holds no region snapshot');
  return content;
}
