// fuzz-sources: vm/*.c core/*.c
/* libFuzzer target for the assembler: arbitrary text must assemble or fail
 * with a message, never crash or leak; whatever assembles must validate and
 * survive disasm -> assemble unchanged.
 * Not for: running code (fuzz_vm.c). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vm/asm.h"
#include "vm/vm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = 0;
	struct buf code, dis, again;
	char err[200];
	buf_init(&code);
	buf_init(&dis);
	buf_init(&again);
	if (vm_asm_assemble(text, "fuzz", &code, err, sizeof(err)) == 0) {
		if (vm_validate(code.data, code.len, err, sizeof(err)) != 0)
			abort();
		if (vm_disasm(code.data, code.len, &dis, err, sizeof(err)) != 0)
			abort();
		buf_put_u8(&dis, 0);
		if (vm_asm_assemble((const char *)dis.data, "disasm", &again, err, sizeof(err)) != 0 ||
		    again.len != code.len || memcmp(again.data, code.data, code.len) != 0)
			abort();
	} else if (!err[0]) {
		abort();
	}
	buf_free(&code);
	buf_free(&dis);
	buf_free(&again);
	free(text);
	return 0;
}
