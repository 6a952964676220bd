/* Deploy-time code validation (docs/contracts.md §2), eBPF's
 * verifier in small: instruction framing, opcodes, registers, canonical
 * unused fields, jump and call targets, then the per-entry block gas.
 * Runs again on every load, so the gas table never has to be stored.
 * Not for: execution (vm.c) or text (asm.c). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "vm/vm.h"
#include "vm/vm_internal.h"

const struct vm_opinfo vm_opinfo[256] = {
#define X(e, code, name, fmt, gas) [code] = {name, fmt, gas},
	VM_OPS(X)
#undef X
};

const char *const vm_hostcall_names[VM_SYS_COUNT] = {
#define X(e, n, name) [n] = name,
	VM_HOSTCALLS(X)
#undef X
};

void vm_code_info_free(struct vm_code_info *info)
{
	free(info->is_insn);
	free(info->run_gas);
	info->is_insn = NULL;
	info->run_gas = NULL;
}

/* Which fields a format leaves unused; they must be zero so that every
 * valid program has exactly one text form (disasm round-trips). */
static int unused_fields_zero(uint8_t fmt, const uint8_t *p)
{
	uint8_t d = vm_insn_dst(p), s = vm_insn_src(p);
	int16_t off = vm_insn_off(p);
	int32_t imm = vm_insn_imm(p);
	switch (fmt) {
	case F_NONE: return !d && !s && !off && !imm;
	case F_RR: return !off && !imm;
	case F_RI: case F_WIDE: case F_LEA: return !s && !off;
	case F_RRR: case F_RRI: return !off;
	case F_J: return !d && !s && !imm;
	case F_JRR: case F_LD: case F_ST: return !imm;
	case F_JRI: return !s; /* ra, imm and the target; no second register */
	case F_SYS: case F_DATA: return !d && !s && !off;
	}
	return 0;
}

static int is_terminator(uint8_t op)
{
	uint8_t fmt = vm_opinfo[op].fmt;
	return fmt == F_J || fmt == F_JRR || fmt == F_JRI || op == OP_RET || op == OP_DATA;
}

int vm_analyze(const uint8_t *code, size_t n, struct vm_code_info *info, char *err, size_t errlen)
{
	memset(info, 0, sizeof(*info));
	if (n == 0)
		return assay_fail(err, errlen, ASSAY_EINVALID, "empty code");
	if (n > VM_CODE_MAX)
		return assay_fail(err, errlen, ASSAY_ELIMIT, "code is %zu bytes, over the limit of %zu", n,
			    (size_t)VM_CODE_MAX);
	if (n % VM_INSN_BYTES)
		return assay_fail(err, errlen, ASSAY_EINVALID,
			    "code length %zu is not a whole number of 8-byte instructions", n);
	size_t ns = n / VM_INSN_BYTES;
	info->nslots = ns;
	info->is_insn = calloc(ns, 1);
	info->run_gas = calloc(ns, sizeof(uint64_t));
	if (!info->is_insn || !info->run_gas) {
		vm_code_info_free(info);
		return ASSAY_ENOMEM;
	}
	int rc = 0;
	/* Pass 1: framing, opcodes, operands. */
	for (size_t pc = 0; pc < ns && !rc; pc++) {
		const uint8_t *p = code + pc * VM_INSN_BYTES;
		const struct vm_opinfo *oi = &vm_opinfo[p[0]];
		if (!oi->name) {
			rc = assay_fail(err, errlen, ASSAY_EINVALID, "unknown opcode 0x%02x at pc %zu", p[0], pc);
			break;
		}
		info->is_insn[pc] = 1;
		if (!unused_fields_zero(oi->fmt, p)) {
			if (err && errlen)
				snprintf(err, errlen, "nonzero unused field in %s at pc %zu", oi->name, pc);
			rc = ASSAY_EINVALID;
			break;
		}
		int32_t imm = vm_insn_imm(p);
		switch (oi->fmt) {
		case F_RRR:
			if (imm < 0 || imm > 15)
				rc = assay_fail(err, errlen, ASSAY_EINVALID, "unknown register r%zu at pc %zu",
					  (size_t)(uint32_t)imm, pc);
			break;
		case F_SYS:
			if (imm < 0 || imm >= VM_SYS_COUNT)
				rc = assay_fail(err, errlen, ASSAY_EINVALID, "unknown host call %zu at pc %zu",
					  (size_t)(uint32_t)imm, pc);
			break;
		case F_LEA:
			if (imm < 0 || (size_t)imm >= n)
				rc = assay_fail(err, errlen, ASSAY_EINVALID, "lea offset %zu outside code at pc %zu",
					  (size_t)(uint32_t)imm, pc);
			break;
		case F_WIDE:
			if (pc + 1 >= ns) {
				rc = assay_fail(err, errlen, ASSAY_EINVALID,
					  "truncated wide instruction at pc %zu", pc);
			} else {
				const uint8_t *q = p + VM_INSN_BYTES;
				if (q[0] || q[1] || q[2] || q[3])
					rc = assay_fail(err, errlen, ASSAY_EINVALID,
						  "malformed second half of wide instruction at pc %zu", pc);
				pc++;
			}
			break;
		case F_DATA: {
			if (imm < 0) {
				rc = assay_fail(err, errlen, ASSAY_EINVALID, "negative data length at pc %zu", pc);
				break;
			}
			size_t slots = vm_data_slots((uint32_t)imm);
			if (slots > ns - pc - 1) {
				rc = assay_fail(err, errlen, ASSAY_EINVALID, "data block at pc %zu overruns code", pc);
				break;
			}
			const uint8_t *d = p + VM_INSN_BYTES;
			for (size_t i = (size_t)imm; i < slots * VM_INSN_BYTES; i++)
				if (d[i])
					rc = assay_fail(err, errlen, ASSAY_EINVALID,
						  "nonzero padding in data block at pc %zu", pc);
			pc += slots;
			break;
		}
		default:
			break;
		}
	}
	/* Pass 2: control-flow targets land on instruction starts. */
	for (size_t pc = 0; pc < ns && !rc; pc++) {
		if (!info->is_insn[pc])
			continue;
		const uint8_t *p = code + pc * VM_INSN_BYTES;
		uint8_t fmt = vm_opinfo[p[0]].fmt;
		if (fmt != F_J && fmt != F_JRR && fmt != F_JRI)
			continue;
		long target = (long)pc + 1 + vm_insn_off(p);
		if (target < 0 || (size_t)target >= ns)
			rc = assay_fail(err, errlen, ASSAY_EINVALID, "jump target %ld out of code at pc %zu",
				  target, pc);
		else if (!info->is_insn[target])
			rc = assay_fail(err, errlen, ASSAY_EINVALID,
				  "jump into the middle of a wide instruction or data at pc %zu (target %zu)",
				  pc, (size_t)target);
	}
	if (rc) {
		vm_code_info_free(info);
		return rc;
	}
	/* Pass 3: run gas, backwards. A run goes from an entry to the next
	 * control transfer, so every executed instruction is charged once. */
	uint64_t next = 0;
	for (size_t pc = ns; pc-- > 0;) {
		if (!info->is_insn[pc])
			continue;
		uint8_t op = code[pc * VM_INSN_BYTES];
		uint64_t g = vm_opinfo[op].gas;
		info->run_gas[pc] = is_terminator(op) ? g : g + next;
		next = info->run_gas[pc];
	}
	return 0;
}

int vm_validate(const uint8_t *code, size_t n, char *err, size_t errlen)
{
	struct vm_code_info info;
	int rc = vm_analyze(code, n, &info, err, errlen);
	if (!rc)
		vm_code_info_free(&info);
	return rc;
}
