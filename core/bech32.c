/* Bech32m (BIP-350): the BIP-173 checksum with constant 0x2bc830a3. */
#include <ctype.h>
#include <string.h>

#include "core/bech32.h"
#include "core/error.h"

#define BECH32M_CONST 0x2bc830a3u
#define BECH32_MAX_LEN 90

static const char charset[] = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";

/* All ones if bit i of b is set, else zero: unsigned, so the negation wraps
 * by definition instead of going through a negative int. */
static uint32_t bit_mask(uint8_t b, int i)
{
	return 0u - (uint32_t)((b >> i) & 1u);
}

static uint32_t polymod_step(uint32_t pre)
{
	uint8_t b = (uint8_t)(pre >> 25);
	return ((pre & 0x1ffffff) << 5) ^ (bit_mask(b, 0) & 0x3b6a57b2u) ^ (bit_mask(b, 1) & 0x26508e6du) ^
	       (bit_mask(b, 2) & 0x1ea119fau) ^ (bit_mask(b, 3) & 0x3d4233ddu) ^ (bit_mask(b, 4) & 0x2a1462b3u);
}

static uint32_t hrp_polymod(const char *hrp)
{
	uint32_t chk = 1;
	for (const char *p = hrp; *p; p++)
		chk = polymod_step(chk) ^ ((uint8_t)*p >> 5);
	chk = polymod_step(chk);
	for (const char *p = hrp; *p; p++)
		chk = polymod_step(chk) ^ ((uint8_t)*p & 0x1f);
	return chk;
}

int bech32m_encode5(const char *hrp, const uint8_t *values, size_t n, char *out, size_t outcap)
{
	size_t hl = strlen(hrp);
	if (hl < 1 || hl + 1 + n + 6 > BECH32_MAX_LEN || hl + 1 + n + 6 + 1 > outcap)
		return ASSAY_EARG;
	uint32_t chk = hrp_polymod(hrp);
	char *o = out;
	for (size_t i = 0; i < hl; i++) {
		char c = hrp[i];
		if (c < 33 || c > 126 || (c >= 'A' && c <= 'Z'))
			return ASSAY_EARG;
		*o++ = c;
	}
	*o++ = '1';
	for (size_t i = 0; i < n; i++) {
		if (values[i] >> 5)
			return ASSAY_EARG;
		chk = polymod_step(chk) ^ values[i];
		*o++ = charset[values[i]];
	}
	for (int i = 0; i < 6; i++)
		chk = polymod_step(chk);
	chk ^= BECH32M_CONST;
	for (int i = 0; i < 6; i++)
		*o++ = charset[(chk >> ((5 - i) * 5)) & 0x1f];
	*o = 0;
	return 0;
}

int bech32m_decode5(const char *text, char *hrp, size_t hrpcap, uint8_t *values, size_t cap,
		    size_t *n)
{
	size_t len = strlen(text);
	int lower = 0, upper = 0;
	if (len < 8 || len > BECH32_MAX_LEN)
		return ASSAY_EDECODE;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)text[i];
		if (c < 33 || c > 126)
			return ASSAY_EDECODE;
		lower |= islower(c) != 0;
		upper |= isupper(c) != 0;
	}
	if (lower && upper)
		return ASSAY_EDECODE;
	const char *sep = strrchr(text, '1');
	if (!sep || sep == text || (size_t)(text + len - sep - 1) < 6)
		return ASSAY_EDECODE;
	size_t hl = (size_t)(sep - text);
	if (hl + 1 > hrpcap)
		return ASSAY_EDECODE;
	for (size_t i = 0; i < hl; i++)
		hrp[i] = (char)tolower((unsigned char)text[i]);
	hrp[hl] = 0;
	uint32_t chk = hrp_polymod(hrp);
	size_t dl = len - hl - 1;
	if (dl - 6 > cap)
		return ASSAY_EDECODE;
	for (size_t i = 0; i < dl; i++) {
		const char *pos = strchr(charset, tolower((unsigned char)sep[1 + i]));
		if (!pos || !*pos)
			return ASSAY_EDECODE;
		uint8_t v = (uint8_t)(pos - charset);
		chk = polymod_step(chk) ^ v;
		if (i < dl - 6)
			values[i] = v;
	}
	if (chk != BECH32M_CONST)
		return ASSAY_EDECODE;
	*n = dl - 6;
	return 0;
}

int bech32m_encode(const char *hrp, const uint8_t *data, size_t n, char *out, size_t outcap)
{
	uint8_t values[BECH32_MAX_LEN];
	size_t nv = 0;
	uint32_t acc = 0;
	int bits = 0;
	if (n * 8 / 5 + 1 > sizeof(values))
		return ASSAY_EARG;
	for (size_t i = 0; i < n; i++) {
		acc = (acc << 8) | data[i];
		bits += 8;
		while (bits >= 5) {
			bits -= 5;
			values[nv++] = (acc >> bits) & 0x1f;
		}
	}
	if (bits)
		values[nv++] = (acc << (5 - bits)) & 0x1f;
	return bech32m_encode5(hrp, values, nv, out, outcap);
}

int bech32m_decode(const char *text, char *hrp, size_t hrpcap, uint8_t *data, size_t datacap,
		   size_t *n)
{
	uint8_t values[BECH32_MAX_LEN];
	size_t nv;
	if (bech32m_decode5(text, hrp, hrpcap, values, sizeof(values), &nv) < 0)
		return ASSAY_EDECODE;
	uint32_t acc = 0;
	int bits = 0;
	size_t out = 0;
	for (size_t i = 0; i < nv; i++) {
		acc = (acc << 5) | values[i];
		bits += 5;
		if (bits >= 8) {
			bits -= 8;
			if (out >= datacap)
				return ASSAY_EDECODE;
			data[out++] = (uint8_t)(acc >> bits);
		}
	}
	/* Leftover must be fewer than 5 bits and all zero. */
	if (bits >= 5 || (acc & ((1u << bits) - 1)))
		return ASSAY_EDECODE;
	*n = out;
	return 0;
}
