/* Canonical encoding primitives (see buf.h). Every consensus decoder in the
 * project is built from the rd_* functions, so their strictness here is what
 * makes every object round-trip bit for bit. */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/error.h"

void buf_init(struct buf *b)
{
	memset(b, 0, sizeof(*b));
}

void buf_free(struct buf *b)
{
	free(b->data);
	buf_init(b);
}

void buf_reset(struct buf *b)
{
	b->len = 0;
	b->oom = 0;
}

uint8_t *buf_take(struct buf *b, size_t *len)
{
	uint8_t *p = b->data;
	if (len)
		*len = b->len;
	buf_init(b);
	return p;
}

static int buf_reserve(struct buf *b, size_t n)
{
	if (b->oom)
		return -1;
	if (b->cap - b->len >= n)
		return 0;
	size_t want = b->cap ? b->cap : 64;
	while (want - b->len < n) {
		if (want > SIZE_MAX / 2) {
			b->oom = 1;
			return -1;
		}
		want *= 2;
	}
	uint8_t *p = realloc(b->data, want);
	if (!p) {
		b->oom = 1;
		return -1;
	}
	b->data = p;
	b->cap = want;
	return 0;
}

void buf_put(struct buf *b, const void *p, size_t n)
{
	if (n == 0 || buf_reserve(b, n) < 0)
		return;
	memcpy(b->data + b->len, p, n);
	b->len += n;
}

void buf_put_u8(struct buf *b, uint8_t v)
{
	buf_put(b, &v, 1);
}

void buf_put_u16(struct buf *b, uint16_t v)
{
	uint8_t t[2] = {(uint8_t)v, (uint8_t)(v >> 8)};
	buf_put(b, t, 2);
}

void buf_put_u32(struct buf *b, uint32_t v)
{
	uint8_t t[4];
	le32_put(t, v);
	buf_put(b, t, 4);
}

void buf_put_u64(struct buf *b, uint64_t v)
{
	uint8_t t[8];
	le64_put(t, v);
	buf_put(b, t, 8);
}

size_t buf_varint_len(uint64_t v)
{
	size_t n = 1;
	while (v >>= 7)
		n++;
	return n;
}

void buf_put_varint(struct buf *b, uint64_t v)
{
	uint8_t t[10];
	size_t n = 0;
	do {
		uint8_t byte = v & 0x7f;
		v >>= 7;
		t[n++] = byte | (v ? 0x80 : 0);
	} while (v);
	buf_put(b, t, n);
}

void buf_put_bytes(struct buf *b, const void *p, size_t n)
{
	buf_put_varint(b, n);
	buf_put(b, p, n);
}

void rd_init(struct reader *r, const void *p, size_t len)
{
	memset(r, 0, sizeof(*r));
	r->p = p;
	r->len = len;
}

void rd_field(struct reader *r, const char *name)
{
	r->field = name;
}

int rd_fail(struct reader *r, int err, size_t at, const char *why)
{
	assert(err < 0);
	if (r->err)
		return r->err;
	r->err = err;
	r->err_pos = at;
	r->err_why = why;
	r->err_field = r->field;
	return err;
}

int rd_describe(const struct reader *r, char *out, size_t outlen)
{
	int rc = rd_finish(r);
	if (rc == 0) {
		snprintf(out, outlen, "no error");
	} else if (!r->err) {
		snprintf(out, outlen, "trailing bytes at offset %zu", r->pos);
	} else {
		/* An error set directly (r->err = ...) has no offset of its own; the
		 * reader stopped where it was found. */
		const char *why = r->err_why ? r->err_why : assay_strerror(r->err);
		size_t at = r->err_why ? r->err_pos : r->pos;
		const char *field = r->err_why ? r->err_field : r->field;
		if (field)
			snprintf(out, outlen, "%s at offset %zu (%s)", why, at, field);
		else
			snprintf(out, outlen, "%s at offset %zu", why, at);
	}
	return rc;
}

const uint8_t *rd_fixed(struct reader *r, size_t n)
{
	if (r->err)
		return NULL;
	assert(r->pos <= r->len);
	if (r->len - r->pos < n) {
		rd_fail(r, ASSAY_EDECODE, r->pos, "truncated");
		return NULL;
	}
	const uint8_t *p = r->p + r->pos;
	r->pos += n;
	return p;
}

void rd_copy(struct reader *r, void *out, size_t n)
{
	const uint8_t *p = rd_fixed(r, n);
	if (p)
		memcpy(out, p, n);
	else
		memset(out, 0, n);
}

uint8_t rd_u8(struct reader *r)
{
	const uint8_t *p = rd_fixed(r, 1);
	return p ? p[0] : 0;
}

uint16_t rd_u16(struct reader *r)
{
	const uint8_t *p = rd_fixed(r, 2);
	return p ? (uint16_t)(p[0] | p[1] << 8) : 0;
}

uint32_t rd_u32(struct reader *r)
{
	const uint8_t *p = rd_fixed(r, 4);
	return p ? le32_get(p) : 0;
}

uint64_t rd_u64(struct reader *r)
{
	const uint8_t *p = rd_fixed(r, 8);
	return p ? le64_get(p) : 0;
}

uint64_t rd_varint(struct reader *r)
{
	uint64_t v = 0;
	size_t start = r->pos;
	for (unsigned i = 0; i < 10; i++) {
		const uint8_t *p = rd_fixed(r, 1);
		if (!p)
			return 0;
		uint8_t byte = *p;
		if (i == 9 && byte > 1) { /* bits beyond 64 */
			rd_fail(r, ASSAY_EDECODE, start, "varint over 64 bits");
			return 0;
		}
		v |= (uint64_t)(byte & 0x7f) << (7 * i);
		if (!(byte & 0x80)) {
			/* Minimal form: a last byte of zero is only allowed for 0. */
			if (byte == 0 && i > 0) {
				rd_fail(r, ASSAY_EDECODE, start, "non-minimal varint");
				return 0;
			}
			return v;
		}
	}
	rd_fail(r, ASSAY_EDECODE, start, "varint over 10 bytes");
	return 0;
}

uint64_t rd_count(struct reader *r, uint64_t max)
{
	size_t start = r->pos;
	uint64_t n = rd_varint(r);
	if (!r->err && n > max) {
		rd_fail(r, ASSAY_ELIMIT, start, "length or count over its limit");
		return 0;
	}
	return n;
}

const uint8_t *rd_bytes(struct reader *r, size_t *n, size_t max)
{
	uint64_t len = rd_count(r, max);
	*n = 0;
	if (r->err)
		return NULL;
	const uint8_t *p = rd_fixed(r, (size_t)len);
	if (p)
		*n = (size_t)len;
	return p;
}

size_t rd_left(const struct reader *r)
{
	return r->len - r->pos;
}

int rd_finish(const struct reader *r)
{
	if (r->err)
		return r->err;
	return r->pos == r->len ? 0 : ASSAY_EDECODE;
}

void hex_encode(const uint8_t *p, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * n] = 0;
}

/* Each byte's value as a hex digit, or 0x80 when it is not one: a decode
 * ORs the entries it reads and checks bit 7 once per run of digits, so the
 * loop has no branch per character. */
static const uint8_t hex_value[256] = {
#define X 0x80
#define X16 X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X
	X16, X16, X16,
	0, 1, 2, 3, 4, 5, 6, 7, 8, 9, X, X, X, X, X, X,                 /* '0'..'9' */
	X, 10, 11, 12, 13, 14, 15, X, X, X, X, X, X, X, X, X,           /* 'A'..'F' */
	X16,
	X, 10, 11, 12, 13, 14, 15, X, X, X, X, X, X, X, X, X,           /* 'a'..'f' */
	X16, X16, X16, X16, X16, X16, X16, X16, X16, /* 0x70..0xff */
#undef X16
#undef X
};

long hex_decode_n(const char *hex, size_t n, uint8_t *out, size_t max)
{
	if (n % 2 || n / 2 > max)
		return -1;
	const unsigned char *h = (const unsigned char *)hex;
	size_t bytes = n / 2;
	unsigned bad = 0;
	for (size_t i = 0; i < bytes; i++) {
		unsigned hi = hex_value[h[2 * i]], lo = hex_value[h[2 * i + 1]];
		bad |= hi | lo;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return bad & 0x80 ? -1 : (long)bytes;
}

long hex_decode(const char *hex, uint8_t *out, size_t max)
{
	return hex_decode_n(hex, strlen(hex), out, max);
}

void buf_require(const struct buf *b, const char *what)
{
	if (b->oom) {
		fprintf(stderr, "fatal: out of memory encoding %s to hash it\n", what);
		abort();
	}
}
