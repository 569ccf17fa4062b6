/**
 * Liveness and readiness of one Strongroom process, without credentials (as load balancers and orchestrators ask):
 *
 * - `GET /healthz`: 200 while the process serves HTTP, with who it is: `{status: "ok", component: "iam" | "region",
 *   region?, deployment_id?, pid}`. The launcher checks these fields before it says a deployment is up, so that a
 *   port answered by another deployment's process is not taken for its own.
 * - `GET /readyz`: 200 `{status: "ready", checks}` when every check passes, else 503 `{status: "not ready",
 *   checks}`; each check is `"ok"` or the reason it failed (a region: its store, its root key and its link to IAM;
 *   IAM: its store and its root key). Checks run at most once per `cacheMs` (default 1000 ms) whatever the rate of
 *   probes.
 */
import type { FastifyInstance } from 'fastify';

/** Who a process is, as `/healthz` answers. */
export interface ProcessIdentity {
  component: 'iam' | 'region';
  /** The region id (regions only). */
  region?: string;
  /** The deployment's id (deployment.json `deployment_id`), when the process belongs to one. */
  deploymentId?: string;
}

/** A readiness check: resolves when the dependency works, rejects (or throws) with the reason when it does not. */
export type ReadinessCheck = () => Promise<void>;

/** A check given at most `ms` milliseconds before it counts as failed. */
async function within(ms: number, check: ReadinessCheck): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      check(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
      }),
    ]);
    return 'ok';
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  } finally {
    clearTimeout(timer);
  }
}

/** Mounts `/healthz` and `/readyz` on an app (see the module comment for the answers). */
export function healthRoutes(app: FastifyInstance, identity: ProcessIdentity, checks: Record<string, ReadinessCheck>, options: { cacheMs?: number; timeoutMs?: number } = {}): void {
  const cacheMs = options.cacheMs ?? 1000;
  const timeoutMs = options.timeoutMs ?? 2000;
  let last: { at: number; result: Promise<Record<string, string>> } | undefined;
  const run = (): Promise<Record<string, string>> => {
    if (last && Date.now() - last.at < cacheMs) return last.result;
    const result = Promise.all(Object.entries(checks).map(async ([name, check]) => [name, await within(timeoutMs, check)] as const)).then(Object.fromEntries);
    last = { at: Date.now(), result };
    return result;
  };
  const body = {
    status: 'ok', component: identity.component,
    ...(identity.region !== undefined ? { region: identity.region } : {}),
    ...(identity.deploymentId !== undefined ? { deployment_id: identity.deploymentId } : {}),
    pid: process.pid,
  };
  app.get('/healthz', async (_req, reply) => reply.header('Cache-Control', 'no-store').send(body));
  app.get('/readyz', async (_req, reply) => {
    const results = await run();
    const ready = Object.values(results).every((r) => r === 'ok');
    return reply.code(ready ? 200 : 503).header('Cache-Control', 'no-store').send({ status: ready ? 'ready' : 'not ready', checks: results });
  });
}

/** A root key works when it unwraps what it has just wrapped. */
export function rootKeyCheck(rootKey: { wrap(p: Buffer, c: Buffer): Promise<Buffer>; unwrap(w: Buffer, c: Buffer): Promise<Buffer> }): ReadinessCheck {
  const probe = Buffer.from('strongroom readiness probe');
  const context = Buffer.from('readyz');
  return async () => {
    const back = await rootKey.unwrap(await rootKey.wrap(probe, context), context);
    if (!back.equals(probe)) throw new Error('the root key did not give back what it wrapped');
  };
}
