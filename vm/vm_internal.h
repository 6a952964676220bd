/* The instruction set shared by the validator, the interpreter and the
 * assembler (docs/contracts.md §1-§3): opcodes with their operand format,
 * mnemonic and static gas, limits, and host-call numbers. One table, so the
 * three can never disagree. Not for: the node's API (vm.h). */
#ifndef ASSAY_VM_INTERNAL_H
#define ASSAY_VM_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

/* Instruction: byte 0 opcode, byte 1 dst (low 4 bits) | src (high 4 bits),
 * bytes 2-3 off (i16 LE), bytes 4-7 imm (i32 LE). */
#define VM_INSN_BYTES 8
#define VM_CODE_MAX (64u * 1024)     /* bytes of code, data blocks included */
#define VM_CALL_DEPTH_MAX 64         /* call/ret frames inside one contract */
#define VM_CONTRACT_DEPTH_MAX 8      /* nested contract-to-contract calls */
#define VM_PAGE_BYTES (64u * 1024)   /* memory grows in pages of this size */
#define VM_MEM_PAGES_MAX 16          /* hard cap: 1 MiB of linear memory */
#define VM_CALLDATA_MAX (16u * 1024) /* fits the first page, at address 0 */
#define VM_RETURN_MAX (16u * 1024)   /* return data, revert message, event */
#define VM_EVENTS_MAX 256            /* events per transaction */
#define VM_STORAGE_VALUE_MAX 4096    /* bytes in one storage slot */
#define VM_CODE_BASE (1ull << 32)    /* code bytes are readable at this address */

/* Operand formats. */
enum vm_fmt {
	F_NONE,  /* ret */
	F_RR,    /* op rd, ra */
	F_RI,    /* op rd, imm */
	F_WIDE,  /* op rd, imm64: 16 bytes, high half's imm in the second slot */
	F_LEA,   /* op rd, byteoff: rd = VM_CODE_BASE + byteoff */
	F_RRR,   /* op rd, ra, rb: rb in imm */
	F_RRI,   /* op rd, ra, imm */
	F_J,     /* op target: off = target - (pc + 1) */
	F_JRR,   /* op ra, rb, target */
	F_JRI,   /* op ra, imm, target */
	F_LD,    /* op rd, [ra + off] */
	F_ST,    /* op [rd + off], ra */
	F_SYS,   /* op imm: host call number */
	F_DATA,  /* imm = byte length; the payload fills the next slots */
};

/* X(enum, opcode, mnemonic, format, static gas) */
#define VM_OPS(X)                                   \
	X(MOV, 0x01, "mov", F_RR, 3)                \
	X(MOVI, 0x02, "movi", F_RI, 3)              \
	X(LDW, 0x03, "ldw", F_WIDE, 3)              \
	X(LEA, 0x04, "lea", F_LEA, 3)               \
	X(NOT, 0x05, "not", F_RR, 3)                \
	X(NEG, 0x06, "neg", F_RR, 3)                \
	X(ADD, 0x10, "add", F_RRR, 3)               \
	X(SUB, 0x11, "sub", F_RRR, 3)               \
	X(MUL, 0x12, "mul", F_RRR, 4)               \
	X(DIV, 0x13, "div", F_RRR, 8)               \
	X(MOD, 0x14, "mod", F_RRR, 8)               \
	X(ADDW, 0x15, "addw", F_RRR, 3)             \
	X(SUBW, 0x16, "subw", F_RRR, 3)             \
	X(MULW, 0x17, "mulw", F_RRR, 4)             \
	X(AND, 0x18, "and", F_RRR, 3)               \
	X(OR, 0x19, "or", F_RRR, 3)                 \
	X(XOR, 0x1a, "xor", F_RRR, 3)               \
	X(SHL, 0x1b, "shl", F_RRR, 3)               \
	X(SHR, 0x1c, "shr", F_RRR, 3)               \
	X(SAR, 0x1d, "sar", F_RRR, 3)               \
	X(EQ, 0x20, "eq", F_RRR, 3)                 \
	X(NE, 0x21, "ne", F_RRR, 3)                 \
	X(LT, 0x22, "lt", F_RRR, 3)                 \
	X(LE, 0x23, "le", F_RRR, 3)                 \
	X(GT, 0x24, "gt", F_RRR, 3)                 \
	X(GE, 0x25, "ge", F_RRR, 3)                 \
	X(SLT, 0x26, "slt", F_RRR, 3)               \
	X(SLE, 0x27, "sle", F_RRR, 3)               \
	X(ADDI, 0x30, "addi", F_RRI, 3)             \
	X(SUBI, 0x31, "subi", F_RRI, 3)             \
	X(MULI, 0x32, "muli", F_RRI, 4)             \
	X(DIVI, 0x33, "divi", F_RRI, 7)             \
	X(MODI, 0x34, "modi", F_RRI, 7)             \
	X(ADDWI, 0x35, "addwi", F_RRI, 3)           \
	X(SUBWI, 0x36, "subwi", F_RRI, 3)           \
	X(MULWI, 0x37, "mulwi", F_RRI, 4)           \
	X(ANDI, 0x38, "andi", F_RRI, 3)             \
	X(ORI, 0x39, "ori", F_RRI, 3)               \
	X(XORI, 0x3a, "xori", F_RRI, 3)             \
	X(SHLI, 0x3b, "shli", F_RRI, 3)             \
	X(SHRI, 0x3c, "shri", F_RRI, 3)             \
	X(SARI, 0x3d, "sari", F_RRI, 3)             \
	X(EQI, 0x40, "eqi", F_RRI, 3)               \
	X(NEI, 0x41, "nei", F_RRI, 3)               \
	X(LTI, 0x42, "lti", F_RRI, 3)               \
	X(LEI, 0x43, "lei", F_RRI, 3)               \
	X(GTI, 0x44, "gti", F_RRI, 3)               \
	X(GEI, 0x45, "gei", F_RRI, 3)               \
	X(SLTI, 0x46, "slti", F_RRI, 3)             \
	X(SLEI, 0x47, "slei", F_RRI, 3)             \
	X(JMP, 0x50, "jmp", F_J, 3)                 \
	X(JEQ, 0x51, "jeq", F_JRR, 4)               \
	X(JNE, 0x52, "jne", F_JRR, 4)               \
	X(JLT, 0x53, "jlt", F_JRR, 4)               \
	X(JLE, 0x54, "jle", F_JRR, 4)               \
	X(JGT, 0x55, "jgt", F_JRR, 4)               \
	X(JGE, 0x56, "jge", F_JRR, 4)               \
	X(JSLT, 0x57, "jslt", F_JRR, 4)             \
	X(JSLE, 0x58, "jsle", F_JRR, 4)             \
	X(JEQI, 0x61, "jeqi", F_JRI, 4)             \
	X(JNEI, 0x62, "jnei", F_JRI, 4)             \
	X(JLTI, 0x63, "jlti", F_JRI, 4)             \
	X(JLEI, 0x64, "jlei", F_JRI, 4)             \
	X(JGTI, 0x65, "jgti", F_JRI, 4)             \
	X(JGEI, 0x66, "jgei", F_JRI, 4)             \
	X(JSLTI, 0x67, "jslti", F_JRI, 4)           \
	X(JSLEI, 0x68, "jslei", F_JRI, 4)           \
	X(CALL, 0x70, "call", F_J, 5)               \
	X(RET, 0x71, "ret", F_NONE, 2)              \
	X(LD8, 0x80, "ld8", F_LD, 5)                \
	X(LD16, 0x81, "ld16", F_LD, 5)              \
	X(LD32, 0x82, "ld32", F_LD, 5)              \
	X(LD64, 0x83, "ld64", F_LD, 5)              \
	X(ST8, 0x84, "st8", F_ST, 2)                \
	X(ST16, 0x85, "st16", F_ST, 2)              \
	X(ST32, 0x86, "st32", F_ST, 2)              \
	X(ST64, 0x87, "st64", F_ST, 2)              \
	X(MCOPY, 0x88, "mcopy", F_RRR, 6)           \
	X(SYS, 0x90, "sys", F_SYS, 10)              \
	X(DATA, 0xd0, "data", F_DATA, 0)

enum vm_op {
#define X(e, code, name, fmt, gas) OP_##e = code,
	VM_OPS(X)
#undef X
};

struct vm_opinfo {
	const char *name; /* NULL: not an opcode */
	uint8_t fmt;      /* enum vm_fmt */
	uint8_t gas;      /* static gas, charged with its block */
};
extern const struct vm_opinfo vm_opinfo[256];

/* Host calls (sys N): arguments in r1..r7, result in r0. */
#define VM_HOSTCALLS(X)                        \
	X(STORAGE_GET, 0, "storage_get")       \
	X(STORAGE_SET, 1, "storage_set")       \
	X(STORAGE_DEL, 2, "storage_del")       \
	X(CALLER, 3, "caller")                 \
	X(SELF, 4, "self")                     \
	X(VALUE, 5, "value")                   \
	X(BALANCE, 6, "balance")               \
	X(TRANSFER, 7, "transfer")             \
	X(HEIGHT, 8, "height")                 \
	X(TIME, 9, "time")                     \
	X(SHA256, 10, "sha256")                \
	X(ED25519_VERIFY, 11, "ed25519_verify") \
	X(JOB_STATUS, 12, "job_status")        \
	X(JOB_SUBMIT, 13, "job_submit")        \
	X(EMIT, 14, "emit")                    \
	X(REVERT, 15, "revert")                \
	X(RETURN, 16, "return")                \
	X(CALL_CONTRACT, 17, "call_contract")  \
	X(MEM_GROW, 18, "mem_grow")            \
	X(MEM_SIZE, 19, "mem_size")

enum vm_hostcall {
#define X(e, n, name) VM_SYS_##e = n,
	VM_HOSTCALLS(X)
#undef X
	VM_SYS_COUNT
};
extern const char *const vm_hostcall_names[VM_SYS_COUNT];

/* Dynamic gas (docs/contracts.md §4), on top of sys's static 10. A host
 * call costs about what the interpreter does per gas (bench_vm --host
 * prints both): otherwise a block of its gas would take many times its
 * time. State reads and writes go to the database: priced as reads served
 * from its caches. */
#define VM_GAS_STORAGE_GET 2000
#define VM_GAS_STORAGE_SET 5000
#define VM_GAS_STORAGE_DEL 2000
#define VM_GAS_ACCOUNT 100       /* caller, self, value, height, time */
#define VM_GAS_BALANCE 2000      /* a state read */
#define VM_GAS_TRANSFER 5000     /* two accounts read and written */
#define VM_GAS_SHA256 60
#define VM_GAS_HASH_WORD 6       /* per 8 bytes hashed (sha256, ed25519_verify's message) */
#define VM_GAS_ED25519 50000
#define VM_GAS_JOB_STATUS 2000
#define VM_GAS_JOB_SUBMIT 20000
#define VM_GAS_EMIT 300
/* per event byte: every node stores events with the block's receipts, so a
 * block's gas (max_block_gas 10^9) buys at most about 15 MiB of them */
#define VM_GAS_EMIT_BYTE 64
#define VM_GAS_BYTE 1            /* per byte copied in or out by a host call */
#define VM_GAS_CALL 2000
#define VM_GAS_CODE_BYTE 4       /* per byte of code, each time a contract runs */
#define VM_GAS_PAGE 2000         /* per 64 KiB page grown */
#define VM_GAS_MCOPY_WORD 1      /* per 8 bytes moved by mcopy */
#define VM_GAS_DEPLOY 10000
#define VM_GAS_DEPLOY_BYTE 64    /* per byte of code stored: kept for good, as storage_set's bytes */

/* Decoded fields of instruction i (no checks). */
static inline uint8_t vm_insn_dst(const uint8_t *p) { return p[1] & 15; }
static inline uint8_t vm_insn_src(const uint8_t *p) { return p[1] >> 4; }
static inline int16_t vm_insn_off(const uint8_t *p)
{
	return (int16_t)(uint16_t)(p[2] | p[3] << 8);
}
static inline int32_t vm_insn_imm(const uint8_t *p)
{
	return (int32_t)((uint32_t)p[4] | (uint32_t)p[5] << 8 | (uint32_t)p[6] << 16 |
			 (uint32_t)p[7] << 24);
}
/* Slots a data block's payload occupies after its header. */
static inline size_t vm_data_slots(uint32_t len) { return ((size_t)len + 7) / 8; }

/* What the validator learns: per slot, whether it starts an instruction,
 * and per instruction the gas of the run from it to the next control
 * transfer (the block gas charged on entering there). Caller frees both. */
struct vm_code_info {
	size_t nslots;
	uint8_t *is_insn;   /* 1: an instruction starts here; 0: wide tail or data */
	uint64_t *run_gas;  /* valid where is_insn */
};
int vm_analyze(const uint8_t *code, size_t n, struct vm_code_info *info, char *err, size_t errlen);
void vm_code_info_free(struct vm_code_info *info);

#endif
