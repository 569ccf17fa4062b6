/**
 * The worker thread of audit-writer.ts: its own connection to the store's database, appending sealed audit
 * records, so that the commit's fsync (synchronous=FULL) blocks this thread and not the server's event loop.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { SqliteAuditTables } from './audit-tables.js';
import { openDatabase } from './database.js';
import type { WriterReply, WriterRequest } from './audit-writer.js';

const db = openDatabase((workerData as { path: string }).path, null);
const tables = new SqliteAuditTables(db);
const port = parentPort!;

port.on('message', (m: WriterRequest) => {
  if (m.kind === 'close') {
    db.close();
    port.close();
    return;
  }
  let reply: WriterReply;
  try {
    reply = { id: m.id, head: m.kind === 'head' ? tables.head() : tables.appendSealed(m.pending, m.sealed, m.expected) };
  } catch (err) {
    reply = { id: m.id, error: err instanceof Error ? err.message : String(err) };
  }
  port.postMessage(reply);
});
