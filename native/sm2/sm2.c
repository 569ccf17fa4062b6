/*
 * Strongroom's native bridge to the OpenSSL that is linked into node itself (OpenSSL 3.0 in node 20).
 *
 * It exists for the few operations node:crypto does not expose; every primitive is OpenSSL's, this file only
 * parses keys and calls EVP:
 *   - SM2 signatures with the GM/T 0009 distinguishing ID (GB/T 32918.2, GM/T 0003.2): EVP_DigestSign with SM3
 *     and EVP_PKEY_CTX_set1_id. node can only sign with an empty ID.
 *   - SM2 public-key encryption (GB/T 32918.4) producing/consuming the GM/T 0009 ASN.1 ciphertext
 *     SEQUENCE { x INTEGER, y INTEGER, hash OCTET STRING, ciphertext OCTET STRING }: EVP_PKEY_encrypt/decrypt.
 *   - Signing and verifying a precomputed digest (SM2's e = SM3(Z || M), ECDSA, RSASSA-PSS, RSASSA-PKCS1-v1_5):
 *     EVP_PKEY_sign/verify with EVP_PKEY_CTX_set_signature_md. node:crypto always hashes its input itself.
 *
 * Keys arrive as DER: private keys as PKCS#8 PrivateKeyInfo, public keys as X.509 SubjectPublicKeyInfo. OpenSSL 3
 * decodes an id-ecPublicKey key on the SM2 curve (1.2.156.10197.1.301) as its own "SM2" key type, which is what
 * selects the SM2 signature/encryption code; callers name the key type they expect and anything else is refused.
 * Decoding DER is by far the slowest step of an operation in OpenSSL 3.0, so a key can also be parsed once with
 * loadPrivateKey/loadPublicKey into a key handle (a napi external owning the EVP_PKEY) that every operation takes
 * in place of the DER bytes; the type and private/public checks are made again on every use of a handle.
 *
 * Errors: TypeError for arguments that are not byte arrays, keys that do not parse or are of the wrong type, key
 * handles of the wrong kind (public for private or the reverse);
 * RangeError for a digest whose length does not match the digest algorithm; Error with code
 * ERR_STRONGROOM_DECRYPT for a ciphertext that does not decrypt; Error with code ERR_STRONGROOM_OPENSSL for any
 * other OpenSSL failure. Verification returns false rather than throwing. The OpenSSL error queue is shared with
 * node's own crypto, so every call leaves it empty.
 */
#define NAPI_VERSION 8
#include <node_api.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if OPENSSL_VERSION_NUMBER < 0x30000000L
#error "built against OpenSSL < 3.0: node's own headers (npm nodedir) must come first on the include path"
#endif

#define CODE_DECRYPT "ERR_STRONGROOM_DECRYPT"
#define CODE_OPENSSL "ERR_STRONGROOM_OPENSSL"

typedef struct {
  const unsigned char *data;
  size_t len;
} bytes;

enum kind { KIND_ERROR, KIND_TYPE, KIND_RANGE };

/* Throws a JS error whose message ends with OpenSSL's last reason, then empties the error queue. */
static void fail(napi_env env, enum kind kind, const char *code, const char *what) {
  char msg[400], reason[256] = "";
  unsigned long e = ERR_peek_last_error();
  if (e != 0) ERR_error_string_n(e, reason, sizeof reason);
  snprintf(msg, sizeof msg, "%s%s%s", what, e != 0 ? ": " : "", reason);
  ERR_clear_error();
  if (kind == KIND_TYPE) napi_throw_type_error(env, code, msg);
  else if (kind == KIND_RANGE) napi_throw_range_error(env, code, msg);
  else napi_throw_error(env, code, msg);
}

/* Reads argument v as a Uint8Array (a Buffer is one). */
static int get_bytes(napi_env env, napi_value v, bytes *out, const char *name) {
  bool is_ta = false;
  napi_typedarray_type type;
  size_t length;
  void *data;
  char msg[128];
  if (napi_is_typedarray(env, v, &is_ta) == napi_ok && is_ta &&
      napi_get_typedarray_info(env, v, &type, &length, &data, NULL, NULL) == napi_ok && type == napi_uint8_array) {
    out->data = length ? (const unsigned char *)data : (const unsigned char *)"";
    out->len = length;
    return 1;
  }
  snprintf(msg, sizeof msg, "%s must be a Buffer or Uint8Array", name);
  napi_throw_type_error(env, NULL, msg);
  return 0;
}

static int get_string(napi_env env, napi_value v, char *buf, size_t size, const char *name) {
  size_t len;
  char msg[128];
  if (napi_get_value_string_utf8(env, v, buf, size, &len) == napi_ok && len + 1 < size) return 1;
  snprintf(msg, sizeof msg, "%s must be a short string", name);
  napi_throw_type_error(env, NULL, msg);
  return 0;
}

static int get_int(napi_env env, napi_value v, int32_t *out, const char *name) {
  char msg[128];
  if (napi_get_value_int32(env, v, out) == napi_ok) return 1;
  snprintf(msg, sizeof msg, "%s must be an integer", name);
  napi_throw_type_error(env, NULL, msg);
  return 0;
}

/*
 * A parsed key, owned by the napi external that loadPrivateKey/loadPublicKey return. private_key says which
 * loader made it, so a public key's handle is never taken where a private key is asked for (nor the reverse,
 * which DER would refuse as well). Externals carry KEY_HANDLE_TAG, so one made by other native code is refused.
 */
typedef struct {
  EVP_PKEY *pkey;
  int private_key;
} key_handle;

static const napi_type_tag KEY_HANDLE_TAG = {0x7374726f6e67726fULL, 0x6f6d2d6b65793031ULL};

/* Finalizer of a handle's external: runs when the handle is garbage-collected. EVP_PKEY_free clears secrets. */
static void free_handle(napi_env env, void *data, void *hint) {
  key_handle *handle = data;
  (void)env;
  (void)hint;
  EVP_PKEY_free(handle->pkey);
  free(handle);
}

/* Parses PKCS#8 (private) or SPKI (public) DER, refusing trailing bytes. */
static EVP_PKEY *parse_der(napi_env env, napi_value v, int private_key) {
  bytes b;
  const unsigned char *p;
  EVP_PKEY *pkey = NULL;
  if (!get_bytes(env, v, &b, private_key ? "privateKeyDer" : "publicKeyDer")) return NULL;
  p = b.data;
  if (private_key) {
    PKCS8_PRIV_KEY_INFO *p8 = d2i_PKCS8_PRIV_KEY_INFO(NULL, &p, (long)b.len);
    if (p8 != NULL && p == b.data + b.len) pkey = EVP_PKCS82PKEY(p8);
    PKCS8_PRIV_KEY_INFO_free(p8);
  } else {
    pkey = d2i_PUBKEY(NULL, &p, (long)b.len);
    if (pkey != NULL && p != b.data + b.len) {
      EVP_PKEY_free(pkey);
      pkey = NULL;
    }
  }
  if (pkey == NULL)
    fail(env, KIND_TYPE, NULL, private_key ? "not a PKCS#8 DER private key" : "not an SPKI DER public key");
  return pkey;
}

/* The key of a handle, with a new reference for the caller; NULL (TypeError thrown) if v is not a handle of ours. */
static EVP_PKEY *handle_key(napi_env env, napi_value v, int private_key) {
  bool ours = false;
  key_handle *handle = NULL;
  if (napi_check_object_type_tag(env, v, &KEY_HANDLE_TAG, &ours) != napi_ok || !ours ||
      napi_get_value_external(env, v, (void **)&handle) != napi_ok || handle == NULL) {
    napi_throw_type_error(env, NULL, "key must be DER bytes or a key handle of this addon");
    return NULL;
  }
  if (handle->private_key != private_key) {
    napi_throw_type_error(env, NULL, private_key ? "the key handle holds a public key, not a private key"
                                                 : "the key handle holds a private key, not a public key");
    return NULL;
  }
  EVP_PKEY_up_ref(handle->pkey);
  return handle->pkey;
}

/* Consumes pkey when it is not of `type` (TypeError thrown, NULL returned); returns it otherwise. */
static EVP_PKEY *check_type(napi_env env, EVP_PKEY *pkey, const char *type) {
  char msg[128];
  if (pkey == NULL || EVP_PKEY_is_a(pkey, type)) return pkey;
  EVP_PKEY_free(pkey);
  snprintf(msg, sizeof msg, "key is not an %s key", type);
  napi_throw_type_error(env, NULL, msg);
  return NULL;
}

/*
 * The key argument of an operation, DER (parsed now) or a handle, refusing keys that are not of `type`. The caller
 * owns one reference and frees it with EVP_PKEY_free.
 */
static EVP_PKEY *load_key(napi_env env, napi_value v, int private_key, const char *type) {
  napi_valuetype vt;
  if (napi_typeof(env, v, &vt) == napi_ok && vt == napi_external)
    return check_type(env, handle_key(env, v, private_key), type);
  return check_type(env, parse_der(env, v, private_key), type);
}

static napi_value to_buffer(napi_env env, const unsigned char *data, size_t len) {
  napi_value out;
  if (napi_create_buffer_copy(env, len, data, NULL, &out) != napi_ok) return NULL;
  return out;
}

static napi_value to_bool(napi_env env, int value) {
  napi_value out;
  napi_get_boolean(env, value, &out);
  return out;
}

/*
 * Every exported function starts and ends with an empty OpenSSL error queue: stale entries would otherwise show up
 * in this addon's messages or in node's own crypto errors (decoders and failed verifications leave entries even
 * when the call as a whole is fine).
 */
#define EXPORT(name, call)                                    \
  static napi_value name(napi_env env, napi_callback_info info) { \
    napi_value result;                                            \
    ERR_clear_error();                                            \
    result = (call);                                              \
    ERR_clear_error();                                            \
    return result;                                                \
  }

/*
 * SM2 over a message (GB/T 32918.2 §6): OpenSSL computes Z = SM3(ENTL || ID || a || b || xG || yG || xA || yA)
 * and signs e = SM3(Z || M). The ID must be set after EVP_DigestSign/VerifyInit and before any data (OpenSSL 3.0
 * refuses it once Z is computed).
 */
static napi_value sm2_message_op(napi_env env, napi_callback_info info, int sign) {
  /* sign: (privateKey, message, id) — verify: (publicKey, message, id, signature); keys as DER or handles */
  size_t argc = 4;
  napi_value argv[4];
  bytes msg, id, sig = {NULL, 0};
  EVP_PKEY *pkey;
  EVP_MD_CTX *mctx = NULL;
  EVP_PKEY_CTX *pctx = NULL; /* owned by mctx */
  unsigned char out[80];     /* DER SM2 signature: at most 72 bytes */
  size_t outlen = sizeof out;
  napi_value result = NULL;
  int ok;

  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != (size_t)(sign ? 3 : 4)) {
    napi_throw_type_error(env, NULL, sign ? "expected 3 arguments" : "expected 4 arguments");
    return NULL;
  }
  if (!get_bytes(env, argv[1], &msg, "message") || !get_bytes(env, argv[2], &id, "id")) return NULL;
  if (!sign && !get_bytes(env, argv[3], &sig, "signature")) return NULL;
  if ((pkey = load_key(env, argv[0], sign, "SM2")) == NULL) return NULL;

  mctx = EVP_MD_CTX_new();
  ok = mctx != NULL &&
       (sign ? EVP_DigestSignInit(mctx, &pctx, EVP_sm3(), NULL, pkey)
             : EVP_DigestVerifyInit(mctx, &pctx, EVP_sm3(), NULL, pkey)) == 1 &&
       EVP_PKEY_CTX_set1_id(pctx, id.data, (int)id.len) > 0;
  if (!ok) {
    fail(env, KIND_ERROR, CODE_OPENSSL, "SM2 context setup failed");
  } else if (sign) {
    if (EVP_DigestSign(mctx, out, &outlen, msg.data, msg.len) == 1) result = to_buffer(env, out, outlen);
    else fail(env, KIND_ERROR, CODE_OPENSSL, "SM2 signing failed");
  } else {
    result = to_bool(env, EVP_DigestVerify(mctx, sig.data, sig.len, msg.data, msg.len) == 1);
  }
  EVP_MD_CTX_free(mctx);
  EVP_PKEY_free(pkey);
  return result;
}

EXPORT(Sm2Sign, sm2_message_op(env, info, 1))
EXPORT(Sm2Verify, sm2_message_op(env, info, 0))

/*
 * Sign or verify a digest that the caller already computed: EVP_PKEY_sign/verify. The digest name fixes the
 * expected length and, for RSA, the DigestInfo (PKCS#1 v1.5) or the PSS hash and MGF1 hash. padding is 0 for
 * EC/SM2, RSA_PKCS1_PADDING (1) or RSA_PKCS1_PSS_PADDING (6); saltLen is passed to OpenSSL for PSS only
 * (-1 = digest length, -2 = recover on verify).
 * Arguments: (key, keyType, digestName, padding, saltLen, digest[, signature]); the key as DER or a handle.
 */
static napi_value digest_op(napi_env env, napi_callback_info info, int sign) {
  size_t argc = 7;
  napi_value argv[7];
  bytes digest, sig = {NULL, 0};
  char type[16], mdname[32], msg[160];
  int32_t padding, saltlen;
  EVP_PKEY *pkey;
  EVP_PKEY_CTX *ctx = NULL;
  EVP_MD *md = NULL;
  unsigned char *out = NULL;
  size_t outlen = 0;
  napi_value result = NULL;
  int ok;

  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != (size_t)(sign ? 6 : 7)) {
    napi_throw_type_error(env, NULL, sign ? "expected 6 arguments" : "expected 7 arguments");
    return NULL;
  }
  if (!get_string(env, argv[1], type, sizeof type, "keyType") ||
      !get_string(env, argv[2], mdname, sizeof mdname, "digestName") ||
      !get_int(env, argv[3], &padding, "padding") || !get_int(env, argv[4], &saltlen, "saltLength") ||
      !get_bytes(env, argv[5], &digest, "digest") || (!sign && !get_bytes(env, argv[6], &sig, "signature")))
    return NULL;
  if ((md = EVP_MD_fetch(NULL, mdname, NULL)) == NULL) {
    fail(env, KIND_TYPE, NULL, "unknown digest name");
    return NULL;
  }
  if (digest.len != (size_t)EVP_MD_get_size(md)) {
    snprintf(msg, sizeof msg, "a %s digest is %d bytes, got %zu", mdname, EVP_MD_get_size(md), digest.len);
    EVP_MD_free(md);
    napi_throw_range_error(env, NULL, msg);
    return NULL;
  }
  if ((pkey = load_key(env, argv[0], sign, type)) == NULL) {
    EVP_MD_free(md);
    return NULL;
  }

  ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
  ok = ctx != NULL && (sign ? EVP_PKEY_sign_init(ctx) : EVP_PKEY_verify_init(ctx)) == 1;
  if (ok && padding != 0) ok = EVP_PKEY_CTX_set_rsa_padding(ctx, padding) > 0;
  if (ok) ok = EVP_PKEY_CTX_set_signature_md(ctx, md) > 0;
  if (ok && padding == RSA_PKCS1_PSS_PADDING) ok = EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, saltlen) > 0;
  if (!ok) {
    fail(env, KIND_ERROR, CODE_OPENSSL, "signature context setup failed");
  } else if (sign) {
    if (EVP_PKEY_sign(ctx, NULL, &outlen, digest.data, digest.len) == 1 && (out = OPENSSL_malloc(outlen)) != NULL &&
        EVP_PKEY_sign(ctx, out, &outlen, digest.data, digest.len) == 1)
      result = to_buffer(env, out, outlen);
    else
      fail(env, KIND_ERROR, CODE_OPENSSL, "signing failed");
    OPENSSL_free(out);
  } else {
    result = to_bool(env, EVP_PKEY_verify(ctx, sig.data, sig.len, digest.data, digest.len) == 1);
  }
  EVP_PKEY_CTX_free(ctx);
  EVP_PKEY_free(pkey);
  EVP_MD_free(md);
  return result;
}

EXPORT(SignDigest, digest_op(env, info, 1))
EXPORT(VerifyDigest, digest_op(env, info, 0))

/*
 * SM2 encryption (GB/T 32918.4 with SM3, OpenSSL's default for SM2 keys). Output/input is the GM/T 0009 ASN.1
 * SEQUENCE, i.e. C1 (as two INTEGERs), C3 = SM3(x2 || M || y2), C2. Arguments: (key, data); the key as DER or a
 * handle.
 */
static napi_value sm2_cipher_op(napi_env env, napi_callback_info info, int encrypt) {
  size_t argc = 2;
  napi_value argv[2];
  bytes in;
  EVP_PKEY *pkey;
  EVP_PKEY_CTX *ctx;
  unsigned char *out = NULL;
  size_t outlen = 0, cap = 0;
  napi_value result = NULL;
  int ok;

  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 2) {
    napi_throw_type_error(env, NULL, "expected 2 arguments");
    return NULL;
  }
  if (!get_bytes(env, argv[1], &in, encrypt ? "plaintext" : "ciphertext")) return NULL;
  if ((pkey = load_key(env, argv[0], !encrypt, "SM2")) == NULL) return NULL;
  ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
  if (encrypt)
    ok = ctx != NULL && EVP_PKEY_encrypt_init(ctx) == 1 && EVP_PKEY_encrypt(ctx, NULL, &cap, in.data, in.len) == 1 &&
         (out = OPENSSL_malloc(cap ? cap : 1)) != NULL && (outlen = cap, 1) &&
         EVP_PKEY_encrypt(ctx, out, &outlen, in.data, in.len) == 1;
  else /* the first call parses the ASN.1 to size the buffer; a malformed ciphertext already fails there */
    ok = ctx != NULL && EVP_PKEY_decrypt_init(ctx) == 1 && EVP_PKEY_decrypt(ctx, NULL, &cap, in.data, in.len) == 1 &&
         (out = OPENSSL_malloc(cap ? cap : 1)) != NULL && (outlen = cap, 1) &&
         EVP_PKEY_decrypt(ctx, out, &outlen, in.data, in.len) == 1;
  if (ok) result = to_buffer(env, out, outlen);
  else if (encrypt) fail(env, KIND_ERROR, CODE_OPENSSL, "SM2 encryption failed");
  else fail(env, KIND_ERROR, CODE_DECRYPT, "SM2 decryption failed");
  if (out != NULL) OPENSSL_clear_free(out, cap ? cap : 1); /* may hold plaintext */
  EVP_PKEY_CTX_free(ctx);
  EVP_PKEY_free(pkey);
  return result;
}

EXPORT(Sm2Encrypt, sm2_cipher_op(env, info, 1))
EXPORT(Sm2Decrypt, sm2_cipher_op(env, info, 0))

/*
 * loadPrivateKey(der, keyType) / loadPublicKey(der, keyType): the DER key parsed once, checked to be of keyType
 * ('RSA', 'EC', 'SM2'), returned as a key handle for the operations above.
 */
static napi_value load_handle(napi_env env, napi_callback_info info, int private_key) {
  size_t argc = 2;
  napi_value argv[2], out;
  char type[16];
  EVP_PKEY *pkey;
  key_handle *handle;

  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 2) {
    napi_throw_type_error(env, NULL, "expected 2 arguments");
    return NULL;
  }
  if (!get_string(env, argv[1], type, sizeof type, "keyType")) return NULL;
  if ((pkey = check_type(env, parse_der(env, argv[0], private_key), type)) == NULL) return NULL;
  if ((handle = malloc(sizeof *handle)) == NULL) {
    EVP_PKEY_free(pkey);
    napi_throw_error(env, NULL, "out of memory");
    return NULL;
  }
  handle->pkey = pkey;
  handle->private_key = private_key;
  if (napi_create_external(env, handle, free_handle, NULL, &out) != napi_ok) {
    free_handle(env, handle, NULL); /* no finalizer was attached */
    napi_throw_error(env, NULL, "could not create a key handle");
    return NULL;
  }
  /* from here on the external owns the handle: its finalizer frees it even if tagging fails */
  if (napi_type_tag_object(env, out, &KEY_HANDLE_TAG) != napi_ok) {
    napi_throw_error(env, NULL, "could not tag a key handle");
    return NULL;
  }
  return out;
}

EXPORT(LoadPrivateKey, load_handle(env, info, 1))
EXPORT(LoadPublicKey, load_handle(env, info, 0))

/* Which OpenSSL this addon is running on (it must be node's: the symbols resolve against the node binary). */
static napi_value OpensslVersion(napi_env env, napi_callback_info info) {
  napi_value out;
  (void)info;
  napi_create_string_utf8(env, OpenSSL_version(OPENSSL_VERSION), NAPI_AUTO_LENGTH, &out);
  return out;
}

static napi_value Init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"sm2Sign", NULL, Sm2Sign, NULL, NULL, NULL, napi_enumerable, NULL},
      {"sm2Verify", NULL, Sm2Verify, NULL, NULL, NULL, napi_enumerable, NULL},
      {"signDigest", NULL, SignDigest, NULL, NULL, NULL, napi_enumerable, NULL},
      {"verifyDigest", NULL, VerifyDigest, NULL, NULL, NULL, napi_enumerable, NULL},
      {"sm2Encrypt", NULL, Sm2Encrypt, NULL, NULL, NULL, napi_enumerable, NULL},
      {"sm2Decrypt", NULL, Sm2Decrypt, NULL, NULL, NULL, napi_enumerable, NULL},
      {"loadPrivateKey", NULL, LoadPrivateKey, NULL, NULL, NULL, napi_enumerable, NULL},
      {"loadPublicKey", NULL, LoadPublicKey, NULL, NULL, NULL, napi_enumerable, NULL},
      {"opensslVersion", NULL, OpensslVersion, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) return NULL;
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
