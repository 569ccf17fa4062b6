/** Free loopback ports for test and benchmark deployments. */
import { createServer } from 'node:net';

async function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/**
 * `count` consecutive free ports, below Linux's ephemeral range (32768–60999), where the client side of every
 * connection on the machine (tests, load generators) could take one between this check and the server's listen.
 */
export async function freePortRange(count: number): Promise<number> {
  for (;;) {
    const base = 20000 + Math.floor(Math.random() * (12000 - count));
    let ok = true;
    for (let i = 0; i < count && ok; i++) ok = await portFree(base + i);
    if (ok) return base;
  }
}
