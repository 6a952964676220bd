/* ECVRF-EDWARDS25519-SHA512-TAI (RFC 9381, suite 0x03) on libsodium's ed25519
 * group operations: the beacon's verifiable randomness (docs/protocol.md §4.4).
 * Verification accepts exactly the proofs RFC 9381 §5.3 accepts, including
 * keys and Gammas with a torsion component (see point_mul). Not for: Ed25519
 * signatures (keys.c) or any randomness a node may choose freely. */
#include <string.h>

#include <sodium.h>

#include "core/error.h"
#include "core/vrf.h"

#define SUITE 0x03         /* RFC 9381 §5.5: ECVRF-EDWARDS25519-SHA512-TAI */
#define PT_LEN 32          /* ptLen: an encoded point */
#define Q_LEN 32           /* qLen: an encoded scalar */
#define C_LEN 16           /* cLen: the challenge */
#define TAI_MAX_CTR 256    /* ctr is one octet (§5.4.1.1) */

/* Domain separators of RFC 9381 §5.4.1.1, §5.4.3 and §5.2. */
#define DS_ENCODE 0x01
#define DS_CHALLENGE 0x02
#define DS_PROOF_TO_HASH 0x03
#define DS_BACK 0x00

/* The identity (0, 1) as an encoded point. */
static const uint8_t identity[PT_LEN] = {1};

/* The group order L = 2^252 + 27742317777372353535851937790883648493, LE. */
static const uint8_t group_order[Q_LEN] = {
	0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7,
	0xa2, 0xde, 0xf9, 0xde, 0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0x10,
};

static int is_identity(const uint8_t p[PT_LEN])
{
	return memcmp(p, identity, PT_LEN) == 0;
}

/* RFC 8032 §5.1.3 decoding, which RFC 9381's string_to_point names: y must
 * be below p = 2^255 - 19, x = 0 must come with sign bit 0, and the point
 * must lie on the curve. libsodium's decoder is laxer on the first two, so
 * they are checked on the bytes (x = 0 exactly when y = 1 or y = p - 1).
 * Any subgroup is accepted; the checks that matter are the callers'. */
static int point_decode(const uint8_t s[PT_LEN])
{
	int top_ones = (s[31] & 0x7f) == 0x7f;
	for (int i = 1; i < 31 && top_ones; i++)
		top_ones = s[i] == 0xff;
	if (top_ones && s[0] >= 0xed)
		return -1; /* y >= p */
	if (s[31] & 0x80) {
		static const uint8_t y_one[PT_LEN] = {1};
		uint8_t y[PT_LEN];
		memcpy(y, s, PT_LEN);
		y[31] &= 0x7f;
		int y_minus_one = y[0] == 0xec && y[31] == 0x7f;
		for (int i = 1; i < 31 && y_minus_one; i++)
			y_minus_one = y[i] == 0xff;
		if (y_minus_one || memcmp(y, y_one, PT_LEN) == 0)
			return -1; /* x = 0 with sign bit set */
	}
	/* crypto_core_ed25519_add decodes any curve point and refuses others. */
	uint8_t sum[PT_LEN];
	return crypto_core_ed25519_add(sum, s, identity) == 0 ? 0 : -1;
}

/* out = 8 * p by three doublings; p is any decoded curve point. */
static void clear_cofactor(uint8_t out[PT_LEN], const uint8_t p[PT_LEN])
{
	uint8_t t[PT_LEN];
	memcpy(t, p, PT_LEN);
	for (int i = 0; i < 3; i++)
		crypto_core_ed25519_add(t, t, t);
	memcpy(out, t, PT_LEN);
}

/* out = k * p for p in the prime-order subgroup (or the identity) and k a
 * reduced scalar; libsodium refuses a zero product, which is the identity. */
static void subgroup_mul(uint8_t out[PT_LEN], const uint8_t k[Q_LEN], const uint8_t p[PT_LEN])
{
	if (is_identity(p) || crypto_scalarmult_ed25519_noclamp(out, k, p) != 0)
		memcpy(out, identity, PT_LEN);
}

static void base_mul(uint8_t out[PT_LEN], const uint8_t k[Q_LEN])
{
	if (crypto_scalarmult_ed25519_base_noclamp(out, k) != 0)
		memcpy(out, identity, PT_LEN);
}

/* out = k * p for any curve point p, which RFC 9381 verification requires
 * for Y and Gamma (either may carry a torsion component). libsodium only
 * multiplies points of the prime-order subgroup, so with k = 8q + r:
 * k*p = q*(8p) + r*p, where 8p is in the subgroup and r*p takes at most
 * seven additions, which accept any curve point. */
static void point_mul(uint8_t out[PT_LEN], const uint8_t k[Q_LEN], const uint8_t p[PT_LEN])
{
	uint8_t p8[PT_LEN], q[Q_LEN], acc[PT_LEN];
	for (int i = 0; i < Q_LEN - 1; i++)
		q[i] = (uint8_t)(k[i] >> 3 | k[i + 1] << 5);
	q[Q_LEN - 1] = k[Q_LEN - 1] >> 3;
	clear_cofactor(p8, p);
	subgroup_mul(out, q, p8);
	memcpy(acc, identity, PT_LEN);
	for (unsigned i = 0; i < (unsigned)(k[0] & 7); i++)
		crypto_core_ed25519_add(acc, acc, p);
	crypto_core_ed25519_add(out, out, acc);
}

/* RFC 9381 §5.4.1.1 with encode_to_curve_salt = PK_string. 0, or -1 if no
 * ctr in 0..255 gives a point (probability about 2^-256). */
static int encode_to_curve(uint8_t h[PT_LEN], const uint8_t pk[PT_LEN], const void *alpha,
			   size_t n)
{
	for (unsigned ctr = 0; ctr < TAI_MAX_CTR; ctr++) {
		const uint8_t front[2] = {SUITE, DS_ENCODE};
		const uint8_t back[2] = {(uint8_t)ctr, DS_BACK};
		uint8_t digest[crypto_hash_sha512_BYTES];
		crypto_hash_sha512_state st;
		crypto_hash_sha512_init(&st);
		crypto_hash_sha512_update(&st, front, sizeof(front));
		crypto_hash_sha512_update(&st, pk, PT_LEN);
		crypto_hash_sha512_update(&st, alpha, n);
		crypto_hash_sha512_update(&st, back, sizeof(back));
		crypto_hash_sha512_final(&st, digest);
		if (point_decode(digest) != 0)
			continue;
		clear_cofactor(h, digest);
		if (!is_identity(h))
			return 0;
	}
	return -1;
}

/* RFC 9381 §5.4.3: the first cLen octets of the hash of the five points. */
static void challenge(uint8_t c[Q_LEN], const uint8_t *y, const uint8_t *h, const uint8_t *gamma,
		      const uint8_t *u, const uint8_t *v)
{
	const uint8_t front[2] = {SUITE, DS_CHALLENGE}, back = DS_BACK;
	const uint8_t *points[5] = {y, h, gamma, u, v};
	uint8_t digest[crypto_hash_sha512_BYTES];
	crypto_hash_sha512_state st;
	crypto_hash_sha512_init(&st);
	crypto_hash_sha512_update(&st, front, sizeof(front));
	for (int i = 0; i < 5; i++)
		crypto_hash_sha512_update(&st, points[i], PT_LEN);
	crypto_hash_sha512_update(&st, &back, 1);
	crypto_hash_sha512_final(&st, digest);
	memset(c, 0, Q_LEN);
	memcpy(c, digest, C_LEN);
}

/* Little-endian a < b for 32-byte integers (public values only). */
static int scalar_less(const uint8_t a[Q_LEN], const uint8_t b[Q_LEN])
{
	for (int i = Q_LEN - 1; i >= 0; i--)
		if (a[i] != b[i])
			return a[i] < b[i];
	return 0;
}

/* RFC 9381 §5.4.4 decode_proof: Gamma a curve point, s below L. */
static int decode_proof(const uint8_t proof[VRF_PROOF_LEN], uint8_t c[Q_LEN], uint8_t s[Q_LEN])
{
	if (point_decode(proof) != 0)
		return -1;
	memset(c, 0, Q_LEN);
	memcpy(c, proof + PT_LEN, C_LEN);
	memcpy(s, proof + PT_LEN + C_LEN, Q_LEN);
	return scalar_less(s, group_order) ? 0 : -1;
}

/* RFC 9381 §5.2 given a decoded Gamma. */
static void gamma_to_hash(const uint8_t gamma[PT_LEN], uint8_t beta[VRF_OUTPUT_LEN])
{
	const uint8_t front[2] = {SUITE, DS_PROOF_TO_HASH}, back = DS_BACK;
	uint8_t g8[PT_LEN];
	clear_cofactor(g8, gamma);
	crypto_hash_sha512_state st;
	crypto_hash_sha512_init(&st);
	crypto_hash_sha512_update(&st, front, sizeof(front));
	crypto_hash_sha512_update(&st, g8, PT_LEN);
	crypto_hash_sha512_update(&st, &back, 1);
	crypto_hash_sha512_final(&st, beta);
}

int vrf_prove(const uint8_t sk[64], const void *alpha, size_t n, uint8_t proof[VRF_PROOF_LEN])
{
	/* RFC 9381 §5.1 with the RFC 8032 key expansion of §5.4.2.2: the seed's
	 * SHA-512 gives the clamped secret scalar x (first half) and the nonce
	 * key (second half). */
	uint8_t expanded[crypto_hash_sha512_BYTES], wide[64], x[Q_LEN], k[Q_LEN];
	uint8_t y[PT_LEN], h[PT_LEN], gamma[PT_LEN], u[PT_LEN], v[PT_LEN], c[Q_LEN], s[Q_LEN];
	int err = ASSAY_EINVALID;

	crypto_hash_sha512(expanded, sk, 32);
	expanded[0] &= 248;
	expanded[31] &= 127;
	expanded[31] |= 64;
	memset(wide, 0, sizeof(wide));
	memcpy(wide, expanded, 32);
	crypto_core_ed25519_scalar_reduce(x, wide);
	base_mul(y, x);
	/* The stored public key must be this seed's, or proofs would not verify. */
	if (memcmp(y, sk + 32, PT_LEN) != 0 || encode_to_curve(h, y, alpha, n) != 0)
		goto out;

	crypto_hash_sha512_state st;
	crypto_hash_sha512_init(&st);
	crypto_hash_sha512_update(&st, expanded + 32, 32);
	crypto_hash_sha512_update(&st, h, PT_LEN);
	crypto_hash_sha512_final(&st, wide);
	crypto_core_ed25519_scalar_reduce(k, wide);

	subgroup_mul(gamma, x, h);
	base_mul(u, k);
	subgroup_mul(v, k, h);
	challenge(c, y, h, gamma, u, v);
	crypto_core_ed25519_scalar_mul(s, c, x);
	crypto_core_ed25519_scalar_add(s, s, k);

	memcpy(proof, gamma, PT_LEN);
	memcpy(proof + PT_LEN, c, C_LEN);
	memcpy(proof + PT_LEN + C_LEN, s, Q_LEN);
	err = 0;
out:
	sodium_memzero(expanded, sizeof(expanded));
	sodium_memzero(wide, sizeof(wide));
	sodium_memzero(x, sizeof(x));
	sodium_memzero(k, sizeof(k));
	return err;
}

int vrf_verify(const uint8_t pk[32], const void *alpha, size_t n,
	       const uint8_t proof[VRF_PROOF_LEN], uint8_t beta[VRF_OUTPUT_LEN])
{
	/* RFC 9381 §5.3 with validate_key = TRUE (§5.4.5). */
	uint8_t y8[PT_LEN], h[PT_LEN], c[Q_LEN], s[Q_LEN], c2[Q_LEN];
	uint8_t sb[PT_LEN], cy[PT_LEN], u[PT_LEN], sh[PT_LEN], cg[PT_LEN], v[PT_LEN];

	if (point_decode(pk) != 0)
		return ASSAY_ESIG;
	clear_cofactor(y8, pk);
	if (is_identity(y8))
		return ASSAY_ESIG; /* small-order key: anyone could prove anything */
	if (decode_proof(proof, c, s) != 0 || encode_to_curve(h, pk, alpha, n) != 0)
		return ASSAY_ESIG;
	/* U = s*B - c*Y, V = s*H - c*Gamma */
	base_mul(sb, s);
	point_mul(cy, c, pk);
	crypto_core_ed25519_sub(u, sb, cy);
	subgroup_mul(sh, s, h);
	point_mul(cg, c, proof);
	crypto_core_ed25519_sub(v, sh, cg);
	challenge(c2, pk, h, proof, u, v);
	if (sodium_memcmp(c, c2, C_LEN) != 0)
		return ASSAY_ESIG;
	gamma_to_hash(proof, beta);
	return 0;
}

int vrf_proof_to_hash(const uint8_t proof[VRF_PROOF_LEN], uint8_t beta[VRF_OUTPUT_LEN])
{
	uint8_t c[Q_LEN], s[Q_LEN];
	if (decode_proof(proof, c, s) != 0)
		return ASSAY_ESIG;
	gamma_to_hash(proof, beta);
	return 0;
}
