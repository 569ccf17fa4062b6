/**
 * Huawei's encodings of bytes on the wire (docs/reference/huawei-kms-api.md §1.4): data keys and random bytes in
 * uppercase hex.
 */
export const upperHex = (b: Buffer): string => b.toString('hex').toUpperCase();
