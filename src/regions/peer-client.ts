/**
 * Calls to other regions over HTTP, as any client would make them: each request signed with the deployment
 * secret (internal-auth.ts) and each answer checked the same way, every call bounded by a timeout. Failures are
 * classified for the caller: unreachable (502), timeout (504), or refused with the peer's own KMS error.
 */
import { internalAuthorization, responseVerifies } from '../internal-auth.js';
import { ERRORS, KmsError, type ErrorCode } from '../errors.js';
import { PeerError, type KeySnapshot, type PeerRegions, type PrepareReplica, type PromoteReplica } from '../core/replication.js';
import type { Topology } from './topology.js';

export interface PeerClientOptions {
  self: string;
  topology: Topology;
  secret: Buffer;
  timeoutMs: number;
}

export class PeerClient implements PeerRegions {
  constructor(private readonly o: PeerClientOptions) {}

  async transportKey(region: string): Promise<Buffer> {
    const { public_key } = (await this.#call(region, 'GET', '/internal/v1/transport-key')) as { public_key: string };
    return Buffer.from(public_key, 'base64');
  }
  async prepare(region: string, body: PrepareReplica): Promise<void> {
    await this.#call(region, 'POST', '/internal/v1/replicas/prepare', body);
  }
  async commit(region: string, keyId: string, attempt: string): Promise<void> {
    await this.#call(region, 'POST', '/internal/v1/replicas/commit', { key_id: keyId, attempt });
  }
  async abort(region: string, keyId: string, attempt: string): Promise<void> {
    await this.#call(region, 'POST', '/internal/v1/replicas/abort', { key_id: keyId, attempt });
  }
  async sync(region: string, snapshot: KeySnapshot): Promise<void> {
    await this.#call(region, 'POST', '/internal/v1/keys/sync', snapshot);
  }
  async promote(region: string, body: PromoteReplica): Promise<void> {
    await this.#call(region, 'POST', '/internal/v1/keys/promote', body);
  }
  async detach(region: string, keyId: string): Promise<void> {
    await this.#call(region, 'POST', '/internal/v1/keys/detach', { key_id: keyId });
  }
  async export(region: string, keyId: string, transportKey: Buffer): Promise<KeySnapshot> {
    return (await this.#call(region, 'POST', '/internal/v1/keys/export', { key_id: keyId, transport_key: transportKey.toString('base64') })) as KeySnapshot;
  }

  /**
   * Calls the region's nodes in order until one takes the connection: a node that refuses it (down) has certainly
   * not received the request, so the next node may; any other failure is final (the request may have been acted on).
   */
  async #call(region: string, method: string, url: string, payload?: unknown): Promise<unknown> {
    const endpoints = this.o.topology.endpointsOf(region);
    if (endpoints.length === 0) throw new PeerError('refused', `${region} is not a region of this deployment`, new KmsError('KMS.0308', `Unknown region ${region}.`));
    const body = payload === undefined ? Buffer.alloc(0) : Buffer.from(JSON.stringify(payload));
    for (let i = 0; ; i++) {
      try {
        return await this.#attempt(endpoints[i]!, region, method, url, payload, body);
      } catch (err) {
        if (!(err instanceof NotConnected) || i === endpoints.length - 1) throw err instanceof NotConnected ? err.error : err;
      }
    }
  }

  async #attempt(endpoint: string, region: string, method: string, url: string, payload: unknown, body: Buffer): Promise<unknown> {
    let res: Response;
    let text: Buffer;
    try {
      res = await fetch(endpoint + url, {
        method,
        headers: {
          authorization: internalAuthorization(this.o.secret, this.o.self, method, url, body),
          ...(payload === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: payload === undefined ? undefined : body,
        signal: AbortSignal.timeout(this.o.timeoutMs),
      });
      text = Buffer.from(await res.arrayBuffer());
    } catch (err) {
      const name = (err as Error).name;
      if (name === 'TimeoutError' || name === 'AbortError') throw new PeerError('timeout', `no answer within ${this.o.timeoutMs} ms`);
      const cause = (err as Error).cause as (Error & { code?: string }) | undefined;
      // Only a connection that never opened proves the request was not received; anything else (a reset after
      // the request was sent) may have been acted on, and callers treat it like a timeout.
      if (cause?.code && ['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN'].includes(cause.code)) {
        throw new NotConnected(new PeerError('unreachable', `cannot be reached (${cause.message})`));
      }
      throw new PeerError('timeout', `the connection failed before an answer (${cause?.message ?? (err as Error).message})`);
    }
    if (!responseVerifies(this.o.secret, region, text, res.headers.get('x-strongroom-signature'))) {
      throw new PeerError('unreachable', `answered ${res.status} without a valid deployment signature`);
    }
    const data = text.length ? (JSON.parse(text.toString('utf8')) as Record<string, unknown>) : {};
    if (res.ok) return data;
    const error = (data.error ?? (typeof data.error_code === 'string' ? data : undefined)) as { error_code?: string; error_msg?: string } | undefined;
    const code = error?.error_code;
    if (res.status < 500 && code && Object.hasOwn(ERRORS, code)) {
      const refusal = new KmsError(code as ErrorCode);
      refusal.message = error?.error_msg ?? refusal.message;
      throw new PeerError('refused', refusal.message, refusal);
    }
    throw new PeerError('unreachable', `answered ${res.status}: ${error?.error_msg ?? 'no detail'}`);
  }
}

/** A node that never took the connection: the request was not received, another node of the region may take it. */
class NotConnected extends Error {
  constructor(readonly error: PeerError) {
    super(error.message);
  }
}
