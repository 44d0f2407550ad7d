// Thin C helpers over OpenSSL 3 for the JOSE module.
//
// Why C and not Swift: OSSL_PARAM_BLD keeps raw pointers (names, BIGNUMs) until
// OSSL_PARAM_BLD_to_param, and variadic APIs (EVP_PKEY_Q_keygen) cannot be called from
// Swift. Each helper owns every temporary it creates and frees it before returning;
// the returned EVP_PKEY (if any) belongs to the caller (EVP_PKEY_free).
// Only OpenSSL 3 APIs are used: EVP, OSSL_PARAM, no deprecated RSA_*/EC_KEY_* calls.
#ifndef PORTCULLIS_COPENSSL_SHIM_H
#define PORTCULLIS_COPENSSL_SHIM_H

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/// The selection for portcullis_pkey_fromdata (composite macros are not imported into Swift).
static const int PORTCULLIS_SELECT_KEYPAIR = EVP_PKEY_KEYPAIR;

/// Builds a key with EVP_PKEY_fromdata from up to 8 BIGNUM parameters given as big-endian
/// bytes, plus optional UTF-8 and octet-string parameters. `selection` is
/// EVP_PKEY_PUBLIC_KEY or EVP_PKEY_KEYPAIR.
static inline EVP_PKEY *portcullis_pkey_fromdata(
    const char *type, int selection,
    const char *const *bn_names, const unsigned char *const *bn_values, const size_t *bn_lengths, int bn_count,
    const char *utf8_name, const char *utf8_value,
    const char *octet_name, const unsigned char *octet_value, size_t octet_length)
{
    EVP_PKEY *pkey = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    OSSL_PARAM *params = NULL;
    BIGNUM *bns[8] = {0};
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    if (bld == NULL || bn_count < 0 || bn_count > 8) goto done;
    for (int i = 0; i < bn_count; i++) {
        bns[i] = BN_bin2bn(bn_values[i], (int)bn_lengths[i], NULL);
        if (bns[i] == NULL || OSSL_PARAM_BLD_push_BN(bld, bn_names[i], bns[i]) != 1) goto done;
    }
    if (utf8_name != NULL && OSSL_PARAM_BLD_push_utf8_string(bld, utf8_name, utf8_value, 0) != 1) goto done;
    if (octet_name != NULL && OSSL_PARAM_BLD_push_octet_string(bld, octet_name, octet_value, octet_length) != 1) goto done;
    params = OSSL_PARAM_BLD_to_param(bld);
    if (params == NULL) goto done;
    ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
    if (ctx == NULL || EVP_PKEY_fromdata_init(ctx) != 1) goto done;
    if (EVP_PKEY_fromdata(ctx, &pkey, selection, params) != 1) { pkey = NULL; goto done; }
done:
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    for (int i = 0; i < 8; i++) BN_clear_free(bns[i]);
    ERR_clear_error();
    return pkey;
}

/// An RSA public key from big-endian modulus and exponent. One EVP_PKEY_CTX (whose creation,
/// a provider fetch, is most of the cost) serves every call under a mutex: key sets load off
/// the request path, and this takes 3.2 µs against 5.1 µs per key for a fresh context.
static inline EVP_PKEY *portcullis_rsa_public_key(const unsigned char *n, size_t n_length,
                                                  const unsigned char *e, size_t e_length)
{
    static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    static EVP_PKEY_CTX *ctx = NULL;
    if (n_length == 0 || n_length > 2048 || e_length == 0 || e_length > 8) return NULL;
    unsigned char n_native[2048], e_native[8];
    // OSSL_PARAM integers are native-endian.
    for (size_t i = 0; i < n_length; i++) n_native[i] = n[n_length - 1 - i];
    for (size_t i = 0; i < e_length; i++) e_native[i] = e[e_length - 1 - i];
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    memcpy(n_native, n, n_length);
    memcpy(e_native, e, e_length);
#endif
    OSSL_PARAM params[3] = {
        OSSL_PARAM_construct_BN(OSSL_PKEY_PARAM_RSA_N, n_native, n_length),
        OSSL_PARAM_construct_BN(OSSL_PKEY_PARAM_RSA_E, e_native, e_length),
        OSSL_PARAM_construct_end(),
    };
    EVP_PKEY *pkey = NULL;
    pthread_mutex_lock(&lock);
    if (ctx == NULL) {
        ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
        if (ctx != NULL && EVP_PKEY_fromdata_init(ctx) != 1) { EVP_PKEY_CTX_free(ctx); ctx = NULL; }
    }
    if (ctx != NULL && EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1) pkey = NULL;
    pthread_mutex_unlock(&lock);
    if (pkey == NULL) ERR_clear_error();
    return pkey;
}

/// An EC public key on `group` ("prime256v1", "secp384r1", "secp521r1") from an uncompressed
/// point. The group's parameters are built once per process and copied: EVP_PKEY_fromdata
/// would rebuild the group for every key (22 µs against 4.5 µs per P-256 key here).
/// Decoding the point rejects coordinates ≥ p and points off the curve. NULL on failure.
static inline EVP_PKEY *portcullis_ec_public_key(int curve_index, const char *group,
                                                 const unsigned char *point, size_t point_length)
{
    static _Atomic(EVP_PKEY *) templates[3];
    if (curve_index < 0 || curve_index > 2) return NULL;
    EVP_PKEY *template_key = atomic_load_explicit(&templates[curve_index], memory_order_acquire);
    if (template_key == NULL) {
        EVP_PKEY *fresh = NULL;
        EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
        OSSL_PARAM params[2] = {
            OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)group, 0),
            OSSL_PARAM_construct_end(),
        };
        if (ctx == NULL || EVP_PKEY_paramgen_init(ctx) != 1 || EVP_PKEY_CTX_set_params(ctx, params) != 1
            || EVP_PKEY_paramgen(ctx, &fresh) != 1) {
            EVP_PKEY_CTX_free(ctx);
            ERR_clear_error();
            return NULL;
        }
        EVP_PKEY_CTX_free(ctx);
        EVP_PKEY *expected = NULL;
        if (atomic_compare_exchange_strong(&templates[curve_index], &expected, fresh)) {
            template_key = fresh;
        } else {
            EVP_PKEY_free(fresh);
            template_key = expected;
        }
    }
    EVP_PKEY *pkey = EVP_PKEY_dup(template_key);
    if (pkey == NULL || EVP_PKEY_set1_encoded_public_key(pkey, point, point_length) != 1) {
        EVP_PKEY_free(pkey);
        ERR_clear_error();
        return NULL;
    }
    return pkey;
}

/// 1 when the private and public halves of `pkey` belong together (EC: pub = priv·G;
/// RSA: n = p·q and the CRT values agree), 0 otherwise.
static inline int portcullis_pairwise_check(EVP_PKEY *pkey)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
    if (ctx == NULL) { ERR_clear_error(); return 0; }
    int ok = EVP_PKEY_pairwise_check(ctx) == 1;
    EVP_PKEY_CTX_free(ctx);
    ERR_clear_error();
    return ok;
}

/// Writes a BIGNUM parameter of `pkey` as big-endian bytes left-padded to `length`
/// (0 = minimal length). Returns the number of bytes written, or -1.
static inline int portcullis_get_bn_param(const EVP_PKEY *pkey, const char *name, unsigned char *out, int capacity, int length)
{
    BIGNUM *bn = NULL;
    if (EVP_PKEY_get_bn_param(pkey, name, &bn) != 1) { ERR_clear_error(); return -1; }
    int n = BN_num_bytes(bn);
    int want = length > 0 ? length : n;
    int written = -1;
    if (want <= capacity && n <= want) written = BN_bn2binpad(bn, out, want);
    BN_clear_free(bn);
    return written;
}

/// Verifies `sig` over `data`. `md` may be NULL (EdDSA). `pss` selects RSASSA-PSS with
/// MGF1(md) and a salt as long as the digest (RFC 7518 §3.5).
/// Returns 1 valid, 0 invalid, -1 setup failure.
static inline int portcullis_digest_verify(EVP_PKEY *pkey, const EVP_MD *md, int pss,
                                           const unsigned char *sig, size_t sig_length,
                                           const unsigned char *data, size_t data_length)
{
    EVP_PKEY_CTX *pctx = NULL;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int rc = -1;
    if (ctx == NULL) goto done;
    if (EVP_DigestVerifyInit(ctx, &pctx, md, NULL, pkey) != 1) goto done;
    if (pss && (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1
                || EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1
                || EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, md) != 1)) goto done;
    rc = EVP_DigestVerify(ctx, sig, sig_length, data, data_length) == 1 ? 1 : 0;
done:
    EVP_MD_CTX_free(ctx);
    if (rc != 1) ERR_clear_error();
    return rc;
}

/// A verification context for `pkey` with padding and digest set up once (RSA: `pss` 0 for
/// PKCS#1 v1.5, 1 for PSS with MGF1(md) and salt = digest length; EC: ignored). Each
/// verification duplicates it (portcullis_verify_prehashed): the template itself is only read,
/// so one template serves every thread. NULL on failure.
static inline EVP_PKEY_CTX *portcullis_verify_template(EVP_PKEY *pkey, const EVP_MD *md, int pss)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
    if (ctx == NULL || EVP_PKEY_verify_init(ctx) != 1) goto fail;
    if (EVP_PKEY_get_base_id(pkey) == EVP_PKEY_RSA) {
        if (EVP_PKEY_CTX_set_rsa_padding(ctx, pss ? RSA_PKCS1_PSS_PADDING : RSA_PKCS1_PADDING) != 1) goto fail;
        if (pss && (EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, RSA_PSS_SALTLEN_DIGEST) != 1
                    || EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, md) != 1)) goto fail;
    }
    if (EVP_PKEY_CTX_set_signature_md(ctx, md) != 1) goto fail;
    return ctx;
fail:
    EVP_PKEY_CTX_free(ctx);
    ERR_clear_error();
    return NULL;
}

/// Hashes `data` with `md` and verifies `sig` over the digest with a copy of `template_ctx`.
/// About 15% faster than EVP_DigestVerifyInit + EVP_DigestVerify, which set the key up anew.
/// Returns 1 valid, 0 invalid, -1 setup failure.
static inline int portcullis_verify_prehashed(const EVP_PKEY_CTX *template_ctx, const EVP_MD *md,
                                              const unsigned char *sig, size_t sig_length,
                                              const unsigned char *data, size_t data_length)
{
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int digest_length = 0;
    if (EVP_Digest(data, data_length, digest, &digest_length, md, NULL) != 1) { ERR_clear_error(); return -1; }
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_dup(template_ctx);
    if (ctx == NULL) { ERR_clear_error(); return -1; }
    int rc = EVP_PKEY_verify(ctx, sig, sig_length, digest, digest_length) == 1 ? 1 : 0;
    EVP_PKEY_CTX_free(ctx);
    if (rc != 1) ERR_clear_error();
    return rc;
}

/// A lock-free, write-once cache of verification templates, one slot per algorithm: the
/// first verification with an algorithm builds its template; a racing thread that loses the
/// compare-and-swap frees its own copy. Loading a key set therefore builds no contexts.
static inline void *portcullis_template_cache_new(int count)
{
    return calloc((size_t)count, sizeof(_Atomic(EVP_PKEY_CTX *)));
}

static inline EVP_PKEY_CTX *portcullis_template_cache_get(void *cache, int index, EVP_PKEY *pkey,
                                                          const EVP_MD *md, int pss)
{
    _Atomic(EVP_PKEY_CTX *) *slots = cache;
    EVP_PKEY_CTX *ctx = atomic_load_explicit(&slots[index], memory_order_acquire);
    if (ctx != NULL) return ctx;
    EVP_PKEY_CTX *fresh = portcullis_verify_template(pkey, md, pss);
    if (fresh == NULL) return NULL;
    EVP_PKEY_CTX *expected = NULL;
    if (atomic_compare_exchange_strong_explicit(&slots[index], &expected, fresh,
                                                memory_order_acq_rel, memory_order_acquire)) {
        return fresh;
    }
    EVP_PKEY_CTX_free(fresh);
    return expected;
}

static inline void portcullis_template_cache_free(void *cache, int count)
{
    if (cache == NULL) return;
    _Atomic(EVP_PKEY_CTX *) *slots = cache;
    for (int i = 0; i < count; i++) EVP_PKEY_CTX_free(atomic_load(&slots[i]));
    free(cache);
}

/// SHA-256 of `data` into `out` (32 bytes), with the digest fetched once. 1 on success.
static inline int portcullis_sha256(const void *data, size_t length, unsigned char *out)
{
    static _Atomic(EVP_MD *) md;
    EVP_MD *digest = atomic_load_explicit(&md, memory_order_acquire);
    if (digest == NULL) {
        EVP_MD *fresh = EVP_MD_fetch(NULL, "SHA256", NULL);
        if (fresh == NULL) { ERR_clear_error(); return 0; }
        EVP_MD *expected = NULL;
        if (atomic_compare_exchange_strong(&md, &expected, fresh)) digest = fresh;
        else { EVP_MD_free(fresh); digest = expected; }
    }
    unsigned int out_length = 0;
    if (EVP_Digest(data, length, out, &out_length, digest, NULL) != 1) { ERR_clear_error(); return 0; }
    return out_length == 32;
}

/// Signs `data` into `sig` (capacity in *sig_length; on return, the length written).
/// Returns 1 on success, 0 on failure.
static inline int portcullis_digest_sign(EVP_PKEY *pkey, const EVP_MD *md, int pss,
                                         const unsigned char *data, size_t data_length,
                                         unsigned char *sig, size_t *sig_length)
{
    EVP_PKEY_CTX *pctx = NULL;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int rc = 0;
    if (ctx == NULL) goto done;
    if (EVP_DigestSignInit(ctx, &pctx, md, NULL, pkey) != 1) goto done;
    if (pss && (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1
                || EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1
                || EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, md) != 1)) goto done;
    rc = EVP_DigestSign(ctx, sig, sig_length, data, data_length) == 1;
done:
    EVP_MD_CTX_free(ctx);
    if (rc != 1) ERR_clear_error();
    return rc;
}

/// Generates a key: "RSA" with `bits`, "EC" with `curve` ("P-256", ...), or "ED25519".
static inline EVP_PKEY *portcullis_generate_key(const char *type, size_t bits, const char *curve)
{
    EVP_PKEY *pkey = NULL;
    if (strcmp(type, "RSA") == 0) pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", bits);
    else if (strcmp(type, "EC") == 0) pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", curve);
    else pkey = EVP_PKEY_Q_keygen(NULL, NULL, type);
    if (pkey == NULL) ERR_clear_error();
    return pkey;
}

/// Reads a private key (or, with `is_public`, a SubjectPublicKeyInfo public key) from PEM.
static inline EVP_PKEY *portcullis_read_pem(const void *pem, int length, int is_public)
{
    BIO *bio = BIO_new_mem_buf(pem, length);
    if (bio == NULL) return NULL;
    EVP_PKEY *pkey = is_public ? PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL)
                               : PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
    BIO_free(bio);
    if (pkey == NULL) ERR_clear_error();
    return pkey;
}

/// Writes `pkey` as PEM (PKCS#8 private key, or SubjectPublicKeyInfo with `is_public`)
/// into `out`. Returns the length needed; writes only when it fits `capacity`; -1 on error.
static inline long portcullis_write_pem(EVP_PKEY *pkey, int is_public, char *out, long capacity)
{
    BIO *bio = BIO_new(BIO_s_mem());
    if (bio == NULL) return -1;
    int ok = is_public ? PEM_write_bio_PUBKEY(bio, pkey)
                       : PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL);
    long length = -1;
    if (ok == 1) {
        char *data = NULL;
        length = BIO_get_mem_data(bio, &data);
        if (length <= capacity && out != NULL) memcpy(out, data, (size_t)length);
    }
    BIO_free(bio);
    ERR_clear_error();
    return length;
}

#endif
