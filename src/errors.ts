/**
 * The one catalogue of error codes: every failure Strongroom answers is a KmsError whose code is a
 * key of ERRORS, which fixes its HTTP status and Huawei's literal message (docs/reference/huawei-kms-api.md §5.2).
 * APIGW.* codes are the API-gateway errors Huawei answers for authentication (docs/reference/huawei-auth.md §3.4) and
 * throttling.
 */
export const ERRORS = {
  'APIGW.0101': [404, 'The API does not exist or has not been published in the environment.'],
  'APIGW.0301': [401, 'Incorrect IAM authentication information.'],
  'APIGW.0307': [401, 'The token must be updated.'],
  // Huawei API gateway error table, APIGW.0308: a throttled call; the detail names the policy and its limit
  // ("policy user over ratelimit,limit:200,time:1 second"). Huawei has no KMS.* code for throttling.
  'APIGW.0308': [429, 'The throttling threshold has been reached:'],
  'IAM.0001': [400, 'The request body is invalid.'],
  'IAM.0002': [401, 'The username or password is wrong.'],
  'IAM.0003': [404, 'Could not find the requested resource.'],
  'IAM.0004': [403, 'You are not authorized to perform the requested action.'],
  'IAM.0005': [409, 'The resource already exists.'],
  // Huawei IAM's answer to a password login of a locked user (account lockout policy: iam/login-guard.ts).
  'IAM.0061': [401, 'Account locked.'],
  // Huawei's IAM codes for password and user rules, bare numbers as Huawei writes them (iam_02_0006).
  '1103': [400, 'Incorrect password.'],
  '1107': [400, 'The account administrator cannot be deleted.'],
  '1108': [400, 'The new password must be different from the old password.'],
  'KMS.0101': [500, 'KMS error.'],
  'KMS.0103': [500, 'A system exception occurred. Contact technical support.'],
  'KMS.0104': [503, 'A system exception occurred. Contact technical support.'],
  'KMS.0106': [400, 'It is replica service, readonly api allowed.'],
  'KMS.0201': [400, 'Invalid request URL.'],
  // Strongroom's own codes for a region that cannot be reached (the 502 and 504 statuses of
  // docs/reference/seed-kms-regions-api.txt).
  'KMS.0502': [502, 'The region could not be reached.'],
  'KMS.0504': [504, 'The region did not answer in time.'],
  'KMS.0202': [400, 'Invalid JSON format of the request message.'],
  'KMS.0203': [400, 'Request message too long.'],
  'KMS.0204': [400, 'Parameters missing in the request message.'],
  'KMS.0205': [400, 'Invalid key ID.'],
  'KMS.0206': [400, 'Invalid sequence number.'],
  'KMS.0207': [404, 'The key does not exist.'],
  'KMS.0208': [400, 'Invalid value of value encryption_context.'],
  'KMS.0209': [400, 'The key has been disabled.'],
  'KMS.0210': [400, 'The key is in Scheduled deletion state and cannot be used.'],
  'KMS.0211': [400, 'Cannot perform this operation on Default Master Keys.'],
  'KMS.0214': [400, 'The request format is invalid.'],
  'KMS.0215': [405, 'Request method not supported.'],
  'KMS.0301': [403, 'Invalid or null X-Auth-Token.'],
  'KMS.0306': [403, 'No access permissions.'],
  'KMS.0308': [400, 'Invalid parameter.'],
  'KMS.0309': [400, 'External keys required.'],
  'KMS.0310': [400, 'The key is not in Pending import state.'],
  'KMS.0311': [400, 'Failed to decrypt data using the RSA private key.'],
  'KMS.0312': [400, 'External keys cannot be rotated.'],
  'KMS.0313': [400, 'Key rotation is not enabled.'],
  'KMS.0321': [403, 'URIs in URL and X-Auth-Token do not match.'],
  'KMS.0324': [400, 'RSA keys cannot be rotated.'],
  'KMS.0325': [400, 'The asymmetric key is not support this operation.'],
  'KMS.0329': [400, 'Hash algorithm does not match the digest length.'],
  'KMS.0331': [400, 'The symmetric key is not support this operation.'],
  'KMS.0332': [400, 'This key is not support the signing algorithm.'],
  'KMS.0334': [400, 'The cmk is used to encrypt and decrypt.'],
  'KMS.0335': [400, 'The cmk is used to sign and verify.'],
  'KMS.0338': [400, 'The custom keystore do not support rotation.'],
  'KMS.0339': [400, 'The custom keystore do not support import key.'],
  'KMS.0340': [400, 'not support keystore.'],
  'KMS.0341': [400, 'The hmac key do not support this operation.'],
  // Tags (docs/reference/huawei-kms-api.md §5.2, KMS.04xx).
  'KMS.0401': [400, 'Tag list cannot be empty.'],
  'KMS.0402': [400, 'Invalid match value.'],
  'KMS.0403': [400, 'Invalid match key.'],
  'KMS.0404': [400, 'Invalid action.'],
  'KMS.0405': [400, 'Invalid tag value.'],
  'KMS.0406': [400, 'Invalid tag key.'],
  'KMS.0409': [400, 'Too many tags.'],
  'KMS.0410': [400, 'Invalid tag value length.'],
  'KMS.0411': [400, 'Invalid tag key length.'],
  'KMS.0412': [400, 'Invalid tag list.'],
  'KMS.0413': [400, 'Too many tag values.'],
  'KMS.0414': [400, 'Invalid tags.'],
  'KMS.0415': [400, 'Invalid matches.'],
  'KMS.0416': [404, 'Invalid tag ID.'],
  'KMS.0417': [400, 'Invalid offset.'],
  'KMS.0418': [400, 'Offset is not required.'],
  'KMS.1101': [400, 'Invalid key_alias.'],
  'KMS.1103': [400, 'Invalid key_description.'],
  'KMS.1104': [400, 'Duplicate key aliases.'],
  'KMS.1105': [400, 'Too many keys.'],
  'KMS.1114': [400, 'EC keys do not support to encrypt/decrypt.'],
  'KMS.1115': [400, 'Symmetric keys do not support to sign/verify.'],
  'KMS.1201': [400, 'The key is not disabled.'],
  'KMS.1301': [400, 'The key is not enabled.'],
  'KMS.1401': [400, 'Set the pending deletion period between 7 to 1096 days.'],
  'KMS.1402': [400, 'The key is already in Pending deletion state.'],
  'KMS.1404': [400, 'This region is not the original region of the key, and it is not allowed to import-key-material.'],
  'KMS.1501': [400, 'The key is not in Pending deletion state.'],
  'KMS.1601': [400, 'Invalid limit.'],
  'KMS.1602': [400, 'marker must be greater than or equals 0.'],
  'KMS.1603': [400, 'Invalid offset.'],
  'KMS.1801': [400, 'random_data_length must be in the range 8 bits to 8,192 bits.'],
  'KMS.1802': [400, 'random_data_length must be a multiple of 8.'],
  'KMS.1901': [400, 'datakey_length must be in the range 8 bits to 8,192 bits.'],
  'KMS.1903': [400, 'datakey_length must be a multiple of 8.'],
  'KMS.2101': [400, 'Invalid plain_text.'],
  'KMS.2103': [400, 'Failed to verify the DEK hash.'],
  'KMS.2104': [400, 'The length of plain_text does not match datakey_plain_length.'],
  'KMS.2105': [400, 'The symmetric key not support this encryption algorithm.'],
  // Import of key material (docs/reference/huawei-kms-api.md §4 I 36–38).
  // Grants (docs/reference/huawei-kms-api.md §5.2, KMS.24xx–25xx).
  'KMS.2401': [400, 'Specify an operation in addition to create-grant.'],
  'KMS.2402': [400, 'Invalid user ID.'],
  'KMS.2403': [400, 'Failed to create the grant.'],
  'KMS.2404': [400, 'Too many CMK grants.'],
  'KMS.2405': [400, 'Too many grants.'],
  'KMS.2501': [400, 'Invalid grant ID.'],
  'KMS.2502': [400, 'grant_id and key_id do not match.'],
  'KMS.2601': [400, 'Token expired.'],
  'KMS.2602': [400, 'Key expiration time must be later than the current time.'],
  'KMS.2603': [400, 'Key IDs in the imported key and token do not match.'],
  'KMS.2604': [400, 'The external key plaintext length must be 32 bits.'],
  'KMS.2605': [400, 'Token verification failed.'],
  'KMS.2606': [400, 'You are importing a deleted key again. The imported plaintext must be the same as the deleted key plaintext.'],
  'KMS.2608': [400, 'The imported asymmetric private key can not be null.'],
  'KMS.2609': [400, 'The imported asymmetric private is invalid.'],
  'KMS.2610': [400, 'The temporary key length must be 16 or 32.'],
  'KMS.2701': [400, 'Key material is not in Enabled or Disabled state and cannot be deleted.'],
  'KMS.2702': [400, 'The imported private key material can not be deleted.'],
  'KMS.2801': [400, 'End_time must bigger than start_time.'],
  'KMS.2901': [400, 'Key rotation is not disabled.'],
  'KMS.3001': [400, 'Invalid rotation_interval.'],
  // Attestation documents that cannot be read (capsules, enclave recipients: docs/reference/huawei-kms-api.md §5.2).
  'KMS.3804': [400, 'AttestationDocument parsing failed.'],
  'KMS.2106': [400, 'The rsa key not support this encryption algorithm.'],
  'KMS.2108': [400, 'The rsa encryption plain_text is over length.'],
  'KMS.2201': [400, 'Invalid cipher_text.'],
  'KMS.2204': [400, 'The length of cipher_text does not match datakey_cipher_length.'],
} as const satisfies Record<string, readonly [number, string]>;

export type ErrorCode = keyof typeof ERRORS;

/** A failure with a catalogued code; `detail` says what exactly was wrong and is appended to the message. */
export class KmsError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  constructor(code: ErrorCode, detail?: string) {
    const [status, message] = ERRORS[code];
    super(detail ? `${message} ${detail}` : message);
    this.code = code;
    this.status = status;
    this.name = 'KmsError';
  }
}

/**
 * A call over a rate limit: `429 APIGW.0308` in the gateway's flat body, with `Retry-After: retryAfterSeconds`
 * (a whole number of seconds, at least 1; Huawei does not document the header, Strongroom sends it).
 */
export class ThrottledError extends KmsError {
  readonly retryAfterSeconds: number;
  constructor(detail: string, retryAfterSeconds: number) {
    super('APIGW.0308', detail);
    this.retryAfterSeconds = Math.max(1, Math.ceil(retryAfterSeconds));
    this.name = 'ThrottledError';
  }
}

/**
 * Huawei's error body: `{"error": {"error_code": "KMS.xxxx", "error_msg": "..."}}` for KMS's (and IAM's) own errors;
 * the API gateway's errors (`APIGW.*`: authentication, throttling, unknown APIs) are flat, with the request id:
 * `{"error_code", "error_msg", "request_id"}` (docs/reference/observed-huawei-answers.md).
 */
export function errorBody(err: KmsError, requestId = ''): { error: { error_code: string; error_msg: string } } | { error_code: string; error_msg: string; request_id: string } {
  if (err.code.startsWith('APIGW.')) return { error_code: err.code, error_msg: err.message, request_id: requestId };
  return { error: { error_code: err.code, error_msg: err.message } };
}
