/**
 * What Node's HTTP parser (and the router) refuse before any operation runs, sent over raw TCP sockets to a region
 * and to IAM (src/api/http.ts): bad framing, oversized headers, NUL and other forbidden bytes in headers, HTTP/1.1
 * without Host (or with two), CONNECT, invalid or conflicting Content-Length / Transfer-Encoding, bodies over the
 * limit, truncated requests, paths that are not validly %-encoded, an unknown Expect.
 *
 * Every one is answered with Huawei's error body `{"error":{"error_code":…,"error_msg":…}}` (never fastify's
 * `{"error":"Bad Request",…}`, never an empty answer), a status and an `X-Request-Id` of 32 lowercase hex
 * characters: KMS codes on a region, IAM codes on IAM. The one case that cannot be answered (the client resets the
 * connection) is a clean close, after which the server still serves. Test names say whether the connection is
 * closed after the answer.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { BODY_LIMIT } from '../src/api/http.js';
import { startTestDeployment, type TestDeployment } from './helpers/deployment.js';

const R = 'cn-north-4';
const REQUEST_ID = /^[0-9a-f]{32}$/;

let d: TestDeployment;
before(async () => (d = await startTestDeployment({ regions: [R] })));
after(() => d?.stop());

// ---------------------------------------------------------------------------------------------------------------
// A minimal HTTP/1.1 client over node:net: the bytes go out exactly as written.

interface RawResponse {
  status: number;
  /** Lower-case names; every value of a repeated header. */
  headers: Map<string, string[]>;
  body: Buffer;
}

interface Exchange {
  responses: RawResponse[];
  /** Everything the server sent. */
  raw: Buffer;
  /** Resolves true when the server closes the connection within `ms`. */
  closedWithin(ms: number): Promise<boolean>;
}

/** Complete responses at the start of `buf` (1xx interim answers skipped); `closed` lets a body run to the end. */
function parseResponses(buf: Buffer, closed: boolean): RawResponse[] {
  const out: RawResponse[] = [];
  let pos = 0;
  for (;;) {
    const end = buf.indexOf('\r\n\r\n', pos, 'latin1');
    if (end < 0) return out;
    const lines = buf.subarray(pos, end).toString('latin1').split('\r\n');
    const m = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0]!);
    if (!m) throw new Error(`not an HTTP response: ${JSON.stringify(lines[0])}`);
    const status = Number(m[1]);
    const headers = new Map<string, string[]>();
    for (const line of lines.slice(1)) {
      const i = line.indexOf(':');
      const name = line.slice(0, i).trim().toLowerCase();
      headers.set(name, [...(headers.get(name) ?? []), line.slice(i + 1).trim()]);
    }
    let at = end + 4;
    let body: Buffer;
    const length = headers.get('content-length')?.[0];
    if (status < 200 || status === 204 || status === 304) {
      body = Buffer.alloc(0);
    } else if (length !== undefined) {
      if (buf.length < at + Number(length)) return out;
      body = buf.subarray(at, at + Number(length));
      at += Number(length);
    } else if (headers.get('transfer-encoding')?.[0]?.toLowerCase() === 'chunked') {
      const chunks: Buffer[] = [];
      for (;;) {
        const lineEnd = buf.indexOf('\r\n', at, 'latin1');
        if (lineEnd < 0) return out;
        const size = parseInt(buf.subarray(at, lineEnd).toString('latin1'), 16);
        if (buf.length < lineEnd + 2 + size + 2) return out;
        chunks.push(buf.subarray(lineEnd + 2, lineEnd + 2 + size));
        at = lineEnd + 2 + size + 2;
        if (size === 0) break;
      }
      body = Buffer.concat(chunks);
    } else {
      if (!closed) return out;
      body = buf.subarray(at);
      at = buf.length;
    }
    pos = at;
    if (status >= 200) out.push({ status, headers, body });
  }
}

/**
 * Writes `data` to a fresh connection (then half-closes it when asked) and waits for `count` complete responses,
 * the server's close, or 5 seconds, whichever comes first.
 */
function exchange(base: string, data: Buffer | string, o: { count?: number; halfClose?: boolean } = {}): Promise<Exchange> {
  const url = new URL(base);
  const count = o.count ?? 1;
  return new Promise((resolve) => {
    const socket = connect(Number(url.port), url.hostname);
    const chunks: Buffer[] = [];
    let closed = false;
    let done = false;
    const closeWaiters: (() => void)[] = [];
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      const raw = Buffer.concat(chunks);
      resolve({
        responses: parseResponses(raw, closed),
        raw,
        closedWithin: (ms) =>
          new Promise<boolean>((res) => {
            if (closed) return res(true);
            const t = setTimeout(() => {
              socket.destroy();
              res(false);
            }, ms);
            closeWaiters.push(() => {
              clearTimeout(t);
              res(true);
            });
          }),
      });
    };
    const timer = setTimeout(finish, 5000);
    socket.on('data', (c: Buffer) => {
      chunks.push(c);
      if (parseResponses(Buffer.concat(chunks), false).length >= count) finish();
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      closed = true;
      finish();
      for (const w of closeWaiters) w();
    });
    socket.write(typeof data === 'string' ? Buffer.from(data, 'latin1') : data);
    if (o.halfClose) socket.end();
  });
}

/** One Huawei error answer: status, `{"error":{"error_code","error_msg"}}` and nothing else, JSON content type, request id. */
function expectHuawei(x: Exchange, status: number, code: string, index = 0): RawResponse {
  const r = x.responses[index];
  assert.ok(r, `no (complete) answer; the server sent ${JSON.stringify(x.raw.toString('latin1').slice(0, 300))}`);
  const text = r.body.toString('utf8');
  assert.equal(r.status, status, `status: ${r.status} ${text}`);
  assert.match(r.headers.get('content-type')?.[0] ?? '', /^application\/json/i, `content type of ${text}`);
  const ids = r.headers.get('x-request-id') ?? [];
  assert.equal(ids.length, 1, 'exactly one X-Request-Id');
  assert.match(ids[0]!, REQUEST_ID);
  let body: any;
  assert.doesNotThrow(() => (body = JSON.parse(text)), `the body is JSON: ${JSON.stringify(text)}`);
  if (code.startsWith('APIGW.')) {
    // The API gateway's errors are flat, with the request id (docs/reference/observed-huawei-answers.md).
    assert.deepEqual(Object.keys(body).sort(), ['error_code', 'error_msg', 'request_id'], `the gateway's shape: ${text}`);
    assert.equal(body.error_code, code, text);
    assert.equal(body.request_id, ids[0]);
    return r;
  }
  assert.deepEqual(Object.keys(body), ['error'], `Huawei's shape, not fastify's: ${text}`);
  assert.equal(typeof body.error, 'object', `Huawei's shape, not fastify's: ${text}`);
  assert.deepEqual(Object.keys(body.error).sort(), ['error_code', 'error_msg']);
  assert.equal(body.error.error_code, code, text);
  assert.ok(typeof body.error.error_msg === 'string' && body.error.error_msg.length > 0);
  return r;
}

// ---------------------------------------------------------------------------------------------------------------

interface Target {
  name: string;
  base(): string;
  /** A POST operation, and a GET operation. */
  post(): string;
  get(): string;
  codes: { bad: string; tooLong: string; method: string; url: string };
}

const TARGETS: Target[] = [
  {
    name: 'region',
    base: () => d.endpoint(R),
    post: () => `/v1.0/${d.projectId(R)}/kms/list-keys`,
    get: () => `/v2/${d.projectId(R)}/kms/regions`,
    codes: { bad: 'KMS.0214', tooLong: 'KMS.0203', method: 'KMS.0215', url: 'KMS.0201' },
  },
  {
    name: 'IAM',
    base: () => d.iamUrl,
    post: () => '/v3/groups',
    get: () => '/v3/auth/projects',
    // 405 is KMS.0215 on both endpoints (the code of a wrong method on a known path, too).
    codes: { bad: 'IAM.0001', tooLong: 'IAM.0001', method: 'KMS.0215', url: 'IAM.0001' },
  },
];

const jsonOf = (n: number) => `{"a":"${'a'.repeat(n - 8)}"}`;

for (const t of TARGETS) {
  describe(`${t.name}: HTTP-level errors`, () => {
    const closes = async (x: Exchange) => assert.equal(await x.closedWithin(2000), true, 'the connection is closed after the answer');

    test(`bad framing "GARBAGE\\r\\n\\r\\n": 400 ${t.codes.bad} (answered, then closed)`, async () => {
      const x = await exchange(t.base(), 'GARBAGE\r\n\r\n');
      expectHuawei(x, 400, t.codes.bad);
      await closes(x);
    });

    test(`a request line in lower case, bare LF line ends, an unknown HTTP version, the HTTP/2 preface: 400 ${t.codes.bad} (answered, then closed)`, async () => {
      for (const req of ['get / HTTP/1.1\r\nHost: x\r\n\r\n', 'GET / HTTP/1.1\nHost: x\n\n', 'GET / HTTP/9.9\r\nHost: x\r\n\r\n', 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n']) {
        const x = await exchange(t.base(), req);
        expectHuawei(x, 400, t.codes.bad);
        await closes(x);
      }
    });

    test(`a header over the size limit: 431 ${t.codes.tooLong} (answered, then closed)`, async () => {
      const x = await exchange(t.base(), `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
      expectHuawei(x, 431, t.codes.tooLong);
      await closes(x);
    });

    test(`a request line (URL) over the header size limit: 431 ${t.codes.tooLong} (answered, then closed)`, async () => {
      const x = await exchange(t.base(), `GET /${'a'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`);
      expectHuawei(x, 431, t.codes.tooLong);
      await closes(x);
    });

    test(`a header well under the limit (8 KB) is no error (control)`, async () => {
      const x = await exchange(t.base(), `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(8_000)}\r\n\r\n`);
      assert.equal(x.responses[0]?.status, 200);
      assert.match(x.responses[0]!.headers.get('x-request-id')?.[0] ?? '', REQUEST_ID);
    });

    test(`a NUL byte in a header value: 400 ${t.codes.bad} (answered, then closed)`, async () => {
      const x = await exchange(t.base(), 'GET / HTTP/1.1\r\nHost: x\r\nX-Note: a\0b\r\n\r\n');
      expectHuawei(x, 400, t.codes.bad);
      await closes(x);
    });

    test(`a NUL byte in the path, a space before a header colon, an obsolete folded header: 400 ${t.codes.bad} (answered, then closed)`, async () => {
      for (const req of ['GET /\0 HTTP/1.1\r\nHost: x\r\n\r\n', 'GET / HTTP/1.1\r\nHost: x\r\nX-Note : b\r\n\r\n', 'GET / HTTP/1.1\r\nHost: x\r\nX-Note: b\r\n folded\r\n\r\n']) {
        const x = await exchange(t.base(), req);
        expectHuawei(x, 400, t.codes.bad);
        await closes(x);
      }
    });

    test(`an HTTP/1.1 request without Host: 400 ${t.codes.bad} (answered)`, async () => {
      expectHuawei(await exchange(t.base(), 'GET / HTTP/1.1\r\n\r\n'), 400, t.codes.bad);
      expectHuawei(await exchange(t.base(), `POST ${t.post()} HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}`), 400, t.codes.bad);
    });

    test('an HTTP/1.0 request without Host is served (control: Host is required of HTTP/1.1 only)', async () => {
      const x = await exchange(t.base(), 'GET / HTTP/1.0\r\n\r\n');
      assert.equal(x.responses[0]?.status, 200);
      assert.match(x.responses[0]!.headers.get('x-request-id')?.[0] ?? '', REQUEST_ID);
    });

    test(`an HTTP/1.1 request with two Host headers: 400 ${t.codes.bad} (RFC 9112 §3.2) (answered)`, async () => {
      expectHuawei(await exchange(t.base(), 'GET / HTTP/1.1\r\nHost: a.example\r\nHost: b.example\r\n\r\n'), 400, t.codes.bad);
    });

    test(`CONNECT host:443: 405 ${t.codes.method} (answered, then closed)`, async () => {
      const x = await exchange(t.base(), 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n');
      expectHuawei(x, 405, t.codes.method);
      await closes(x);
    });

    test(`an invalid Content-Length ("abc", "-1", "1 2"): 400 ${t.codes.bad} (answered, then closed)`, async () => {
      for (const cl of ['abc', '-1', '1 2', '0x10']) {
        const x = await exchange(t.base(), `POST ${t.post()} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${cl}\r\n\r\n{}`);
        expectHuawei(x, 400, t.codes.bad);
        await closes(x);
      }
    });

    test(`two different Content-Lengths, or Content-Length with Transfer-Encoding (request smuggling): 400 ${t.codes.bad} (answered, then closed)`, async () => {
      const heads = ['Content-Length: 2\r\nContent-Length: 3', 'Content-Length: 2\r\nTransfer-Encoding: chunked', 'Transfer-Encoding: gzip'];
      for (const h of heads) {
        const x = await exchange(t.base(), `POST ${t.post()} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n${h}\r\n\r\n0\r\n\r\n`);
        expectHuawei(x, 400, t.codes.bad);
        await closes(x);
      }
    });

    test(`an invalid chunk size: 400 ${t.codes.bad} (answered, then closed)`, async () => {
      const x = await exchange(t.base(), `POST ${t.post()} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nZZZ\r\n{}\r\n0\r\n\r\n`);
      expectHuawei(x, 400, t.codes.bad);
      await closes(x);
    });

    test(`a body longer than the limit (Content-Length ${BODY_LIMIT + 1}): 400 ${t.codes.tooLong} (answered, then closed)`, async () => {
      const x = await exchange(t.base(), `POST ${t.post()} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${BODY_LIMIT + 1}\r\n\r\n${jsonOf(BODY_LIMIT + 1)}`);
      expectHuawei(x, 400, t.codes.tooLong);
      await closes(x);
    });

    test(`a chunked body longer than the limit: 400 ${t.codes.tooLong} (answered, then closed)`, async () => {
      const body = jsonOf(BODY_LIMIT + 100);
      const x = await exchange(t.base(), `POST ${t.post()} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`);
      expectHuawei(x, 400, t.codes.tooLong);
      await closes(x);
    });

    test(`a body of exactly ${BODY_LIMIT} bytes is not too long (control: it reaches authentication, 401)`, async () => {
      const x = await exchange(t.base(), `POST ${t.post()} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${BODY_LIMIT}\r\n\r\n${jsonOf(BODY_LIMIT)}`);
      expectHuawei(x, 401, 'APIGW.0301');
    });

    test(`a GET with a body longer than the limit: 400 ${t.codes.tooLong} (answered)`, async () => {
      const x = await exchange(t.base(), `GET ${t.get()} HTTP/1.1\r\nHost: x\r\nContent-Length: ${BODY_LIMIT + 1}\r\n\r\n${'a'.repeat(BODY_LIMIT + 1)}`);
      expectHuawei(x, 400, t.codes.tooLong);
    });

    test(`a body shorter than its Content-Length, then the client half-closes: 400 ${t.codes.bad} (answered, then closed)`, async () => {
      const x = await exchange(t.base(), `POST ${t.post()} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 10\r\n\r\n{}`, { halfClose: true });
      expectHuawei(x, 400, t.codes.bad);
      await closes(x);
    });

    test(`headers cut off, then the client half-closes: 400 ${t.codes.bad} (answered, then closed)`, async () => {
      const x = await exchange(t.base(), `POST ${t.post()} HTTP/1.1\r\nHost: x\r\nContent-Ty`, { halfClose: true });
      expectHuawei(x, 400, t.codes.bad);
      await closes(x);
    });

    test(`a path that is not validly %-encoded: 400 ${t.codes.url} (answered)`, async () => {
      expectHuawei(await exchange(t.base(), 'GET /v3/%E0%A4%A HTTP/1.1\r\nHost: x\r\n\r\n'), 400, t.codes.url);
      expectHuawei(await exchange(t.base(), `POST /v1.0/%ZZ/kms/list-keys HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}`), 400, t.codes.url);
    });

    test(`a path parameter longer than the router allows: 400 ${t.codes.url} (answered)`, async () => {
      const request = t.name === 'IAM'
        ? `GET /v3/users/${'a'.repeat(200)} HTTP/1.1\r\nHost: x\r\n\r\n`
        : `POST /v2/${d.projectId(R)}/kms/keys/${'a'.repeat(200)}/replicate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}`;
      expectHuawei(await exchange(t.base(), request), 400, t.codes.url);
    });

    test(`an Expect other than 100-continue: 417 with ${t.codes.bad}, or the request served (answered)`, async () => {
      const x = await exchange(t.base(), 'GET / HTTP/1.1\r\nHost: x\r\nExpect: something-else\r\n\r\n');
      // RFC 9110 §10.1.1 lets a server refuse (417) or ignore the expectation; either way the answer is Huawei's.
      if (x.responses[0]?.status === 200) assert.match(x.responses[0].headers.get('x-request-id')?.[0] ?? '', REQUEST_ID);
      else expectHuawei(x, 417, t.codes.bad);
    });

    test('Expect: 100-continue is honoured (control: 100, then the operation\'s own answer)', async () => {
      const x = await exchange(t.base(), `POST ${t.post()} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n{}`);
      assert.match(x.raw.toString('latin1'), /^HTTP\/1\.1 100 Continue\r\n/);
      expectHuawei(x, 401, 'APIGW.0301');
    });

    test(`a served request, then garbage on the same connection: 200, then 400 ${t.codes.bad} (answered, then closed)`, async () => {
      const x = await exchange(t.base(), 'GET / HTTP/1.1\r\nHost: x\r\n\r\nGARBAGE\r\n\r\n', { count: 2 });
      assert.equal(x.responses[0]?.status, 200);
      expectHuawei(x, 400, t.codes.bad, 1);
      assert.notEqual(x.responses[0]!.headers.get('x-request-id')?.[0], x.responses[1]!.headers.get('x-request-id')?.[0], 'each answer has its own request id');
      await closes(x);
    });

    test('the client resets the connection mid-headers (cannot be answered: clean close), and the server still serves', async () => {
      const url = new URL(t.base());
      await new Promise<void>((resolve) => {
        const s = connect(Number(url.port), url.hostname, () => {
          s.write(`POST ${t.post()} HTTP/1.1\r\nHost: x\r\nContent-Le`);
          setTimeout(() => {
            s.resetAndDestroy();
            resolve();
          }, 50);
        });
        s.on('error', () => {});
      });
      const x = await exchange(t.base(), 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
      assert.equal(x.responses[0]?.status, 200);
    });
  });
}
