/**
 * TLS for a deployment: the certificate and private key every process serves (PEM files), given by the operator
 * (`start --tls-cert FILE --tls-key FILE`) or generated for local use (`start --tls`: a self-signed P-256
 * certificate, 825 days, for the deployment's host, localhost, 127.0.0.1 and ::1, made by the `openssl` command:
 * Node has no API to issue X.509 certificates and Strongroom writes no cryptography of its own). The processes of a
 * deployment trust that certificate for their calls to each other (the launcher gives them NODE_EXTRA_CA_CERTS).
 */
import { execFileSync } from 'node:child_process';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { chmodSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { privateDir } from './deployment.js';

/** Where a deployment's certificate and key are (absolute paths), and whether Strongroom generated them. */
export interface TlsFiles {
  cert: string;
  key: string;
  self_signed: boolean;
}

/** The PEM contents a server is given. */
export interface TlsMaterial {
  cert: Buffer;
  key: Buffer;
}

/**
 * Reads and checks a certificate and its private key: throws with the file at fault when either cannot be read,
 * is not PEM, or the key is not the certificate's.
 */
export function loadTls(files: { cert: string; key: string }): TlsMaterial {
  let cert: Buffer;
  let key: Buffer;
  try {
    cert = readFileSync(files.cert);
  } catch (err) {
    throw new Error(`TLS certificate ${files.cert} cannot be read: ${(err as Error).message}`);
  }
  try {
    key = readFileSync(files.key);
  } catch (err) {
    throw new Error(`TLS private key ${files.key} cannot be read: ${(err as Error).message}`);
  }
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert);
  } catch {
    throw new Error(`${files.cert} is not a PEM certificate`);
  }
  let matches: boolean;
  try {
    matches = x509.checkPrivateKey(createPrivateKey(key));
  } catch {
    throw new Error(`${files.key} is not a PEM private key`);
  }
  if (!matches) throw new Error(`${files.key} is not the private key of ${files.cert}`);
  return { cert, key };
}

/** SHA-256 fingerprint of a PEM certificate, as `AB:CD:…` (what browsers and `openssl x509 -fingerprint` show). */
export function fingerprint(certPem: Buffer): string {
  return new X509Certificate(certPem).fingerprint256;
}

/**
 * Generates a self-signed certificate and key in `dir` (`cert.pem` 0644, `key.pem` 0600, in a 0700 folder) for
 * `host`, localhost, 127.0.0.1, ::1 and this machine's name. Throws when the `openssl` command is missing or fails.
 */
export function generateSelfSigned(dir: string, host: string): TlsFiles {
  privateDir(dir);
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  const names = new Set(['DNS:localhost', 'IP:127.0.0.1', 'IP:::1', `DNS:${hostname()}`]);
  names.add(/^[\d.]+$/.test(host) || host.includes(':') ? `IP:${host}` : `DNS:${host}`);
  try {
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '825',
      '-subj', '/CN=Strongroom local deployment', '-addext', `subjectAltName=${[...names].join(',')}`,
      '-addext', 'basicConstraints=critical,CA:FALSE', '-addext', 'extendedKeyUsage=serverAuth',
    ], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: Buffer };
    if (e.code === 'ENOENT') throw new Error('--tls generates a certificate with the openssl command, which is not installed: install openssl, or give --tls-cert FILE --tls-key FILE');
    throw new Error(`openssl could not generate a certificate: ${e.stderr?.toString().trim() ?? e.message}`);
  }
  chmodSync(key, 0o600);
  chmodSync(cert, 0o644);
  return { cert, key, self_signed: true };
}
