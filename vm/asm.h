/* Contract assembler and disassembler (docs/contracts.md §9): text with
 * labels, constants, comments, a data section and a few macros for method
 * dispatch and reverts, to bytecode that the validator accepts; and back,
 * such that assembling a disassembly gives the same bytes. Also the ABI a
 * source declares with `.abi` (§10): methods, typed arguments and returns.
 * Not for: execution or validation rules (vm.c, validate.c). */
#ifndef ASSAY_VM_ASM_H
#define ASSAY_VM_ASM_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

/* --- ABI (docs/contracts.md §10): off-chain typing of a contract's calldata
 * and return data; consensus never sees it, only its hash inside the code. */
#define VM_ABI_METHODS_MAX 64   /* methods one source may declare */
#define VM_ABI_PARAMS_MAX 16    /* arguments, and return values, of one method */
#define VM_ABI_NAME_MAX 32      /* bytes of a method or parameter name, with the NUL */
#define VM_ABI_SIG_MAX 1200     /* bytes of one formatted signature, with the NUL */
#define VM_ABI_MAGIC "assayABI" /* 8 bytes that open the ABI hash block */
#define VM_ABI_MAGIC_LEN 8
#define VM_ABI_BLOCK_LEN (VM_ABI_MAGIC_LEN + 32) /* magic || 32-byte ABI hash */

/* Packed little-endian widths: u8 1, u16 2, u32 4, u64 8, bool 1 (0 or 1),
 * amount 8 (base units), address 20, bytes32 32; bytes takes the rest and
 * may only come last. */
enum vm_abi_type {
	VM_ABI_U8,
	VM_ABI_U16,
	VM_ABI_U32,
	VM_ABI_U64,
	VM_ABI_BOOL,
	VM_ABI_AMOUNT,
	VM_ABI_ADDRESS,
	VM_ABI_BYTES32,
	VM_ABI_BYTES,
	VM_ABI_TYPE_COUNT
};

struct vm_abi_param {
	char name[VM_ABI_NAME_MAX];
	uint8_t type; /* enum vm_abi_type */
};

struct vm_abi_method {
	char name[VM_ABI_NAME_MAX];
	struct vm_abi_param args[VM_ABI_PARAMS_MAX];
	int nargs;
	struct vm_abi_param rets[VM_ABI_PARAMS_MAX]; /* none: -> void */
	int nrets;
};

struct vm_abi {
	int init_required; /* `.init`: a deploy must call init with its arguments */
	struct vm_abi_method methods[VM_ABI_METHODS_MAX];
	int nmethods;
};

/* "u64", "address" ...; NULL for an unknown type. */
const char *vm_abi_type_name(int type);
/* Packed width in bytes; 0 for bytes (the rest of the data). */
size_t vm_abi_type_width(int type);
/* Parses one signature, "name(type arg, ...) -> void | type [name] |
 * (type name, ...)", the text of an `.abi` line. 0, or ASSAY_EINVALID with
 * err set to "column N: message". */
int vm_abi_parse_method(const char *text, struct vm_abi_method *m, char *err, size_t errlen);
/* Adds m to abi: ASSAY_EEXISTS for a second method of that name,
 * ASSAY_ELIMIT past VM_ABI_METHODS_MAX (err filled). */
int vm_abi_add(struct vm_abi *abi, const struct vm_abi_method *m, char *err, size_t errlen);
const struct vm_abi_method *vm_abi_find(const struct vm_abi *abi, const char *name);
/* The one text form of a signature: "init(address seller, u64 t) -> void",
 * a single return as "-> u64 name", several as "-> (u8 a, u64 b)". */
void vm_abi_format_method(const struct vm_abi_method *m, char out[VM_ABI_SIG_MAX]);
/* H_tag("assay/abi", canonical text): "assay-abi 1\n", ".init\n" when
 * init_required, then each signature and "\n" in declaration order. */
void vm_abi_hash(const struct vm_abi *abi, uint8_t out[32]);
/* The ABI hash a code carries in its last data block. 0; ASSAY_ENOTFOUND
 * when it has none; the validator's error for invalid code. */
int vm_abi_code_hash(const uint8_t *code, size_t n, uint8_t out[32]);

/* Appends the bytecode of text to code. 0, or ASSAY_EINVALID with err set to
 * "file:line:column: message" (filename may be NULL: "<input>"). The result
 * passes vm_validate, or the assembler reports the validator's message. */
int vm_asm_assemble(const char *text, const char *filename, struct buf *code, char *err, size_t errlen);
/* As vm_asm_assemble, and fills abi (when not NULL; zeroed first) with the
 * methods the source declares. A source with any `.abi` line gets the ABI
 * hash block (VM_ABI_MAGIC || vm_abi_hash) as the last data block of its
 * code: no instruction reaches it, so the VM never reads it, and the code
 * hash commits to the ABI. */
int vm_asm_assemble_abi(const char *text, const char *filename, struct buf *code, struct vm_abi *abi,
			char *err, size_t errlen);
/* Appends assembler text for valid code. 0, or the validator's error. */
int vm_disasm(const uint8_t *code, size_t n, struct buf *text, char *err, size_t errlen);

#endif
