/* Unit tests for core/buf.c: the canonical encoding every consensus decoder
 * is built from. Minimal LEB128 only, the 10-byte varint limit, truncation,
 * trailing bytes, length limits, sticky errors, little-endian layout, hex.
 * Not for: the codecs built on top (test_tx.c, test_block.c). */
#include <stdint.h>
#include <stdlib.h>

#include "core/buf.h"
#include "core/error.h"
#include "tests/unit/test.h"

/* Decodes one varint from bytes; returns the reader's final status. */
static int read_varint(const uint8_t *p, size_t n, uint64_t *v)
{
	struct reader r;
	rd_init(&r, p, n);
	*v = rd_varint(&r);
	return rd_finish(&r);
}

static void test_varint_round_trip(void)
{
	static const struct {
		uint64_t v;
		size_t len;
	} cases[] = {
		{0, 1}, {1, 1}, {127, 1}, {128, 2}, {300, 2}, {16383, 2}, {16384, 3},
		{UINT32_MAX, 5}, {(uint64_t)1 << 56, 9}, {((uint64_t)1 << 63) - 1, 9},
		{(uint64_t)1 << 63, 10}, {UINT64_MAX, 10},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct buf b;
		uint64_t v = 0;
		buf_init(&b);
		buf_put_varint(&b, cases[i].v);
		CHECK(b.len == cases[i].len);
		CHECK(read_varint(b.data, b.len, &v) == 0);
		CHECK(v == cases[i].v);
		buf_free(&b);
	}
	/* Known encodings: 300 = ac 02; UINT64_MAX = ff*9 01. */
	struct buf b;
	buf_init(&b);
	buf_put_varint(&b, 300);
	CHECK(b.len == 2 && b.data[0] == 0xac && b.data[1] == 0x02);
	buf_reset(&b);
	buf_put_varint(&b, UINT64_MAX);
	CHECK(b.len == 10 && b.data[9] == 0x01);
	for (int i = 0; i < 9; i++)
		CHECK(b.data[i] == 0xff);
	buf_free(&b);
}

static void test_varint_rejects(void)
{
	uint64_t v;
	/* Non-minimal forms of 0, 1 and 127. */
	static const uint8_t zero2[] = {0x80, 0x00}, one2[] = {0x81, 0x00};
	static const uint8_t big_nonmin[] = {0xff, 0x80, 0x80, 0x00};
	CHECK(read_varint(zero2, sizeof(zero2), &v) == ASSAY_EDECODE);
	CHECK(read_varint(one2, sizeof(one2), &v) == ASSAY_EDECODE);
	CHECK(read_varint(big_nonmin, sizeof(big_nonmin), &v) == ASSAY_EDECODE);
	/* The tenth byte may only carry the single top bit. */
	uint8_t ten[10];
	memset(ten, 0xff, 9);
	ten[9] = 0x02;
	CHECK(read_varint(ten, 10, &v) == ASSAY_EDECODE);
	ten[9] = 0x81; /* continuation past ten bytes */
	CHECK(read_varint(ten, 10, &v) == ASSAY_EDECODE);
	uint8_t eleven[11];
	memset(eleven, 0xff, 10);
	eleven[10] = 0x01;
	CHECK(read_varint(eleven, 11, &v) == ASSAY_EDECODE);
	/* Truncated: continuation bit on the last byte, and empty input. */
	static const uint8_t cont[] = {0x80};
	CHECK(read_varint(cont, 1, &v) == ASSAY_EDECODE);
	CHECK(read_varint(cont, 0, &v) == ASSAY_EDECODE);
	/* Trailing byte after a complete varint. */
	static const uint8_t trailing[] = {0x05, 0x00};
	CHECK(read_varint(trailing, 2, &v) == ASSAY_EDECODE);
	/* A plain zero byte is the minimal zero. */
	static const uint8_t z[] = {0x00};
	CHECK(read_varint(z, 1, &v) == 0 && v == 0);
}

static void test_fixed_width(void)
{
	struct buf b;
	buf_init(&b);
	buf_put_u8(&b, 0xab);
	buf_put_u16(&b, 0x0102);
	buf_put_u32(&b, 0x01020304);
	buf_put_u64(&b, 0x0102030405060708ull);
	static const uint8_t want[] = {0xab, 0x02, 0x01, 0x04, 0x03, 0x02, 0x01, 0x08, 0x07,
				       0x06, 0x05, 0x04, 0x03, 0x02, 0x01};
	CHECK(b.len == sizeof(want));
	CHECK_EQ_MEM(b.data, want, sizeof(want));
	struct reader r;
	rd_init(&r, b.data, b.len);
	CHECK(rd_u8(&r) == 0xab);
	CHECK(rd_u16(&r) == 0x0102);
	CHECK(rd_u32(&r) == 0x01020304);
	CHECK(rd_u64(&r) == 0x0102030405060708ull);
	CHECK(rd_finish(&r) == 0);
	/* Every truncation of the input fails, and the error is sticky. */
	for (size_t n = 0; n < b.len; n++) {
		rd_init(&r, b.data, n);
		rd_u8(&r);
		rd_u16(&r);
		rd_u32(&r);
		uint64_t last = rd_u64(&r);
		CHECK(last == 0);
		CHECK(rd_finish(&r) == ASSAY_EDECODE);
	}
	/* After an error, later reads give zeros and NULL even if bytes remain. */
	static const uint8_t three[] = {1, 2, 3};
	rd_init(&r, three, 3);
	CHECK(rd_u32(&r) == 0);
	CHECK(rd_u8(&r) == 0);
	CHECK(rd_fixed(&r, 1) == NULL);
	uint8_t out[2] = {9, 9};
	rd_copy(&r, out, 2);
	CHECK(out[0] == 0 && out[1] == 0);
	CHECK(r.err == ASSAY_EDECODE);
	/* Trailing bytes: a read that stops early does not finish. */
	rd_init(&r, three, 3);
	rd_u16(&r);
	CHECK(rd_left(&r) == 1);
	CHECK(rd_finish(&r) == ASSAY_EDECODE);
	buf_free(&b);
}

static void test_bytes_and_count(void)
{
	struct buf b;
	struct reader r;
	size_t n;
	uint8_t payload[200];
	for (size_t i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)i;
	buf_init(&b);
	buf_put_bytes(&b, payload, sizeof(payload));
	CHECK(b.len == 2 + sizeof(payload));
	/* Exactly at the limit: accepted, pointer into the input. */
	rd_init(&r, b.data, b.len);
	const uint8_t *p = rd_bytes(&r, &n, sizeof(payload));
	CHECK(p == b.data + 2 && n == sizeof(payload));
	CHECK(rd_finish(&r) == 0);
	/* One over the limit: ELIMIT, before looking at the bytes. */
	rd_init(&r, b.data, b.len);
	CHECK(rd_bytes(&r, &n, sizeof(payload) - 1) == NULL && n == 0);
	CHECK(r.err == ASSAY_ELIMIT);
	/* Length larger than the input: EDECODE. */
	rd_init(&r, b.data, b.len - 1);
	CHECK(rd_bytes(&r, &n, 1000) == NULL);
	CHECK(r.err == ASSAY_EDECODE);
	/* Empty byte string. */
	buf_reset(&b);
	buf_put_bytes(&b, NULL, 0);
	CHECK(b.len == 1 && b.data[0] == 0);
	rd_init(&r, b.data, b.len);
	rd_bytes(&r, &n, 0);
	CHECK(n == 0 && rd_finish(&r) == 0);
	/* rd_count */
	buf_reset(&b);
	buf_put_varint(&b, 1000);
	rd_init(&r, b.data, b.len);
	CHECK(rd_count(&r, 1000) == 1000 && r.err == 0);
	rd_init(&r, b.data, b.len);
	CHECK(rd_count(&r, 999) == 0 && r.err == ASSAY_ELIMIT);
	buf_free(&b);
}

static void test_buf_growth_and_take(void)
{
	struct buf b;
	buf_init(&b);
	for (int i = 0; i < 10000; i++)
		buf_put_u8(&b, (uint8_t)i);
	CHECK(b.len == 10000 && !b.oom);
	int ok = 1;
	for (int i = 0; i < 10000; i++)
		ok &= b.data[i] == (uint8_t)i;
	CHECK(ok);
	size_t len;
	uint8_t *taken = buf_take(&b, &len);
	CHECK(len == 10000 && taken && taken[9999] == (uint8_t)9999);
	CHECK(b.data == NULL && b.len == 0);
	free(taken);
	buf_free(&b);
}

static void test_hex(void)
{
	static const uint8_t bytes[] = {0x00, 0x01, 0xab, 0xff};
	char text[9];
	uint8_t back[4];
	hex_encode(bytes, 4, text);
	CHECK(strcmp(text, "0001abff") == 0);
	CHECK(hex_decode("0001ABff", back, 4) == 4);
	CHECK_EQ_MEM(back, bytes, 4);
	CHECK(hex_decode("abc", back, 4) == -1);      /* odd length */
	CHECK(hex_decode("zz", back, 4) == -1);       /* not hex */
	CHECK(hex_decode("0001abff00", back, 4) == -1); /* too long for out */
	CHECK(hex_decode("", back, 4) == 0);
}

/* The digit a character stands for, written out case by case: what the
 * table-driven decoder must agree with. */
static int reference_hex_digit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Every pair of byte values, as either digit of a byte and at either end of
 * a longer text: decoded to the same byte, or refused, as the reference
 * says; a NUL inside a counted text is refused, and lengths are checked
 * before any digit. */
static void test_hex_every_character(void)
{
	for (int a = 0; a < 256; a++)
		for (int b = 0; b < 256; b++) {
			char text[8] = {'4', '2', (char)a, (char)b, '0', 'f', 'A', 'b'};
			uint8_t out[4];
			int ha = reference_hex_digit(a), hb = reference_hex_digit(b);
			long want = ha >= 0 && hb >= 0 ? 4 : -1;
			long got = hex_decode_n(text, 8, out, 4);
			CHECK(got == want);
			if (got == 4)
				CHECK(out[0] == 0x42 && out[1] == (uint8_t)(ha << 4 | hb) && out[2] == 0x0f && out[3] == 0xab);
			char tail[2] = {(char)a, (char)b};
			CHECK(hex_decode_n(tail, 2, out, 1) == (ha >= 0 && hb >= 0 ? 1 : -1));
		}
	uint8_t out[4];
	CHECK(hex_decode_n("ab\0cd", 4, out, 4) == -1); /* a NUL within the count */
	CHECK(hex_decode_n("abcd", 4, out, 1) == -1);   /* more than max */
	CHECK(hex_decode_n("abc", 3, out, 4) == -1);    /* odd */
	CHECK(hex_decode_n("zzzz", 4, out, 1) == -1);   /* too long wins over not hex */
	CHECK(hex_decode_n(NULL, 0, out, 0) == 0);
	CHECK(hex_decode("ab\0cd", out, 4) == 1 && out[0] == 0xab); /* hex_decode stops at the NUL */
}

/* A failed read keeps where it failed and in which field, for the message. */
static void expect_description(const struct reader *r, const char *want)
{
	char got[160];
	rd_describe(r, got, sizeof(got));
	if (strcmp(got, want) != 0)
		fprintf(stderr, "described \"%s\", want \"%s\"\n", got, want);
	CHECK(strcmp(got, want) == 0);
}

static void test_reader_reports_offsets(void)
{
	static const uint8_t in[] = {1, 2, 3, 0x80, 0x00, 9};
	struct reader r;
	rd_init(&r, in, sizeof(in));
	expect_description(&r, "trailing bytes at offset 0");
	rd_field(&r, "flags");
	rd_fixed(&r, 3);
	rd_field(&r, "length");
	rd_varint(&r);
	CHECK(r.err == ASSAY_EDECODE);
	expect_description(&r, "non-minimal varint at offset 3 (length)");
	rd_field(&r, "later");
	rd_u64(&r); /* the first error stays */
	expect_description(&r, "non-minimal varint at offset 3 (length)");

	rd_init(&r, in, sizeof(in));
	rd_fixed(&r, 4);
	rd_u32(&r);
	expect_description(&r, "truncated at offset 4");
	rd_init(&r, in, 3);
	rd_fixed(&r, 3);
	CHECK(rd_describe(&r, (char[16]){0}, 16) == 0);
	expect_description(&r, "no error");
	rd_init(&r, in, sizeof(in));
	rd_fixed(&r, 5);
	expect_description(&r, "trailing bytes at offset 5");
	rd_init(&r, in, sizeof(in));
	rd_count(&r, 0);
	expect_description(&r, "length or count over its limit at offset 0");
	rd_init(&r, in, sizeof(in));
	rd_fixed(&r, 2);
	r.err = ASSAY_EDECODE; /* set directly by a decoder: the reader's position */
	expect_description(&r, "malformed or non-canonical encoding at offset 2");
}

int main(void)
{
	RUN(test_varint_round_trip);
	RUN(test_varint_rejects);
	RUN(test_fixed_width);
	RUN(test_bytes_and_count);
	RUN(test_buf_growth_and_take);
	RUN(test_hex);
	RUN(test_hex_every_character);
	RUN(test_reader_reports_offsets);
	return test_report("test_buf");
}
