/**
 * The HTTP baselines, run as their own process (`node --import tsx bench/bare-server.ts`) by bench/baselines.ts:
 * - bare encrypt: node:http only; reads the JSON body, decodes `plain_text` as UTF-8, seals it with AES-256-GCM
 *   (node:crypto) under a fresh random 32-byte key and 12-byte IV, answers `{"cipher_text": <Base64>}`.
 *   No authentication, no key lookup, no validation, no audit: what encrypt-data costs without the KMS.
 * - hello world: answers `{"hello":"world"}` to any request (the body, if any, is read and dropped).
 * Both listen on 127.0.0.1 on ports the system picks, printed as one JSON line `{"encrypt": port, "hello": port}`.
 * Headers (tokens, signatures) are ignored. SIGTERM stops it.
 */
import { createCipheriv, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

function answer(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function readBody(req: IncomingMessage, then: (body: Buffer) => void): void {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => then(Buffer.concat(chunks)));
}

const encrypt = createServer((req, res) =>
  readBody(req, (raw) => {
    let plain: unknown;
    try {
      plain = (JSON.parse(raw.toString('utf8')) as { plain_text?: unknown }).plain_text;
    } catch {
      return answer(res, 400, '{"error":"body is not JSON"}');
    }
    if (typeof plain !== 'string') return answer(res, 400, '{"error":"plain_text missing"}');
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', randomBytes(32), iv);
    const sealed = Buffer.concat([iv, cipher.update(Buffer.from(plain, 'utf8')), cipher.final(), cipher.getAuthTag()]);
    answer(res, 200, JSON.stringify({ cipher_text: sealed.toString('base64') }));
  }),
);

const HELLO = JSON.stringify({ hello: 'world' });
const hello = createServer((req, res) => readBody(req, () => answer(res, 200, HELLO)));

const listen = (server: Server) => new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
const ports = { encrypt: await listen(encrypt), hello: await listen(hello) };
process.stdout.write(JSON.stringify(ports) + '\n');
process.once('SIGTERM', () => {
  encrypt.close();
  hello.close();
  encrypt.closeAllConnections();
  hello.closeAllConnections();
  process.exit(0);
});
