/**
 * Per-request authentication headers of the load: an IAM token (`X-Auth-Token`), or an SDK-HMAC-SHA256 signature
 * made by the official Huawei signer (@huaweicloud/huaweicloud-sdk-core's AKSKSigner, as its HcClient signs), with a
 * fresh `X-Sdk-Date` on every call. The SDK hashes `JSON.stringify(body)`: the bytes sent must be exactly that.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { AKSKSigner } = require('@huaweicloud/huaweicloud-sdk-core/auth/AKSKSigner') as {
  AKSKSigner: { sign(request: object, credential: object): Record<string, string> };
};
const { BasicCredentials } = require('@huaweicloud/huaweicloud-sdk-core/auth/BasicCredentials') as {
  BasicCredentials: new () => { withAk(ak: string): BasicCredential; withSk(sk: string): BasicCredential; withProjectId(p: string): BasicCredential };
};
type BasicCredential = { withAk(ak: string): BasicCredential; withSk(sk: string): BasicCredential; withProjectId(p: string): BasicCredential };

export type AuthMode = 'token' | 'aksk';

/** How the load authenticates: a token sent as is, or an access key pair signing every request. */
export type Auth = { mode: 'token'; token: string } | { mode: 'aksk'; accessKey: string; secretKey: string; projectId: string };

/** Builds the headers of one request; called once per request (AK/SK: a new date and signature each time). */
export interface HeaderMaker {
  headers(method: string, path: string, body: object | undefined): Record<string, string>;
  /** True when every request needs its own headers (a signature); false when they never change (a token). */
  readonly perRequest: boolean;
}

/**
 * The header maker of `auth` for requests to `endpoint` (`http://host:port`). Token headers are built once;
 * AK/SK headers are signed per call by the official signer.
 */
export function headerMaker(endpoint: string, auth: Auth): HeaderMaker {
  if (auth.mode === 'token') {
    const fixed = { 'content-type': 'application/json', 'X-Auth-Token': auth.token };
    return { headers: () => ({ ...fixed }), perRequest: false }; // a copy: autocannon adds Content-Length to the object it gets
  }
  const credential = new BasicCredentials().withAk(auth.accessKey).withSk(auth.secretKey).withProjectId(auth.projectId);
  return {
    perRequest: true,
    headers: (method, path, body) =>
      AKSKSigner.sign(
        { endpoint: endpoint + path, method, headers: { 'content-type': 'application/json', 'X-Project-Id': auth.projectId }, data: body, queryParams: {} },
        credential,
      ),
  };
}
