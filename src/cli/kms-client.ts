/**
 * The client CLI's connection to a region: where to send a KMS call and as whom (flags, then the environment
 * variables of Huawei's SDKs, then the deployment's `bootstrap.json`), and one call of a catalogue operation signed
 * with SDK-HMAC-SHA256 (iam/aksk-signer.ts) over http or https (`--ca FILE` / `STRONGROOM_CA` for a private CA).
 */
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { rootCertificates } from 'node:tls';
import type { Operation } from '../api/operation.js';
import { encodeRfc3986 } from '../iam/aksk.js';
import { signedHeaders } from '../iam/aksk-signer.js';
import { deploymentPath } from '../deployment.js';
import { bootstrapPath, type BootstrapFile } from './bootstrap.js';

/** A mistake in how the command was called (exit code 2). */
export class UsageError extends Error {}

/** The connection options of `strongroom kms` (flags; each undefined when not given). */
export interface ConnectionOptions {
  ak?: string;
  sk?: string;
  securityToken?: string;
  projectId?: string;
  endpoint?: string;
  region?: string;
  /** Where `bootstrap.json` is (default ./data). */
  dataDir: string;
  /** A PEM file of certificate authorities to trust for https endpoints. */
  ca?: string;
  /** How long a call may take, milliseconds (default 60,000). */
  timeoutMs?: number;
}

/** Where a call goes and its credentials, resolved. */
export interface Target {
  endpoint: URL;
  /** The region id, when known (an endpoint given alone has none). */
  region?: string;
  projectId?: string;
  credentials?: { ak: string; sk: string; securityToken?: string };
  ca?: Buffer;
  timeoutMs: number;
}

/**
 * The environment variables Huawei's SDKs read (their `EnvCredentials` and region provider): HUAWEICLOUD_SDK_AK,
 * HUAWEICLOUD_SDK_SK, HUAWEICLOUD_SDK_SECURITY_TOKEN, HUAWEICLOUD_SDK_PROJECT_ID, HUAWEICLOUD_SDK_REGION_ID, and
 * `HUAWEICLOUD_SDK_REGION_KMS_<REGION_ID>` (upper case, `-` as `_`) for the KMS endpoint of a region.
 */
export const ENV = {
  ak: 'HUAWEICLOUD_SDK_AK',
  sk: 'HUAWEICLOUD_SDK_SK',
  securityToken: 'HUAWEICLOUD_SDK_SECURITY_TOKEN',
  projectId: 'HUAWEICLOUD_SDK_PROJECT_ID',
  region: 'HUAWEICLOUD_SDK_REGION_ID',
  endpoint: (region: string) => `HUAWEICLOUD_SDK_REGION_KMS_${region.toUpperCase().replace(/-/g, '_')}`,
  ca: 'STRONGROOM_CA',
} as const;

/** The certificate file a deployment in `dataDir` serves (deployment.json `tls.cert`), if any. */
function deploymentCertificate(dataDir: string): string | undefined {
  try {
    return (JSON.parse(readFileSync(deploymentPath(dataDir), 'utf8')) as { tls?: { cert?: string } }).tls?.cert;
  } catch {
    return undefined;
  }
}

function readBootstrap(dataDir: string): BootstrapFile | null {
  const path = bootstrapPath(dataDir);
  if (!existsSync(path)) return null;
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as BootstrapFile;
  } catch (err) {
    throw new UsageError(`${path} cannot be read: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/**
 * Resolves where and as whom to call. Credentials come whole from the first source that has an access key: the
 * flags, the environment, then `bootstrap.json`. The region: `--region`, HUAWEICLOUD_SDK_REGION_ID, then the first
 * region of `bootstrap.json`; its endpoint and project from the flags, the environment, then `bootstrap.json`.
 * An `--endpoint` without a region takes the region of bootstrap.json at that host and port (for its project).
 * `needsCredentials` is false for the version documents, which need none. Throws UsageError for what is missing.
 */
export function resolveTarget(o: ConnectionOptions, env: NodeJS.ProcessEnv, needsCredentials: boolean): Target {
  let boot: BootstrapFile | null | undefined;
  const bootstrap = () => (boot === undefined ? (boot = readBootstrap(o.dataDir)) : boot);
  const where = `give --ak/--sk, set ${ENV.ak}/${ENV.sk}, or point --data-dir at a deployment's data directory (its bootstrap.json)`;

  let credentials: Target['credentials'];
  if (o.ak !== undefined || o.sk !== undefined) {
    if (!o.ak || !o.sk) throw new UsageError('--ak and --sk go together');
    credentials = { ak: o.ak, sk: o.sk, ...(o.securityToken ? { securityToken: o.securityToken } : {}) };
  } else if (env[ENV.ak]) {
    if (!env[ENV.sk]) throw new UsageError(`${ENV.ak} is set but ${ENV.sk} is not`);
    const token = o.securityToken ?? env[ENV.securityToken];
    credentials = { ak: env[ENV.ak]!, sk: env[ENV.sk]!, ...(token ? { securityToken: token } : {}) };
  } else if (bootstrap()) {
    credentials = { ak: bootstrap()!.access_key, sk: bootstrap()!.secret_key };
  }
  if (needsCredentials && !credentials) throw new UsageError(`no credentials: ${where}`);

  // An endpoint given alone is the region of bootstrap.json that has it, if any.
  const hostOf = (e: string) => URL.canParse(e) ? new URL(e).host : e;
  const sameEndpoint = (e: string) => o.endpoint !== undefined && hostOf(e) === hostOf(o.endpoint);
  const region = o.region ?? env[ENV.region]
    ?? (o.endpoint === undefined ? bootstrap()?.regions[0]?.id : bootstrap()?.regions.find((r) => [r.endpoint, ...(r.endpoints ?? [])].some(sameEndpoint))?.id);
  const bootRegion = region === undefined ? undefined : bootstrap()?.regions.find((r) => r.id === region);
  const endpointText = o.endpoint ?? (region === undefined ? undefined : env[ENV.endpoint(region)]) ?? bootRegion?.endpoint;
  if (endpointText === undefined) {
    if (region !== undefined && bootstrap()) {
      throw new UsageError(`region ${region} is not in ${bootstrapPath(o.dataDir)} (it has ${bootstrap()!.regions.map((r) => r.id).join(', ')}); give --endpoint`);
    }
    throw new UsageError(`no endpoint: give --endpoint (or --region with ${ENV.endpoint('REGION')}), or point --data-dir at a deployment's data directory (its bootstrap.json)`);
  }
  let endpoint: URL;
  try {
    endpoint = new URL(endpointText);
  } catch {
    throw new UsageError(`the endpoint ${endpointText} is not a URL (http://host:port or https://host:port)`);
  }
  if (endpoint.protocol !== 'http:' && endpoint.protocol !== 'https:') throw new UsageError(`the endpoint ${endpointText} must be http:// or https://`);
  const projectId = o.projectId ?? env[ENV.projectId] ?? bootRegion?.project_id;

  // Without --ca, an https endpoint of the deployment in --data-dir is trusted through its own certificate
  // (deployment.json `tls.cert`, `start --tls`), along with the system's CAs.
  const caPath = o.ca ?? env[ENV.ca] ?? (endpoint.protocol === 'https:' ? deploymentCertificate(o.dataDir) : undefined);
  let ca: Buffer | undefined;
  if (caPath) {
    try {
      ca = readFileSync(caPath);
    } catch (err) {
      throw new UsageError(`the CA file ${caPath} cannot be read: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  return { endpoint, ...(region !== undefined ? { region } : {}), ...(projectId ? { projectId } : {}), ...(credentials ? { credentials } : {}), ...(ca ? { ca } : {}), timeoutMs: o.timeoutMs ?? 60_000 };
}

/** A call's input as the catalogue names it: path parameters, query parameters and the JSON body. */
export interface CallInput {
  params: Record<string, string>;
  query: Record<string, string>;
  /** Undefined for an operation without a body. */
  body?: Record<string, unknown>;
}

/** The HTTP answer of a call: status and body text. */
export interface CallAnswer {
  status: number;
  body: string;
}

/** The URL of a call: the path template filled (each value RFC 3986-encoded), the query in name order. */
export function callUrl(op: Operation, target: Target, input: CallInput): URL {
  const path = op.path.replace(/\{([a-z_]+)\}/g, (_m, name: string) => {
    const value = name === 'project_id' ? target.projectId : input.params[name];
    if (value === undefined) throw new UsageError(name === 'project_id' ? 'no project id: give --project-id, set HUAWEICLOUD_SDK_PROJECT_ID, or use a region of bootstrap.json' : `--${name.replace(/_/g, '-')} is required`);
    return encodeRfc3986(value);
  });
  const query = Object.keys(input.query).sort().map((k) => `${encodeRfc3986(k)}=${encodeRfc3986(input.query[k]!)}`).join('&');
  const base = target.endpoint.href.replace(/\/+$/, '');
  return new URL(base + path + (query ? `?${query}` : ''));
}

/**
 * Sends one call, signed as Huawei's SDKs sign (content-type, host, X-Project-Id, X-Sdk-Date, X-Security-Token with
 * temporary credentials) plus an `X-Client-Request-Id` of its own, so that two identical calls in the same second are
 * distinct requests (a region refuses an exact copy of a signed request that changed state). Resolves with any
 * HTTP answer; rejects with an Error whose message says why the endpoint could not be reached.
 */
export async function call(op: Operation, target: Target, input: CallInput): Promise<CallAnswer> {
  const url = callUrl(op, target, input);
  const body = input.body === undefined ? Buffer.alloc(0) : Buffer.from(JSON.stringify(input.body), 'utf8');
  let headers: Record<string, string> = { 'content-type': 'application/json', 'x-client-request-id': randomUUID() };
  if (target.projectId) headers['x-project-id'] = target.projectId;
  if (target.credentials?.securityToken) headers['x-security-token'] = target.credentials.securityToken;
  headers = target.credentials
    ? signedHeaders({ method: op.method, url, headers, body, accessKey: target.credentials.ak, secretKey: target.credentials.sk })
    : { ...headers, host: url.host };
  if (body.length > 0) headers['content-length'] = String(body.length);
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise<CallAnswer>((resolve, reject) => {
    const req = send(url, { method: op.method, headers, agent: false, timeout: target.timeoutMs, ...(target.ca ? { ca: [...rootCertificates, target.ca.toString()] } : {}) }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', (err) => reject(new Error(`the answer from ${target.endpoint.origin} broke off: ${err.message}`)));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${target.timeoutMs / 1000} s`)));
    req.on('error', (err: NodeJS.ErrnoException) => {
      const why = err.code === 'ECONNREFUSED' ? 'connection refused (is the deployment running? npm start)' : err.code ? `${err.code} ${err.message}` : err.message;
      reject(new Error(`cannot reach ${target.endpoint.origin}${target.region ? ` (region ${target.region})` : ''}: ${why}`));
    });
    req.end(body);
  });
}
