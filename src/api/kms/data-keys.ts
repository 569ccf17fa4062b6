/** Data keys and random bytes (huawei-kms-api.md §4 D 18–21, G 29): hex in, uppercase hex out. */
import type { FastifyInstance } from 'fastify';
import { DATAKEY_SPECS } from '../../core/key-specs.js';
import type { KeyPairSpec } from '../../crypto/algorithms.js';
import { KmsError } from '../../errors.js';
import { hexBytes, keyIdField, optionalInteger, optionalString, requiredInteger, requiredString, upperHex, type Body } from '../fields.js';
import { requestAad } from './small-data.js';
import { kmsPost, type RegionApi } from './routes.js';

/** Length in bits from `datakey_length` (which wins) or `key_spec`; 256 when neither is given. */
function dataKeyBits(body: Body): number {
  const spec = optionalString(body, 'key_spec', { oneOf: Object.keys(DATAKEY_SPECS) });
  const bits = optionalInteger(body, 'datakey_length', { code: 'KMS.1901' });
  if (bits !== undefined) {
    if (bits < 8 || bits > 8192) throw new KmsError('KMS.1901');
    if (bits % 8 !== 0) throw new KmsError('KMS.1903');
    return bits;
  }
  return spec !== undefined ? DATAKEY_SPECS[spec]! : 256;
}

export function dataKeyRoutes(app: FastifyInstance, api: RegionApi): void {
  for (const withPlaintext of [true, false]) {
    kmsPost(app, api, withPlaintext ? 'create-datakey' : 'create-datakey-without-plaintext', async (ctx, body) => {
      const keyId = keyIdField(body);
      const bits = dataKeyBits(body);
      const out = await api.crypto.createDataKey(ctx, keyId, bits / 8, requestAad(body));
      return withPlaintext
        ? { key_id: out.keyId, plain_text: upperHex(out.plaintext), cipher_text: upperHex(out.blob) }
        : { key_id: out.keyId, cipher_text: upperHex(out.blob) };
    });
  }

  kmsPost(app, api, 'encrypt-datakey', async (ctx, body) => {
    const keyId = keyIdField(body);
    const plain = hexBytes(requiredString(body, 'plain_text', { code: 'KMS.2101' }), 'plain_text', 'KMS.2101');
    const length = requiredInteger(body, 'datakey_plain_length', { code: 'KMS.0308', min: 1, max: 1024 });
    if (plain.length !== length + 32) {
      throw new KmsError('KMS.2104', `plain_text must be the ${length}-byte data key followed by its 32-byte digest (${length + 32} bytes), not ${plain.length} bytes.`);
    }
    const out = await api.crypto.encryptDataKey(ctx, keyId, plain.subarray(0, length), plain.subarray(length), requestAad(body));
    return { key_id: out.keyId, cipher_text: upperHex(out.blob), datakey_length: String(length) };
  });

  kmsPost(app, api, 'decrypt-datakey', async (ctx, body) => {
    const keyId = keyIdField(body);
    const blob = hexBytes(requiredString(body, 'cipher_text', { code: 'KMS.2201' }), 'cipher_text', 'KMS.2201');
    const length = requiredInteger(body, 'datakey_cipher_length', { code: 'KMS.0308', min: 1, max: 1024 });
    const out = await api.crypto.decryptDataKey(ctx, keyId, blob, length, requestAad(body));
    return { data_key: upperHex(out.plaintext), datakey_length: String(out.plaintext.length), datakey_dgst: upperHex(out.digest) };
  });

  const pairRoute = (name: string, specs: Readonly<Record<string, KeyPairSpec | null>>) =>
    kmsPost(app, api, name, async (ctx, body) => {
      const keyId = keyIdField(body);
      const keySpec = requiredString(body, 'key_spec', { oneOf: Object.keys(specs) });
      const pair = specs[keySpec];
      if (!pair) throw new KmsError('KMS.0308', `key_spec ${keySpec} is not supported by this Strongroom version.`);
      const withPlainText = body.with_plain_text ?? true;
      if (typeof withPlainText !== 'boolean') throw new KmsError('KMS.0308', 'with_plain_text must be a boolean.');
      const out = await api.crypto.createDataKeyPair(ctx, keyId, pair, withPlainText, requestAad(body));
      return {
        key_id: out.keyId,
        key_spec: keySpec,
        public_key: out.publicKey.toString('base64'),
        private_key_cipher_text: out.privateKeyCiphertext.toString('base64'),
        ...(out.privateKeyPlaintext ? { private_key_plain_text: out.privateKeyPlaintext.toString('base64') } : {}),
      };
    });
  pairRoute('create-rsa-datakey-pair', { RSA_2048: 'RSA_2048', RSA_3072: 'RSA_3072', RSA_4096: 'RSA_4096' });
  pairRoute('create-ec-datakey-pair', { ECC_NIST_P256: 'EC_P256', ECC_NIST_P384: 'EC_P384', ECC_NIST_P521: null, ECC_SECG_P256K1: 'SECP256K1', SM2: 'SM2' });

  kmsPost(app, api, 'gen-random', async (_ctx, body) => {
    const bits = requiredInteger(body, 'random_data_length', { code: 'KMS.1801' });
    if (bits % 8 !== 0) throw new KmsError('KMS.1802');
    if (bits < 8 || bits > 8192) throw new KmsError('KMS.1801');
    return { random_data: upperHex(api.crypto.random(bits / 8)) };
  });
}
