/* Byte buffers and the canonical encoding of docs/protocol.md §1:
 * little-endian fixed-width integers and minimal unsigned LEB128 lengths.
 * Writers append to a growable struct buf; readers walk a struct reader whose
 * error is sticky, so a decoder reads every field and checks once at the end;
 * the first error keeps its byte offset and field for the message.
 * Not for: JSON or anything human-facing. */
#ifndef ASSAY_CORE_BUF_H
#define ASSAY_CORE_BUF_H

#include <stddef.h>
#include <stdint.h>

struct buf {
	uint8_t *data;
	size_t len;
	size_t cap;
	int oom; /* sticky: an allocation failed, contents are incomplete */
};

void buf_init(struct buf *b);
void buf_free(struct buf *b);
void buf_reset(struct buf *b); /* len = 0, keeps the allocation */
/* Hands the bytes to the caller (malloc()ed; the caller frees) and resets b. */
uint8_t *buf_take(struct buf *b, size_t *len);
void buf_put(struct buf *b, const void *p, size_t n);
void buf_put_u8(struct buf *b, uint8_t v);
void buf_put_u16(struct buf *b, uint16_t v);
void buf_put_u32(struct buf *b, uint32_t v);
void buf_put_u64(struct buf *b, uint64_t v);
void buf_put_varint(struct buf *b, uint64_t v);
/* The bytes buf_put_varint takes for v (1 to 10). */
size_t buf_varint_len(uint64_t v);
/* varint length, then the bytes */
void buf_put_bytes(struct buf *b, const void *p, size_t n);
/* For encodings that are hashed by functions that cannot fail (a txid, a
 * commit hash, a tx root): aborts with a message naming `what` if b ran out
 * of memory, because a hash of a truncated encoding would be silently wrong
 * (docs/architecture.md, "Allocation policy"). */
void buf_require(const struct buf *b, const char *what);

struct reader {
	const uint8_t *p;
	size_t len;
	size_t pos;
	int err;               /* sticky: 0 or ASSAY_EDECODE / ASSAY_ELIMIT */
	size_t err_pos;        /* byte offset of the first error (where rd_fail recorded it) */
	const char *err_why;   /* what was wrong there ("truncated", ...); NULL if err was set directly */
	const char *field;     /* the field being read, as the decoder named it (rd_field), or NULL */
	const char *err_field; /* field at the first error */
};

void rd_init(struct reader *r, const void *p, size_t len);
/* Names the field the next reads belong to (static text, not copied), so that
 * a failure can say which one it was. */
void rd_field(struct reader *r, const char *name);
/* Records a decode failure found at byte offset at, unless one is recorded
 * already (the first wins); why is static text such as "unknown kind".
 * Returns r->err. */
int rd_fail(struct reader *r, int err, size_t at, const char *why);
/* Writes what stopped the decoder, for a person: "truncated at offset 80
 * (fee)", "trailing bytes at offset 123", or "no error". Returns
 * rd_finish(r). */
int rd_describe(const struct reader *r, char *out, size_t outlen);
uint8_t rd_u8(struct reader *r);
uint16_t rd_u16(struct reader *r);
uint32_t rd_u32(struct reader *r);
uint64_t rd_u64(struct reader *r);
/* Minimal-form LEB128 of at most 10 bytes; anything else sets err. */
uint64_t rd_varint(struct reader *r);
/* Copies n bytes into out (zeros on error). */
void rd_copy(struct reader *r, void *out, size_t n);
/* Returns a pointer into the input for n bytes, or NULL (err set). */
const uint8_t *rd_fixed(struct reader *r, size_t n);
/* varint length (<= max, else ASSAY_ELIMIT), then the bytes; pointer into input. */
const uint8_t *rd_bytes(struct reader *r, size_t *n, size_t max);
/* A varint count that must be <= max. */
uint64_t rd_count(struct reader *r, uint64_t max);
size_t rd_left(const struct reader *r);
/* 0 if no error and every byte consumed; else the error (trailing = EDECODE). */
int rd_finish(const struct reader *r);

/* Little-endian helpers for code that packs fixed layouts by hand. */
static inline void le32_put(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24);
}
static inline uint32_t le32_get(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline void le64_put(uint8_t *p, uint64_t v)
{
	le32_put(p, (uint32_t)v);
	le32_put(p + 4, (uint32_t)(v >> 32));
}
static inline uint64_t le64_get(const uint8_t *p)
{
	return (uint64_t)le32_get(p) | (uint64_t)le32_get(p + 4) << 32;
}

/* Hex helpers: out must hold 2n+1 chars. hex_decode returns bytes written
 * or -1 (odd length, more than max bytes, or a character that is not a hex
 * digit; out's contents are then unspecified). hex_decode_n decodes the n
 * characters at hex (a NUL among them is not a digit), for text whose
 * length is known. */
void hex_encode(const uint8_t *p, size_t n, char *out);
long hex_decode(const char *hex, uint8_t *out, size_t max);
long hex_decode_n(const char *hex, size_t n, uint8_t *out, size_t max);

#endif
