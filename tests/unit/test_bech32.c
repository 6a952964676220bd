/* Unit tests for core/bech32.c: the BIP-350 valid bech32m strings decode and
 * re-encode, the BIP-350 invalid strings and BIP-173 (bech32, not -m) strings
 * are refused, case rules, the 8-to-5-bit regrouping with its padding rule,
 * and buffer limits. Not for: address semantics (test_keys.c). */
#include <ctype.h>
#include <stdlib.h>

#include "core/bech32.h"
#include "core/error.h"
#include "tests/unit/test.h"

/* BIP-350 test vectors: valid bech32m strings. */
static const char *const valid_bech32m[] = {
	"A1LQFN3A",
	"a1lqfn3a",
	"an83characterlonghumanreadablepartthatcontainsthetheexcludedcharactersbioandnumber11sg7hg6",
	"abcdef1l7aum6echk45nj3s0wdvt2fg8x9yrzpqzd3ryx",
	"11llllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllludsr8",
	"split1checkupstagehandshakeupstreamerranterredcaperredlc445v",
	"?1v759aa",
};

/* BIP-350 test vectors: invalid bech32m strings. */
static const char *const invalid_bech32m[] = {
	"\x20" "1xj0phk",  /* HRP character out of range */
	"\x7f" "1g6xzxy",  /* HRP character out of range */
	"\x80" "1vctc34",  /* HRP character out of range */
	"an84characterslonghumanreadablepartthatcontainsthetheexcludedcharactersbioandnumber11d6pts4",
	"qyrz8wqd2c9m",    /* no separator */
	"1qyrz8wqd2c9m",   /* empty HRP */
	"y1b0jsk6g",       /* invalid data character */
	"lt1igcx5c0",      /* invalid data character */
	"in1muywd",        /* too short checksum */
	"mm1crxm3i",       /* invalid character in checksum */
	"au1s5cgom",       /* invalid character in checksum */
	"M1VUXWEZ",        /* checksum computed over the upper-case HRP */
	"16plkw9",         /* empty HRP */
	"1p2gdwpf",        /* empty HRP */
	/* BIP-350 invalid addresses whose fault is the string itself. */
	"bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqh2y7hd",  /* bech32 checksum */
	"tb1z0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqglt7rf",  /* bech32 checksum */
	"BC1S0XLXVLHEMJA6C4DQV22UAPCTQUPFHLXM9H8Z3K2E72Q4K9HCZ7VQ54WELL",  /* bech32 checksum */
	"bc1p38j9r5y49hruaue7wxjce0updqjuyyx0kh56v8s25huc6995vvpql3jow4",  /* 'o' in checksum */
	"tb1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq47Zagq",  /* mixed case */
};

/* BIP-173 valid bech32 strings: their checksum constant is 1, not bech32m's. */
static const char *const valid_bech32[] = {
	"A12UEL5L",
	"a12uel5l",
	"an83characterlonghumanreadablepartthatcontainsthenumber1andtheexcludedcharactersbio1tt5tgs",
	"abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw",
	"11qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqc8247j",
	"split1checkupstagehandshakeupstreamerranterredcaperred2y9e3w",
	"?1ezyfcl",
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void test_valid(void)
{
	for (size_t i = 0; i < N(valid_bech32m); i++) {
		const char *s = valid_bech32m[i];
		char hrp[91], again[91], lower[91];
		uint8_t values[90];
		size_t n = 0;
		int ok = bech32m_decode5(s, hrp, sizeof(hrp), values, sizeof(values), &n) == 0;
		CHECK(ok);
		if (!ok) {
			fprintf(stderr, "  valid string refused: %s\n", s);
			continue;
		}
		CHECK(bech32m_encode5(hrp, values, n, again, sizeof(again)) == 0);
		for (size_t k = 0; k <= strlen(s); k++)
			lower[k] = (char)tolower((unsigned char)s[k]);
		CHECK(strcmp(again, lower) == 0);
		/* One changed data character breaks the checksum. */
		char bad[91];
		strcpy(bad, lower);
		char *sep = strrchr(bad, '1');
		sep[1] = sep[1] == 'q' ? 'p' : 'q';
		CHECK(bech32m_decode5(bad, hrp, sizeof(hrp), values, sizeof(values), &n) ==
		      ASSAY_EDECODE);
	}
}

static void test_invalid(void)
{
	for (size_t i = 0; i < N(invalid_bech32m); i++) {
		char hrp[91];
		uint8_t values[90];
		size_t n;
		int err = bech32m_decode5(invalid_bech32m[i], hrp, sizeof(hrp), values,
					  sizeof(values), &n);
		CHECK(err == ASSAY_EDECODE);
		if (err != ASSAY_EDECODE)
			fprintf(stderr, "  invalid string accepted: %s\n", invalid_bech32m[i]);
	}
	for (size_t i = 0; i < N(valid_bech32); i++) {
		char hrp[91];
		uint8_t values[90];
		size_t n;
		CHECK(bech32m_decode5(valid_bech32[i], hrp, sizeof(hrp), values, sizeof(values),
				      &n) == ASSAY_EDECODE);
	}
	/* Mixed case anywhere. */
	char hrp[91];
	uint8_t values[90];
	size_t n;
	CHECK(bech32m_decode5("a1LQFN3A", hrp, sizeof(hrp), values, sizeof(values), &n) ==
	      ASSAY_EDECODE);
	CHECK(bech32m_decode5("A1lqfn3a", hrp, sizeof(hrp), values, sizeof(values), &n) ==
	      ASSAY_EDECODE);
	/* 91 characters is over the limit even with a correct checksum. */
	uint8_t zeros[90] = {0};
	char text[128];
	CHECK(bech32m_encode5("a", zeros, 83, text, sizeof(text)) == ASSAY_EARG);
	CHECK(bech32m_encode5("a", zeros, 82, text, sizeof(text)) == 0);
	CHECK(strlen(text) == 90);
	CHECK(bech32m_decode5(text, hrp, sizeof(hrp), values, sizeof(values), &n) == 0 && n == 82);
	/* HRP buffer and value buffer limits. */
	CHECK(bech32m_decode5(text, hrp, 1, values, sizeof(values), &n) == ASSAY_EDECODE);
	CHECK(bech32m_decode5(text, hrp, sizeof(hrp), values, 81, &n) == ASSAY_EDECODE);
	/* Encoder refusals: value over 31, upper-case HRP, output too small. */
	uint8_t big = 32;
	CHECK(bech32m_encode5("a", &big, 1, text, sizeof(text)) == ASSAY_EARG);
	CHECK(bech32m_encode5("A", zeros, 1, text, sizeof(text)) == ASSAY_EARG);
	CHECK(bech32m_encode5("a", zeros, 1, text, 9) == ASSAY_EARG);
	CHECK(bech32m_encode5("a", zeros, 1, text, 10) == 0);
}

static void test_bytes_round_trip(void)
{
	uint8_t data[50], back[50];
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 37 + 11);
	for (size_t len = 0; len <= 50; len++) {
		char text[128], hrp[16];
		size_t n = 999;
		int err = bech32m_encode("assay", data, len, text, sizeof(text));
		size_t chars = 5 + 1 + (len * 8 + 4) / 5 + 6;
		if (chars > 90) {
			CHECK(err == ASSAY_EARG);
			continue;
		}
		CHECK(err == 0);
		CHECK(strlen(text) == chars);
		CHECK(bech32m_decode(text, hrp, sizeof(hrp), back, sizeof(back), &n) == 0);
		CHECK(n == len && strcmp(hrp, "assay") == 0);
		CHECK(memcmp(back, data, len) == 0);
		/* A data buffer one byte short is refused. */
		if (len)
			CHECK(bech32m_decode(text, hrp, sizeof(hrp), back, len - 1, &n) ==
			      ASSAY_EDECODE);
	}
}

static void test_padding(void)
{
	/* One byte = 8 bits = two 5-bit groups with 2 padding bits, which must be
	 * zero; three groups would leave 7 padding bits (a whole byte too many). */
	char text[64], hrp[16];
	uint8_t back[4];
	size_t n;
	uint8_t ok[2] = {0x1f, 0x1c}, pad_set[2] = {0x1f, 0x1d}, too_many[3] = {0x1f, 0x1c, 0};
	CHECK(bech32m_encode5("x", ok, 2, text, sizeof(text)) == 0);
	CHECK(bech32m_decode(text, hrp, sizeof(hrp), back, sizeof(back), &n) == 0);
	CHECK(n == 1 && back[0] == 0xff);
	CHECK(bech32m_encode5("x", pad_set, 2, text, sizeof(text)) == 0);
	CHECK(bech32m_decode(text, hrp, sizeof(hrp), back, sizeof(back), &n) == ASSAY_EDECODE);
	CHECK(bech32m_encode5("x", too_many, 3, text, sizeof(text)) == 0);
	CHECK(bech32m_decode(text, hrp, sizeof(hrp), back, sizeof(back), &n) == ASSAY_EDECODE);
}

int main(void)
{
	RUN(test_valid);
	RUN(test_invalid);
	RUN(test_bytes_round_trip);
	RUN(test_padding);
	return test_report("test_bech32");
}
