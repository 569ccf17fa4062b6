/**
 * What every Strongroom HTTP endpoint shares: the raw body kept for signature checks, JSON parsed by us (so bad
 * JSON is KMS.0202, not a framework error), `X-Request-Id` on every response, Huawei's error body for every
 * failure, 404 for unknown paths and 405 for a known path with the wrong method. No stack trace ever leaves.
 */
import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest, type HTTPMethods } from 'fastify';
import { errorBody, KmsError, type ErrorCode } from '../errors.js';
import { precheck } from '../iam/aksk.js';
import { responseSignature } from '../internal-auth.js';

declare module 'fastify' {
  interface FastifyRequest {
    rawBody: Buffer;
    /** The parsed JSON body, or undefined when the body was empty. */
    json: unknown;
  }
}

export const BODY_LIMIT = 64 * 1024;

export interface HttpOptions {
  /** A pino logger config, or false for none. */
  logger: boolean | { level: string; file?: string };
  /** The code for a body that is not JSON: KMS.0202 on KMS endpoints, IAM.0001 on IAM. */
  malformedBody?: ErrorCode;
}

export function createHttpApp(options: HttpOptions): FastifyInstance {
  const logger =
    options.logger === false
      ? false
      : {
          level: options.logger === true ? 'info' : options.logger.level,
          ...(options.logger !== true && options.logger.file ? { file: options.logger.file } : {}),
          redact: ['req.headers.authorization', 'req.headers["x-auth-token"]', 'req.headers["x-subject-token"]', 'req.headers["x-security-token"]'],
        };
  const app = Fastify({
    logger,
    bodyLimit: BODY_LIMIT,
    genReqId: () => randomUUID(),
    requestIdHeader: false,
    return503OnClosing: true,
    exposeHeadRoutes: false,
    // A path the router cannot even decode (bad %-escape, over-long parameter) answers like every other error.
    frameworkErrors: (err, req, reply) => {
      reply.header('X-Request-Id', req.id);
      return sendError(reply, new KmsError('KMS.0201', err.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 'A path segment is too long.' : 'The path is not validly encoded.'));
    },
  });
  const patterns: { method: string; re: RegExp }[] = [];

  app.decorateRequest('rawBody', undefined as unknown as Buffer);
  app.decorateRequest('json', undefined);
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (req, body, done) => {
    req.rawBody = body as Buffer;
    done(null, body);
  });

  app.addHook('onRoute', (route) => {
    const re = new RegExp('^' + route.url.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/:[A-Za-z_]+/g, '[^/]+') + '/?$');
    for (const m of [route.method].flat()) patterns.push({ method: m, re });
  });
  app.addHook('onRequest', async (req, reply) => {
    reply.header('X-Request-Id', req.id);
    req.rawBody = Buffer.alloc(0);
    // Fastify does not read bodies of GET/HEAD, but the Node SDK sends (and signs) `{}` on some GETs.
    if ((req.method === 'GET' || req.method === 'HEAD') && (req.headers['content-length'] || req.headers['transfer-encoding'])) {
      req.rawBody = await readBody(req.raw);
    }
  });
  app.addHook('preValidation', async (req) => {
    req.json = parseJson(req.rawBody, options.malformedBody ?? 'KMS.0202');
  });

  app.setNotFoundHandler((req, reply) => {
    const path = req.url.split('?')[0]!;
    const known = patterns.filter((p) => p.re.test(path));
    if (known.length > 0 && !known.some((p) => p.method === req.method)) {
      return sendError(reply, new KmsError('KMS.0215', `Use ${[...new Set(known.map((p) => p.method))].join(' or ')}.`));
    }
    return sendError(reply, new KmsError('APIGW.0101', `${req.method} ${path} is not an API of this endpoint.`));
  });

  app.setErrorHandler((err: unknown, req, reply) => sendError(reply, toKmsError(err, req)));
  return app;
}

async function readBody(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    size += (chunk as Buffer).length;
    if (size > BODY_LIMIT) throw new KmsError('KMS.0203', `The body may have at most ${BODY_LIMIT} bytes.`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function parseJson(raw: Buffer, malformed: ErrorCode): unknown {
  if (raw.length === 0 || raw.toString('utf8').trim() === '') return undefined;
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch {
    throw new KmsError(malformed, 'The body is not valid JSON.');
  }
}

function toKmsError(err: unknown, req: FastifyRequest): KmsError {
  if (err instanceof KmsError) return err;
  const e = err as { code?: string; statusCode?: number };
  if (e.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return new KmsError('KMS.0203', `The body may have at most ${BODY_LIMIT} bytes.`);
  if (e.code === 'FST_ERR_CTP_INVALID_CONTENT_LENGTH' || e.code === 'FST_ERR_CTP_EMPTY_JSON_BODY') return new KmsError('KMS.0202');
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) return new KmsError('KMS.0308', 'The request is malformed.');
  req.log.error({ err }, 'unexpected error');
  return new KmsError('KMS.0103');
}

export function sendError(reply: FastifyReply, err: KmsError): FastifyReply {
  return reply.code(err.status).header('Content-Type', 'application/json;charset=UTF-8').send(errorBody(err));
}

export type Method = HTTPMethods;

/** One value of a request header (the first, if it was sent several times). */
export function header(req: FastifyRequest, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/**
 * The checks of an SDK-HMAC-SHA256 signature that need no secret key (aksk.ts), on this request's raw path, query,
 * headers and body; KMS and IAM bodies must be signed. APIGW.0301 when they fail.
 */
export function signatureCandidates(req: FastifyRequest, now: number) {
  const [path, query = ''] = req.url.split('?', 2) as [string, string?];
  const pre = precheck({ method: req.method, path, query, headers: req.headers, body: req.rawBody }, now, { unsignedPayload: false });
  if (!pre.ok) throw new KmsError('APIGW.0301', `The request signature is invalid: ${pre.reason}.`);
  return pre;
}

/** Signs every answer of an internal API with the deployment secret, as `node` (internal-auth.ts). */
export function signAnswers(instance: FastifyInstance, secret: Buffer, node: string): void {
  instance.addHook('onSend', async (_req, reply, payload) => {
    const body = typeof payload === 'string' ? Buffer.from(payload) : Buffer.isBuffer(payload) ? payload : Buffer.alloc(0);
    reply.header('x-strongroom-signature', responseSignature(secret, node, body));
    return body;
  });
}
