/**
 * One concise log line per answered call, at `debug` (STRONGROOM_LOG_LEVEL=debug shows them; at the default `info`
 * only warnings and errors are written): `{"level":20,"time":…,"pid":…,"request_id":"<request id>","op":"EncryptData",
 * "key":"<key id>","caller":"<domain>/<user>","status":200,"code":"KMS.0207","ms":1.4,"msg":"call"}`, about 200
 * bytes. A 5xx answer is logged at `warn` whatever the level. Never a header, a body, a token or a signature: the
 * audit trail is the full record of every call.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';

const NOT_LOGGED = new Set(['/metrics', '/healthz', '/readyz']);

/** Who called, as `domain/user` (both pipelines' contexts carry `caller` with these names), or undefined. */
function callerOf(req: FastifyRequest): string | undefined {
  const caller = (req.call?.ctx as { caller?: { domainName?: string; userName?: string } } | undefined)?.caller;
  return caller?.userName !== undefined ? `${caller.domainName ?? '?'}/${caller.userName}` : undefined;
}

/** Adds the per-call line to an app whose logger is on. */
export function requestLog(app: FastifyInstance): void {
  app.addHook('onResponse', async (req, reply) => {
    const serverError = reply.statusCode >= 500;
    if (!serverError && req.log.level !== 'debug' && req.log.level !== 'trace') return;
    if (NOT_LOGGED.has(req.url.split('?')[0]!)) return;
    const keys = req.call?.keyIds ?? [];
    // The request id is the logger's own binding (`request_id`).
    const line = {
      op: req.call?.operation.name ?? `${req.method} ${req.url.split('?')[0]!.slice(0, 120)}`,
      ...(keys.length > 0 ? { key: keys.length === 1 ? keys[0] : keys.slice(0, 5).join(',') } : {}),
      ...(callerOf(req) !== undefined ? { caller: callerOf(req) } : {}),
      status: reply.statusCode,
      ...(req.call?.errorCode !== undefined ? { code: req.call.errorCode } : {}),
      ms: Math.round(reply.elapsedTime * 10) / 10,
    };
    if (serverError) req.log.warn(line, 'call failed');
    else req.log.debug(line, 'call');
  });
}
