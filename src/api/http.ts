/**
 * What every Strongroom HTTP endpoint shares: the raw body kept for signature checks, JSON parsed strictly by us
 * (invalid UTF-8, bad JSON or a lone surrogate is KMS.0202, IAM.0001 on IAM: strict-json.ts), validation of the
 * catalogue's schemas with Huawei's codes (validation.ts), `X-Request-Id` on every response, Huawei's error body
 * for every failure, 404 for unknown paths and 405 for a known path with the wrong method, and Huawei-style answers
 * even to what Node's HTTP parser refuses before fastify runs. No stack trace ever leaves.
 */
import { newRequestId } from '../request-id.js';
import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import Fastify, { LogController, type FastifyInstance, type FastifyReply, type FastifyRequest, type HTTPMethods } from 'fastify';
import { errorBody, KmsError, ThrottledError, type ErrorCode } from '../errors.js';
import { precheck } from '../iam/aksk.js';
import { responseSignature } from '../internal-auth.js';
import { MalformedBody, parseStrictJson } from './strict-json.js';
import { requestLog } from './request-log.js';
import { compileValidator } from './validation.js';

declare module 'fastify' {
  interface FastifyRequest {
    rawBody: Buffer;
    /** The parsed JSON body, or undefined when the body was empty. */
    json: unknown;
  }
}

export const BODY_LIMIT = 64 * 1024;

/**
 * How long a client may take and how many connections a process holds (milliseconds): a request must arrive whole
 * (headers and body) within `requestMs` and its headers within `headersMs`, a kept-alive connection is closed after
 * `idleMs` without a request, and connections beyond `maxConnections` are closed as they open. A client that sends
 * a body one byte at a time cannot hold a connection longer than `requestMs`.
 */
export interface ConnectionLimits {
  requestMs: number;
  headersMs: number;
  idleMs: number;
  maxConnections: number;
}

export const DEFAULT_LIMITS: ConnectionLimits = { requestMs: 30_000, headersMs: 10_000, idleMs: 5_000, maxConnections: 4096 };

/** How an endpoint logs: the pino level (`debug` adds a line per call: request-log.ts) and an optional file. */
export interface LoggerOptions {
  level: string;
  file?: string;
}

export interface HttpOptions {
  /**
   * A pino logger config, or false for none. At `info`, warnings, errors and lifecycle events; at `debug`, one
   * concise line per call too (request-log.ts; the audit trail is the full record of every call).
   */
  logger: boolean | LoggerOptions;
  /** Which codes the endpoint answers with: KMS's (KMS.0202, KMS.0204, KMS.0308) or IAM's (IAM.0001). */
  service?: 'kms' | 'iam';
  /** Serve HTTPS with this certificate and key (PEM) instead of plain HTTP (tls.ts). */
  tls?: { cert: Buffer; key: Buffer };
  /** Timeouts and the connection cap (default DEFAULT_LIMITS; tests shorten them). */
  limits?: Partial<ConnectionLimits>;
}

export { newRequestId } from '../request-id.js';

const CODES = {
  kms: { malformed: 'KMS.0202', missing: 'KMS.0204', generic: 'KMS.0308', badRequest: 'KMS.0214', tooLong: 'KMS.0203', badUrl: 'KMS.0201' },
  iam: { malformed: 'IAM.0001', missing: 'IAM.0001', generic: 'IAM.0001', badRequest: 'IAM.0001', tooLong: 'IAM.0001', badUrl: 'IAM.0001' },
} as const satisfies Record<string, Record<string, ErrorCode>>;

/** Node's own limits, given to the server fastify creates (http or https). */
function serverOptions(limits: ConnectionLimits) {
  return {
    requireHostHeader: false,
    requestTimeout: limits.requestMs,
    headersTimeout: Math.min(limits.headersMs, limits.requestMs),
    connectionsCheckingInterval: Math.max(100, Math.min(1000, limits.headersMs / 4)),
  };
}

export function createHttpApp(options: HttpOptions): FastifyInstance {
  const codes = CODES[options.service ?? 'kms'];
  const logger =
    options.logger === false
      ? false
      : {
          level: options.logger === true ? 'info' : options.logger.level,
          ...(options.logger !== true && options.logger.file ? { file: options.logger.file } : {}),
          // Concise lines: an ISO time, no host name; the request id under `request_id`.
          base: { pid: process.pid },
          timestamp: () => `,"time":"${new Date().toISOString()}"`,
          messageKey: 'msg',
          redact: ['req.headers.authorization', 'req.headers["x-auth-token"]', 'req.headers["x-subject-token"]', 'req.headers["x-security-token"]'],
        };
  const limits = { ...DEFAULT_LIMITS, ...options.limits };
  const app = Fastify({
    logger,
    keepAliveTimeout: limits.idleMs,
    // Fastify sets the server's requestTimeout from this after creating it (over http.requestTimeout below).
    requestTimeout: limits.requestMs,
    // Fastify's own two lines per request are replaced by request-log.ts's one line at debug.
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'request_id' }),
    bodyLimit: BODY_LIMIT,
    genReqId: newRequestId,
    requestIdHeader: false,
    return503OnClosing: true,
    exposeHeadRoutes: false,
    // Node would answer a request without Host itself, with an empty 400: we answer it (onRequest below).
    // Node's own timeouts, given to the server it creates; Node checks them every `connectionsCheckingInterval`
    // (30 s by default, which is why a slow body could seem to be held far beyond requestTimeout).
    // With TLS, the same options go to https.createServer (fastify reads `https` instead of `http` then).
    ...(options.tls ? { https: { ...serverOptions(limits), cert: options.tls.cert, key: options.tls.key, minVersion: 'TLSv1.2' as const } } : { http: serverOptions(limits) }),
    // What Node's parser refuses (bad framing, oversized or invalid headers) never reaches fastify.
    clientErrorHandler: (err, socket) => answerRawError(socket, err as NodeJS.ErrnoException, codes),
    // A path the router cannot even decode (bad %-escape, over-long parameter) answers like every other error.
    frameworkErrors: (err, req, reply) => {
      reply.header('X-Request-Id', req.id);
      return sendError(reply, new KmsError(codes.badUrl, err.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 'A path segment is too long.' : 'The path is not validly encoded.'));
    },
  });
  app.server.maxConnections = limits.maxConnections;
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
    if (req.headers.host === undefined && req.raw.httpVersionMajor === 1 && req.raw.httpVersionMinor >= 1) {
      throw new KmsError(codes.badRequest, 'An HTTP/1.1 request needs a Host header.');
    }
    // RFC 9112 §3.2: a request with more than one Host header is refused.
    if (req.raw.rawHeaders.filter((_v, i) => i % 2 === 0 && req.raw.rawHeaders[i]!.toLowerCase() === 'host').length > 1) {
      throw new KmsError(codes.badRequest, 'A request has one Host header.');
    }
    // No path or query value takes U+0000 (and PostgreSQL text cannot hold it): refused before it reaches a store.
    if (req.url.includes('%00')) throw new KmsError(codes.badUrl, 'The URL holds U+0000 (%00).');
    req.rawBody = Buffer.alloc(0);
    // Fastify does not read bodies of GET/HEAD, but the Node SDK sends (and signs) `{}` on some GETs.
    if ((req.method === 'GET' || req.method === 'HEAD') && (req.headers['content-length'] || req.headers['transfer-encoding'])) {
      req.rawBody = await readBody(req.raw, codes.tooLong);
    }
  });
  app.setValidatorCompiler(({ schema, httpPart }) => {
    const check = compileValidator(schema, httpPart ?? 'body', { missing: codes.missing, generic: codes.generic });
    return (data: unknown) => {
      const error = check(data);
      return error ? { error } : { value: data };
    };
  });
  app.addHook('preValidation', async (req) => {
    try {
      req.json = parseStrictJson(req.rawBody);
    } catch (err) {
      if (err instanceof MalformedBody) throw new KmsError(codes.malformed, err.message);
      throw err;
    }
    if (req.json !== undefined && (req.json === null || typeof req.json !== 'object' || Array.isArray(req.json))) {
      throw new KmsError(codes.malformed, 'The body must be a JSON object.');
    }
    // Huawei's SDKs leave unset fields out; a field sent as null counts as not sent.
    const fields = Object.entries((req.json ?? {}) as Record<string, unknown>).filter(([, v]) => v !== null);
    req.body = Object.fromEntries(fields);
  });
  // CONNECT is no method of these APIs; without this, Node would drop the connection without a word.
  app.server.on('connect', (_req, socket: Socket) => writeRawError(socket, 405, new KmsError('KMS.0215', 'CONNECT is not supported.')));
  // An `Expect` other than 100-continue: Node would answer 417 itself, without a body or a request id.
  app.server.on('checkExpectation', (_req, res) => {
    const err = new KmsError(codes.badRequest, 'Only "Expect: 100-continue" is supported.');
    res.writeHead(417, { 'Content-Type': 'application/json;charset=UTF-8', 'X-Request-Id': newRequestId() }).end(JSON.stringify(errorBody(err)));
  });

  app.setNotFoundHandler((req, reply) => {
    const path = req.url.split('?')[0]!;
    const known = patterns.filter((p) => p.re.test(path));
    if (known.length > 0 && !known.some((p) => p.method === req.method)) {
      return sendError(reply, new KmsError('KMS.0215', `Use ${[...new Set(known.map((p) => p.method))].join(' or ')}.`));
    }
    return sendError(reply, new KmsError('APIGW.0101', `${req.method} ${path} is not an API of this endpoint.`));
  });

  app.setErrorHandler((err: unknown, req, reply) => sendError(reply, toKmsError(err, req, codes)));
  if (options.logger !== false) requestLog(app);
  return app;
}

async function readBody(stream: NodeJS.ReadableStream, tooLong: ErrorCode): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    size += (chunk as Buffer).length;
    if (size > BODY_LIMIT) throw new KmsError(tooLong, `The body may have at most ${BODY_LIMIT} bytes.`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function toKmsError(err: unknown, req: FastifyRequest, codes: (typeof CODES)[keyof typeof CODES]): KmsError {
  if (err instanceof KmsError) return err;
  const e = err as { code?: string; statusCode?: number };
  if (e.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return new KmsError(codes.tooLong, `The body may have at most ${BODY_LIMIT} bytes.`);
  if (e.code === 'FST_ERR_CTP_INVALID_CONTENT_LENGTH' || e.code === 'FST_ERR_CTP_EMPTY_JSON_BODY') return new KmsError(codes.malformed);
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) return new KmsError(codes.generic, 'The request is malformed.');
  req.log.error({ err }, 'unexpected error');
  return new KmsError('KMS.0103');
}

export function sendError(reply: FastifyReply, err: KmsError): FastifyReply {
  if (reply.request.call) reply.request.call.errorCode = err.code;
  if (err instanceof ThrottledError) reply.header('Retry-After', String(err.retryAfterSeconds));
  return reply.code(err.status).header('Content-Type', 'application/json;charset=UTF-8').send(errorBody(err, String(reply.request.id)));
}

/**
 * A Huawei error answer written straight to a socket the HTTP parser gave up on; the connection then closes. An
 * answer to an earlier request of the same connection (pipelining) goes out first.
 */
function writeRawError(socket: Socket, status: number, err: KmsError): void {
  // The answer in progress on this connection: an earlier, complete request's (pipelined) goes out first; the
  // broken request's own (its body failed to parse) is replaced by this one, or the connection just closes.
  const pending = (socket as Socket & { _httpMessage?: ServerResponse })._httpMessage;
  if (pending && !pending.writableFinished) {
    if (pending.req?.complete) {
      pending.once('finish', () => writeRawError(socket, status, err));
      return;
    }
    if (pending.headersSent) {
      socket.destroy();
      return;
    }
  }
  if (!socket.writable || socket.destroyed) {
    socket.destroy();
    return;
  }
  const body = JSON.stringify(errorBody(err));
  socket.end(
    `HTTP/1.1 ${status} ${status === 431 ? 'Request Header Fields Too Large' : status === 405 ? 'Method Not Allowed' : status === 408 ? 'Request Timeout' : 'Bad Request'}\r\n` +
      `Content-Type: application/json;charset=UTF-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
      `X-Request-Id: ${newRequestId()}\r\nConnection: close\r\n\r\n${body}`,
  );
}

function answerRawError(socket: Socket, err: NodeJS.ErrnoException, codes: (typeof CODES)[keyof typeof CODES]): void {
  if (err.code === 'ECONNRESET' || err.code === 'EPIPE') {
    socket.destroy();
    return;
  }
  if (err.code === 'HPE_HEADER_OVERFLOW') return writeRawError(socket, 431, new KmsError(codes.tooLong, 'The request headers are too large.'));
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') return writeRawError(socket, 408, new KmsError(codes.badRequest, 'The request was not received in time.'));
  return writeRawError(socket, 400, new KmsError(codes.badRequest, 'The HTTP request is malformed.'));
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
