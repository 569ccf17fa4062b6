/**
 * The web console, served by IAM for every region (README "The web console"): the static files built by
 * `npm run build:console` (console/build.mjs → dist/console/) under `/console/`, and a same-origin proxy so the
 * browser talks to IAM's origin only (no CORS):
 *
 *   /console/api/regions/<region-id>/<v1.0|v2>/…  →  that region's endpoint (deployment topology), same method,
 *                                                   query, JSON body and the caller's X-Auth-Token
 *
 * IAM's own API is reached on its own paths (`/v3/…`), which are same-origin already. The proxy adds no credentials
 * of its own: the user's token authorizes every call, so the console can do nothing its user could not. It forwards
 * only to regions of the topology and only Huawei API paths (`/v1.0/`, `/v2/`): anything else is `404 APIGW.0101`.
 * Status and body pass through; an answer larger than PROXY_ANSWER_LIMIT bytes, or a region that does not answer,
 * is `502` with `KMS.0103`. Tokens never appear in URLs or logs (IAM's logger redacts X-Auth-Token).
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { errorBody, KmsError } from '../errors.js';
import { header, sendError } from '../api/http.js';
import type { Topology } from '../regions/topology.js';

/** Where the build writes the console (relative to the repository root). */
export const CONSOLE_DIST = fileURLToPath(new URL('../../dist/console/', import.meta.url));

/** The largest region answer the proxy passes on, in bytes (a page of 2,000 keys is about 1.3 MB). */
export const PROXY_ANSWER_LIMIT = 4 * 1024 * 1024;

/** How long the proxy waits for a region, in milliseconds. */
const PROXY_TIMEOUT_MS = 30_000;

/**
 * Headers of every console page and file: scripts and styles from this origin only (no inline script), no framing,
 * no referrer (nothing of the page leaks in a Referer), not cached (a new build is served at once).
 */
export const CONSOLE_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy': "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
  'X-Frame-Options': 'DENY',
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-store',
};

/** The files of a build: name under /console/ → file in dist/console and its type. */
const FILES: Readonly<Record<string, { file: string; type: string }>> = {
  '': { file: 'index.html', type: 'text/html; charset=utf-8' },
  'app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  'app.css': { file: 'app.css', type: 'text/css; charset=utf-8' },
};

/** Only Huawei API paths go through: `v1.0/…` or `v2/…`, no dot segments, no encoded slash or dot. */
const API_PATH = /^v(?:1\.0|2)\/(?:[A-Za-z0-9_\-:@!$&'()*+,;=~]|%[0-9A-Fa-f]{2})+(?:\/(?:[A-Za-z0-9_\-:@!$&'()*+,;=~.]|%[0-9A-Fa-f]{2})*)*$/;

/** Request headers the proxy passes on (the token, the body's type, the project, and nothing else). */
const FORWARDED = ['x-auth-token', 'content-type', 'x-project-id', 'accept'];

export interface ConsoleOptions {
  topology: Topology;
  /** Folder of the built files (default CONSOLE_DIST). */
  distDir?: string;
}

/** Mounts the console's pages and its proxy on IAM's fastify app. */
export function mountConsole(app: FastifyInstance, o: ConsoleOptions): void {
  const dist = o.distDir ?? CONSOLE_DIST;
  app.get('/console', (_req, reply) => reply.headers(CONSOLE_HEADERS).redirect('/console/', 302));
  app.get('/console/:file', async (req: FastifyRequest<{ Params: { file: string } }>, reply) => serveFile(reply, dist, req.params.file));
  app.get('/console/', async (_req, reply) => serveFile(reply, dist, ''));
  app.route({
    method: ['GET', 'POST', 'PUT', 'DELETE', 'PATCH'],
    url: '/console/api/regions/:region/*',
    handler: async (req: FastifyRequest<{ Params: { region: string; '*': string } }>, reply) => proxy(req, reply, o.topology),
  });
}

async function serveFile(reply: FastifyReply, dist: string, name: string): Promise<FastifyReply> {
  const entry = Object.hasOwn(FILES, name) ? FILES[name] : undefined;
  if (!entry) return sendError(reply.headers(CONSOLE_HEADERS), new KmsError('APIGW.0101', 'No such file of the console.'));
  let content: Buffer;
  try {
    content = await readFile(dist + entry.file);
  } catch {
    return sendError(reply.headers(CONSOLE_HEADERS), new KmsError('KMS.0103', 'The console is not built: run `npm run build:console`.'));
  }
  return reply.headers(CONSOLE_HEADERS).header('Content-Type', entry.type).send(content);
}

async function proxy(req: FastifyRequest<{ Params: { region: string; '*': string } }>, reply: FastifyReply, topology: Topology): Promise<FastifyReply> {
  const endpoint = topology.endpointOf(req.params.region);
  if (endpoint === undefined) return sendError(reply, new KmsError('APIGW.0101', `No region ${req.params.region} in this deployment.`));
  // The raw path as sent (fastify has decoded '*'): everything after the region id, query apart.
  const raw = req.url.split('?')[0]!;
  const rest = raw.slice(raw.indexOf('/', `/console/api/regions/`.length) + 1);
  const query = req.url.includes('?') ? req.url.slice(req.url.indexOf('?')) : '';
  // Dot segments, also encoded (a URL parser would resolve `%2e%2e`), and encoded slashes never leave.
  if (!API_PATH.test(rest) || /%2e|%2f|%5c/i.test(rest) || rest.split('/').some((s) => s === '.' || s === '..')) {
    return sendError(reply, new KmsError('APIGW.0101', 'The console proxy forwards only KMS API paths (/v1.0/…, /v2/…).'));
  }
  const headers: Record<string, string> = {};
  for (const name of FORWARDED) {
    const v = header(req, name);
    if (v !== undefined) headers[name] = v;
  }
  const hasBody = req.method !== 'GET' && req.rawBody.length > 0;
  let answer: Response;
  let body: Buffer;
  try {
    answer = await fetch(`${endpoint}/${rest}${query}`, {
      method: req.method, headers, body: hasBody ? req.rawBody : undefined, redirect: 'manual', signal: AbortSignal.timeout(PROXY_TIMEOUT_MS),
    });
    body = await readCapped(answer);
  } catch (err) {
    return badGateway(reply, err instanceof KmsError ? err.message : `Region ${req.params.region} did not answer.`);
  }
  // The region's type, request id (the one its audit trail records) and throttling advice go back with its answer.
  for (const name of ['content-type', 'x-request-id', 'retry-after']) {
    const v = answer.headers.get(name);
    if (v) reply.header(name, v);
  }
  return reply.code(answer.status).send(body);
}

/** `502` with Huawei's error body (KMS.0103): the region did not answer, or answered too much. */
function badGateway(reply: FastifyReply, message: string): FastifyReply {
  return reply.code(502).header('Content-Type', 'application/json;charset=UTF-8').send(errorBody(new KmsError('KMS.0103', message), String(reply.request.id)));
}

/** The whole answer body, refused (KmsError) beyond PROXY_ANSWER_LIMIT bytes. */
async function readCapped(answer: Response): Promise<Buffer> {
  const declared = Number(answer.headers.get('content-length') ?? '0');
  const tooLarge = () => new KmsError('KMS.0103', `The region's answer is larger than ${PROXY_ANSWER_LIMIT} bytes.`);
  if (declared > PROXY_ANSWER_LIMIT) {
    await answer.body?.cancel();
    throw tooLarge();
  }
  const chunks: Buffer[] = [];
  let size = 0;
  if (answer.body) {
    for await (const chunk of answer.body) {
      size += chunk.length;
      if (size > PROXY_ANSWER_LIMIT) throw tooLarge();
      chunks.push(Buffer.from(chunk));
    }
  }
  return Buffer.concat(chunks);
}
