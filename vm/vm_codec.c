/* Byte formats the VM shares with the node and the CLI (docs/contracts.md
 * §5-§6): the TX_DEPLOY and TX_CALL payload codecs (canonical, docs/protocol.md §1)
 * and the calldata convention (selector + fixed-width arguments typed from
 * text, and raw bytes as they are). Not for: execution (vm.c). */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/keys.h"
#include "core/sha256.h"
#include "vm/vm.h"
#include "vm/vm_internal.h"

int vm_deploy_payload_decode(struct vm_deploy_payload *p, const uint8_t *in, size_t n)
{
	struct reader r;
	memset(p, 0, sizeof(*p));
	rd_init(&r, in, n);
	p->code = rd_bytes(&r, &p->code_len, VM_CODE_MAX);
	p->value = rd_u64(&r);
	p->calldata = rd_bytes(&r, &p->calldata_len, VM_CALLDATA_MAX);
	int rc = rd_finish(&r);
	if (rc)
		memset(p, 0, sizeof(*p));
	return rc;
}

void vm_deploy_payload_encode(const struct vm_deploy_payload *p, struct buf *b)
{
	buf_put_bytes(b, p->code, p->code_len);
	buf_put_u64(b, p->value);
	buf_put_bytes(b, p->calldata, p->calldata_len);
}

int vm_call_payload_decode(struct vm_call_payload *p, const uint8_t *in, size_t n)
{
	struct reader r;
	memset(p, 0, sizeof(*p));
	rd_init(&r, in, n);
	rd_copy(&r, p->to, ADDR_LEN);
	p->value = rd_u64(&r);
	p->calldata = rd_bytes(&r, &p->calldata_len, VM_CALLDATA_MAX);
	int rc = rd_finish(&r);
	if (rc)
		memset(p, 0, sizeof(*p));
	return rc;
}

void vm_call_payload_encode(const struct vm_call_payload *p, struct buf *b)
{
	buf_put(b, p->to, ADDR_LEN);
	buf_put_u64(b, p->value);
	buf_put_bytes(b, p->calldata, p->calldata_len);
}

uint32_t vm_selector(const char *method)
{
	uint8_t h[HASH_LEN];
	sha256(method, strlen(method), h);
	return le32_get(h);
}

/* Integer text: decimal, or 0x followed by 1-16 hex digits. */
static int parse_u64(const char *s, uint64_t *v)
{
	if (!*s || *s == '-' || *s == '+' || isspace((unsigned char)*s))
		return -1;
	int hex = s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
	if (hex && (strlen(s) < 3 || strlen(s) > 18))
		return -1;
	char *end;
	errno = 0;
	unsigned long long x = strtoull(s, &end, hex ? 16 : 10);
	if (errno || *end)
		return -1;
	*v = x;
	return 0;
}

/* Raw-bytes text: "bytes:" + hex digits (any length, none included), or
 * "0x" + hex digits of a length no fixed-width form takes (17 or more, and
 * not 64). Sets *hex to the digits; 0 if a is not of either form. */
static int raw_hex(const char *a, const char **hex)
{
	size_t prefix = strlen(VM_CALLDATA_BYTES_PREFIX);
	if (strncmp(a, VM_CALLDATA_BYTES_PREFIX, prefix) == 0) {
		*hex = a + prefix;
		return 1;
	}
	size_t n = strlen(a);
	if (n < 2 + 17 || n == 66 || a[0] != '0' || (a[1] != 'x' && a[1] != 'X'))
		return 0;
	*hex = a + 2;
	return 1;
}

/* Appends the bytes of hex digits to out, unless they would take the
 * calldata over its limit. */
static int put_raw(struct buf *out, const char *hex, int argno, char *err, size_t errlen)
{
	size_t digits = strlen(hex);
	if (digits / 2 > VM_CALLDATA_MAX || out->len + digits / 2 > VM_CALLDATA_MAX) {
		snprintf(err, errlen, "calldata over the limit of %u bytes", VM_CALLDATA_MAX);
		return ASSAY_EARG;
	}
	uint8_t *bytes = malloc(digits / 2 + 1);
	if (!bytes)
		return ASSAY_ENOMEM;
	long n = hex_decode(hex, bytes, digits / 2);
	if (n < 0) {
		free(bytes);
		snprintf(err, errlen, "argument %d: raw bytes must be an even number of hex digits", argno);
		return ASSAY_EARG;
	}
	buf_put(out, bytes, (size_t)n);
	free(bytes);
	return 0;
}

int vm_calldata_build(const char *method, const char *const *args, int nargs, struct buf *out,
		      char *err, size_t errlen)
{
	if (!method || !*method) {
		snprintf(err, errlen, "empty method name");
		return ASSAY_EARG;
	}
	uint8_t sel[4];
	le32_put(sel, vm_selector(method));
	buf_put(out, sel, 4);
	for (int i = 0; i < nargs; i++) {
		const char *a = args[i];
		uint64_t v;
		uint8_t addr[ADDR_LEN], word[32];
		enum network net;
		const char *hex;
		if (raw_hex(a, &hex)) {
			int rc = put_raw(out, hex, i + 1, err, errlen);
			if (rc)
				return rc;
		} else if (strlen(a) == 66 && a[0] == '0' && (a[1] == 'x' || a[1] == 'X')) {
			if (hex_decode(a + 2, word, sizeof(word)) != 32) {
				snprintf(err, errlen, "argument %d: bad 32-byte hex '%s'", i + 1, a);
				return ASSAY_EARG;
			}
			buf_put(out, word, 32);
		} else if (parse_u64(a, &v) == 0) {
			buf_put_u64(out, v);
		} else if (address_decode(a, &net, addr) == 0) {
			buf_put(out, addr, ADDR_LEN);
		} else {
			snprintf(err, errlen,
				 "argument %d: '%s' is not an integer, an address, 32-byte hex or raw bytes",
				 i + 1, a);
			return ASSAY_EARG;
		}
	}
	if (out->len > VM_CALLDATA_MAX) {
		snprintf(err, errlen, "calldata over the limit of %u bytes", VM_CALLDATA_MAX);
		return ASSAY_EARG;
	}
	return out->oom ? ASSAY_ENOMEM : 0;
}
