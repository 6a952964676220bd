// fuzz-sources: vm/vm_codec.c core/buf.c core/error.c core/sha256.c core/keys.c core/network.c core/bech32.c
/* libFuzzer target for the byte formats of vm/vm_codec.c: the TX_DEPLOY and
 * TX_CALL payload decoders must accept or refuse any input without a crash,
 * and what they accept re-encodes to exactly the input (docs/protocol.md §1,
 * docs/contracts.md §6); the calldata builder, given the input cut at NUL
 * bytes into a method name and argument texts, either refuses with a message
 * or yields the method's selector followed by at most VM_CALLDATA_MAX bytes.
 * Not for: execution (fuzz_vm.c) or the assembler (fuzz_asm.c). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/error.h"
#include "vm/vm.h"
#include "vm/vm_internal.h"

/* Most argument texts one input is cut into. */
#define FUZZ_CALLDATA_ARGS 16

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_round_trip(const struct buf *b, const uint8_t *data, size_t size)
{
	if (b->oom || b->len != size || (size && memcmp(b->data, data, size) != 0))
		abort(); /* decoded, but not canonical */
}

static void fuzz_calldata(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	if (!text)
		return;
	memcpy(text, data, size);
	text[size] = '\0';
	const char *args[FUZZ_CALLDATA_ARGS];
	int nargs = 0;
	char *method = text, *end = text + size;
	for (char *p = text + strlen(text); p < end && nargs < FUZZ_CALLDATA_ARGS; p += strlen(p)) {
		p++; /* past the NUL that ended the previous piece */
		args[nargs++] = p;
	}
	struct buf out;
	buf_init(&out);
	char err[256] = "";
	int rc = vm_calldata_build(method, args, nargs, &out, err, sizeof(err));
	if (rc == 0) {
		if (out.len < 4 || out.len > VM_CALLDATA_MAX)
			abort();
		if (le32_get(out.data) != vm_selector(method))
			abort();
	} else if (rc != ASSAY_ENOMEM && !err[0]) {
		abort(); /* refused without a message */
	}
	buf_free(&out);
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vm_deploy_payload dp;
	if (vm_deploy_payload_decode(&dp, data, size) == 0) {
		if (dp.code_len > VM_CODE_MAX || dp.calldata_len > VM_CALLDATA_MAX)
			abort();
		struct buf b;
		buf_init(&b);
		vm_deploy_payload_encode(&dp, &b);
		check_round_trip(&b, data, size);
		buf_free(&b);
	}
	struct vm_call_payload cp;
	if (vm_call_payload_decode(&cp, data, size) == 0) {
		if (cp.calldata_len > VM_CALLDATA_MAX)
			abort();
		struct buf b;
		buf_init(&b);
		vm_call_payload_encode(&cp, &b);
		check_round_trip(&b, data, size);
		buf_free(&b);
	}
	fuzz_calldata(data, size);
	return 0;
}
