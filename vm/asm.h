/* Contract assembler and disassembler (docs/contracts.md §7): text with
 * labels, constants, comments, a data section and a few macros for method
 * dispatch and reverts, to bytecode that the validator accepts; and back,
 * such that assembling a disassembly gives the same bytes.
 * Not for: execution or validation rules (vm.c, validate.c). */
#ifndef ASSAY_VM_ASM_H
#define ASSAY_VM_ASM_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

/* Appends the bytecode of text to code. 0, or ASSAY_EINVALID with err set to
 * "file:line:column: message" (filename may be NULL: "<input>"). The result
 * passes vm_validate, or the assembler reports the validator's message. */
int vm_asm_assemble(const char *text, const char *filename, struct buf *code, char *err, size_t errlen);
/* Appends assembler text for valid code. 0, or the validator's error. */
int vm_disasm(const uint8_t *code, size_t n, struct buf *text, char *err, size_t errlen);

#endif
