/**
 * Import of key material (huawei-kms-api.md §4 I 36–38): get-parameters-for-import, import-key-material and
 * delete-imported-key-material. Token, material and public key are Base64; `expiration_time` is epoch SECONDS
 * (int64, §1.4), accepted as a number or a numeric string. Import and delete answer with an empty object.
 */
import type { FastifyInstance } from 'fastify';
import type { KeyImportService } from '../../core/key-import.js';
import { base64Bytes, keyIdField, optionalInteger, optionalString, requiredString } from '../fields.js';
import { kmsPost, type RegionApi } from './routes.js';

/** The SDKs allow Base64 fields of the import API up to 6144 characters. */
const MAX_BASE64 = 6144;

export function keyImportRoutes(app: FastifyInstance, api: RegionApi & { imports: KeyImportService }): void {
  const imports = api.imports;

  kmsPost(app, api, 'get-parameters-for-import', async (ctx, body) => {
    const keyId = keyIdField(body);
    const p = await imports.getParametersForImport(ctx, keyId, requiredString(body, 'wrapping_algorithm'));
    return {
      key_id: p.keyId,
      import_token: p.importToken,
      expiration_time: Math.floor(p.expiresAt / 1000),
      public_key: p.publicKey.toString('base64'),
    };
  });

  kmsPost(app, api, 'import-key-material', async (ctx, body) => {
    const keyId = keyIdField(body);
    const importToken = requiredString(body, 'import_token', { code: 'KMS.2605', maxBytes: MAX_BASE64 });
    const material = requiredString(body, 'encrypted_key_material', { maxBytes: MAX_BASE64 });
    const privateKey = optionalString(body, 'encrypted_privatekey', { maxBytes: MAX_BASE64 }); // '' counts as absent (KMS.2608)
    await imports.importKeyMaterial(ctx, {
      keyId,
      importToken,
      encryptedKeyMaterial: base64Bytes(material, 'encrypted_key_material', 'KMS.0308'),
      encryptedPrivateKey: privateKey === undefined || privateKey === '' ? undefined : base64Bytes(privateKey, 'encrypted_privatekey', 'KMS.0308'),
      // Up to 10 digits of seconds (year 2286): a value in milliseconds is refused rather than read as a far future.
      expirationTime: optionalInteger(body, 'expiration_time', { code: 'KMS.0308', min: 0, max: 9_999_999_999 }),
    });
    return {};
  });

  kmsPost(app, api, 'delete-imported-key-material', async (ctx, body) => {
    await imports.deleteImportedKeyMaterial(ctx, keyIdField(body));
    return {};
  });
}
