/**
 * Size-capped logs for the processes `strongroom start` launches. Each child writes to its log through a file
 * descriptor opened for appending, so the launcher rotates by copy-and-truncate: when `<name>.log` is larger than
 * `maxBytes`, it becomes `<name>.log.1` (older copies shift up to `.{keep}`, the oldest is dropped) and the live
 * file is truncated; the child's next write lands at the new end (O_APPEND). A line written between the copy and the
 * truncation can be lost, as with logrotate's `copytruncate`.
 */
import { copyFileSync, existsSync, renameSync, statSync, truncateSync, unlinkSync } from 'node:fs';

/** 10 MiB per file, 5 old files: at most 60 MiB of logs per process. */
export const LOG_MAX_BYTES = 10 * 1024 * 1024;
export const LOG_KEEP = 5;

/** Rotates `path` when it is larger than `maxBytes` (bytes); true when it did. */
export function rotateIfLarge(path: string, maxBytes = LOG_MAX_BYTES, keep = LOG_KEEP): boolean {
  let size: number;
  try {
    size = statSync(path).size;
  } catch {
    return false;
  }
  if (size <= maxBytes) return false;
  if (existsSync(`${path}.${keep}`)) unlinkSync(`${path}.${keep}`);
  for (let i = keep - 1; i >= 1; i--) if (existsSync(`${path}.${i}`)) renameSync(`${path}.${i}`, `${path}.${i + 1}`);
  copyFileSync(path, `${path}.1`);
  truncateSync(path, 0);
  return true;
}
