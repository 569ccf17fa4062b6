/**
 * A minimal HTTP(S) client for Strongroom's own tools (the launcher's health checks, seed and export): one request,
 * the whole answer as bytes. Unlike `fetch`, it can trust a deployment's own certificate (`ca`, PEM, added to the
 * system's CAs), which a tool started without NODE_EXTRA_CA_CERTS needs for a `start --tls` deployment.
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { rootCertificates } from 'node:tls';

export interface ClientRequest {
  method?: string;
  headers?: Record<string, string>;
  body?: Buffer | string;
  /** A PEM certificate (or CA) to trust besides the system's, for https URLs. */
  ca?: Buffer;
  /** Milliseconds before the request is abandoned (default 10,000). */
  timeoutMs?: number;
}

export interface ClientAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** Sends one request; rejects with an Error carrying `code` (ECONNREFUSED, ETIMEDOUT …) when there is no answer. */
export function httpCall(url: string, r: ClientRequest = {}): Promise<ClientAnswer> {
  return new Promise((resolve, reject) => {
    const https = url.startsWith('https:');
    const send = https ? httpsRequest : httpRequest;
    const req = send(url, {
      method: r.method ?? 'GET', headers: r.headers, agent: false, timeout: r.timeoutMs ?? 10_000,
      ...(https && r.ca ? { ca: [...rootCertificates, r.ca.toString()] } : {}),
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error(`no answer within ${r.timeoutMs ?? 10_000} ms`), { code: 'ETIMEDOUT' })));
    req.on('error', reject);
    req.end(r.body);
  });
}

/** The certificate a deployment file names (`tls.cert`), read, or undefined without TLS or when unreadable. */
export function deploymentCa(tls: { cert: string } | undefined, read: (path: string) => Buffer): Buffer | undefined {
  if (!tls) return undefined;
  try {
    return read(tls.cert);
  } catch {
    return undefined;
  }
}
