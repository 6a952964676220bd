/* The assembler and disassembler of asm.h, and its ABI declarations. Two
 * passes over the text with one parser: the first learns label addresses,
 * the data layout and the ABI, the second emits; sizes never depend on
 * symbol values, so the passes agree.
 * Not for: anything consensus runs (the node only sees bytecode). */
#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/sha256.h"
#include "vm/asm.h"
#include "vm/vm.h"
#include "vm/vm_internal.h"

#define ASM_SYMBOLS_MAX 4096 /* labels + constants in one source */
#define ASM_NAME_MAX 64      /* bytes in a symbol name */

typedef __int128 asm_val;

enum sym_kind { SYM_TEXT, SYM_DATA, SYM_CONST };

struct sym {
	char name[ASM_NAME_MAX];
	uint8_t kind;  /* enum sym_kind */
	asm_val value; /* text: slot; data: offset in the data section; const */
};

struct asm_state {
	const char *file;
	int pass;             /* 1 or 2 */
	int line;
	const char *line_start;
	const char *p;        /* cursor */
	struct buf *code;     /* pass 2 output */
	size_t code_start;    /* code->len when assembly began */
	size_t slot;          /* instruction slots emitted in the text section */
	size_t text_slots;    /* after pass 1: slots before the data block */
	struct buf data;      /* the data section, rebuilt each pass */
	int in_data;
	struct sym *syms;
	size_t nsyms;
	char *err;
	size_t errlen;
	int failed;
	struct vm_abi *abi; /* filled by pass 1 */
	int abi_declared;   /* an .abi or .init line was seen */
	int init_line;      /* where .init stands, for its error */
	const char *init_at, *init_line_start;
};

static int asm_error(struct asm_state *a, const char *at, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int asm_error(struct asm_state *a, const char *at, const char *fmt, ...)
{
	if (a->failed)
		return ASSAY_EINVALID;
	a->failed = 1;
	char msg[160];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (a->err && a->errlen)
		snprintf(a->err, a->errlen, "%s:%d:%d: %s", a->file, a->line,
			 (int)(at - a->line_start) + 1, msg);
	return ASSAY_EINVALID;
}

/* --- symbols --- */

static struct sym *sym_find(struct asm_state *a, const char *name)
{
	for (size_t i = 0; i < a->nsyms; i++)
		if (strcmp(a->syms[i].name, name) == 0)
			return &a->syms[i];
	return NULL;
}

static int sym_define(struct asm_state *a, const char *at, const char *name, int kind, asm_val v)
{
	struct sym *s = sym_find(a, name);
	if (a->pass == 2) {
		if (s && kind != SYM_CONST)
			s->value = v;
		else if (s)
			s->value = v;
		return 0;
	}
	if (s)
		return asm_error(a, at, "'%s' defined twice", name);
	if (a->nsyms == ASM_SYMBOLS_MAX)
		return asm_error(a, at, "too many symbols (limit %d)", ASM_SYMBOLS_MAX);
	s = &a->syms[a->nsyms++];
	snprintf(s->name, sizeof(s->name), "%s", name);
	s->kind = (uint8_t)kind;
	s->value = v;
	return 0;
}

/* --- lexing --- */

static void skip_space(struct asm_state *a)
{
	while (*a->p == ' ' || *a->p == '\t' || *a->p == '\r')
		a->p++;
}

static int at_end(struct asm_state *a)
{
	skip_space(a);
	return *a->p == 0 || *a->p == '\n' || *a->p == ';' || *a->p == '#';
}

static int is_ident_start(char c)
{
	return isalpha((unsigned char)c) || c == '_' || c == '.';
}

static int is_ident(char c)
{
	return isalnum((unsigned char)c) || c == '_' || c == '.';
}

static int read_ident(struct asm_state *a, char out[ASM_NAME_MAX])
{
	skip_space(a);
	const char *s = a->p;
	if (!is_ident_start(*s))
		return asm_error(a, s, "expected a name");
	while (is_ident(*a->p))
		a->p++;
	size_t n = (size_t)(a->p - s);
	if (n >= ASM_NAME_MAX)
		return asm_error(a, s, "name longer than %d bytes", ASM_NAME_MAX - 1);
	memcpy(out, s, n);
	out[n] = 0;
	return 0;
}

static int expect(struct asm_state *a, char c)
{
	skip_space(a);
	if (*a->p != c)
		return asm_error(a, a->p, "expected '%c'", c);
	a->p++;
	return 0;
}

/* A quoted string with \n \t \\ \" \0 \xHH escapes, into b. */
static int read_string(struct asm_state *a, struct buf *b)
{
	skip_space(a);
	if (*a->p != '"')
		return asm_error(a, a->p, "expected a string");
	a->p++;
	while (*a->p && *a->p != '"' && *a->p != '\n') {
		char c = *a->p++;
		if (c != '\\') {
			buf_put_u8(b, (uint8_t)c);
			continue;
		}
		c = *a->p++;
		switch (c) {
		case 'n': buf_put_u8(b, '\n'); break;
		case 't': buf_put_u8(b, '\t'); break;
		case '0': buf_put_u8(b, 0); break;
		case '\\': case '"': buf_put_u8(b, (uint8_t)c); break;
		case 'x': {
			uint8_t v;
			char hx[3] = {a->p[0], a->p[0] ? a->p[1] : 0, 0};
			if (hex_decode(hx, &v, 1) != 1)
				return asm_error(a, a->p - 2, "bad \\x escape");
			a->p += 2;
			buf_put_u8(b, v);
			break;
		}
		default:
			return asm_error(a, a->p - 2, "unknown escape '\\%c'", c ? c : ' ');
		}
	}
	if (*a->p != '"')
		return asm_error(a, a->p, "unterminated string");
	a->p++;
	return 0;
}

static int read_term(struct asm_state *a, asm_val *v)
{
	skip_space(a);
	const char *s = a->p;
	if (isdigit((unsigned char)*s)) {
		int base = 10;
		if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
			base = 16;
			a->p += 2;
		}
		asm_val x = 0;
		int digits = 0;
		for (;; a->p++) {
			int d;
			char c = *a->p;
			if (isdigit((unsigned char)c))
				d = c - '0';
			else if (base == 16 && isxdigit((unsigned char)c))
				d = tolower((unsigned char)c) - 'a' + 10;
			else
				break;
			if (d >= base)
				break;
			x = x * base + d;
			if (x > (asm_val)UINT64_MAX)
				return asm_error(a, s, "number does not fit 64 bits");
			digits++;
		}
		if (!digits || is_ident(*a->p))
			return asm_error(a, s, "malformed number");
		*v = x;
		return 0;
	}
	if (*s == '\'') {
		if (!s[1] || s[2] != '\'')
			return asm_error(a, s, "malformed character literal");
		*v = (unsigned char)s[1];
		a->p += 3;
		return 0;
	}
	char name[ASM_NAME_MAX];
	if (read_ident(a, name))
		return ASSAY_EINVALID;
	if (strcmp(name, "sel") == 0) {
		struct buf m;
		buf_init(&m);
		int rc = expect(a, '(');
		if (!rc)
			rc = read_string(a, &m);
		if (!rc)
			rc = expect(a, ')');
		buf_put_u8(&m, 0);
		if (!rc)
			*v = vm_selector((const char *)m.data);
		buf_free(&m);
		return rc;
	}
	struct sym *sy = sym_find(a, name);
	if (!sy) {
		if (a->pass == 1) {
			*v = 0;
			return 0;
		}
		return asm_error(a, s, "undefined symbol '%s'", name);
	}
	*v = sy->value;
	if (sy->kind == SYM_DATA)
		*v += (asm_val)((a->text_slots + 1) * VM_INSN_BYTES);
	return 0;
}

/* expr := ['-'] term (('+'|'-') term)* */
static int read_expr(struct asm_state *a, asm_val *v)
{
	skip_space(a);
	int neg = 0;
	if (*a->p == '-') {
		neg = 1;
		a->p++;
	}
	asm_val t;
	if (read_term(a, &t))
		return ASSAY_EINVALID;
	*v = neg ? -t : t;
	for (;;) {
		skip_space(a);
		char c = *a->p;
		if (c != '+' && c != '-')
			return 0;
		a->p++;
		if (read_term(a, &t))
			return ASSAY_EINVALID;
		*v = c == '+' ? *v + t : *v - t;
	}
}

static int read_reg(struct asm_state *a, uint8_t *r)
{
	skip_space(a);
	const char *s = a->p;
	if ((*s == 'r' || *s == 'R') && isdigit((unsigned char)s[1])) {
		int n = s[1] - '0';
		const char *e = s + 2;
		if (isdigit((unsigned char)*e))
			n = n * 10 + (*e++ - '0');
		if (!is_ident(*e) && n < 16) {
			a->p = e;
			*r = (uint8_t)n;
			return 0;
		}
		if (!is_ident(*e))
			return asm_error(a, s, "unknown register r%d (r0-r15)", n);
	}
	return asm_error(a, s, "expected a register r0-r15");
}

static int comma(struct asm_state *a)
{
	return expect(a, ',');
}

/* [rA], [rA + off], [rA - off] */
static int read_memop(struct asm_state *a, uint8_t *r, int16_t *off)
{
	if (expect(a, '[') || read_reg(a, r))
		return ASSAY_EINVALID;
	skip_space(a);
	asm_val v = 0;
	const char *s = a->p;
	if (*a->p == '+' || *a->p == '-') {
		int neg = *a->p == '-';
		a->p++;
		skip_space(a);
		s = a->p;
		if (read_expr(a, &v))
			return ASSAY_EINVALID;
		if (neg)
			v = -v;
	}
	if (v < INT16_MIN || v > INT16_MAX)
		return asm_error(a, s, "memory offset %lld out of range (-32768..32767)", (long long)v);
	*off = (int16_t)v;
	return expect(a, ']');
}

/* --- emission --- */

static void put_insn(struct asm_state *a, uint8_t op, uint8_t d, uint8_t s, int16_t off, int32_t imm)
{
	if (a->pass == 2 && !a->in_data) {
		uint8_t w[8] = {op, (uint8_t)(d | s << 4), (uint8_t)off, (uint8_t)((uint16_t)off >> 8)};
		le32_put(w + 4, (uint32_t)imm);
		buf_put(a->code, w, 8);
	}
	a->slot++;
}

static int imm32(struct asm_state *a, const char *at, asm_val v, int is_unsigned, int32_t *out)
{
	if (is_unsigned ? (v < 0 || v > UINT32_MAX) : (v < INT32_MIN || v > INT32_MAX)) {
		if (a->pass == 2)
			return asm_error(a, at, "immediate %lld out of range (%s)", (long long)v,
					 is_unsigned ? "0..4294967295" : "-2147483648..2147483647");
		v = 0;
	}
	*out = (int32_t)(uint32_t)(uint64_t)v;
	return 0;
}

static int jump_off(struct asm_state *a, const char *at, asm_val target, int16_t *off)
{
	asm_val rel = target - (asm_val)(a->slot + 1);
	if (a->pass == 1) {
		*off = 0;
		return 0;
	}
	if (rel < INT16_MIN || rel > INT16_MAX)
		return asm_error(a, at, "jump target too far");
	*off = (int16_t)rel;
	return 0;
}

static int read_label_target(struct asm_state *a, int16_t *off)
{
	skip_space(a);
	const char *at = a->p;
	char name[ASM_NAME_MAX];
	if (read_ident(a, name))
		return ASSAY_EINVALID;
	struct sym *s = sym_find(a, name);
	if (!s && a->pass == 2)
		return asm_error(a, at, "undefined label '%s'", name);
	if (s && s->kind != SYM_TEXT)
		return asm_error(a, at, "'%s' is not a code label", name);
	return jump_off(a, at, s ? s->value : 0, off);
}

/* Appends a data block header + payload in place (the .datablock form). */
static void put_datablock(struct asm_state *a, const uint8_t *p, size_t n)
{
	put_insn(a, OP_DATA, 0, 0, 0, (int32_t)n);
	size_t slots = vm_data_slots((uint32_t)n);
	if (a->pass == 2) {
		buf_put(a->code, p, n);
		static const uint8_t zero[8];
		buf_put(a->code, zero, slots * 8 - n);
	}
	a->slot += slots;
}

static int instruction(struct asm_state *a, const char *at, const char *mn)
{
	int op = -1;
	for (int i = 0; i < 256; i++)
		if (vm_opinfo[i].name && strcmp(vm_opinfo[i].name, mn) == 0 && i != OP_DATA)
			op = i;
	if (op < 0)
		return asm_error(a, at, "unknown instruction '%s'", mn);
	if (a->in_data)
		return asm_error(a, at, "instruction in the data section");
	uint8_t d = 0, s = 0, rb = 0;
	int16_t off = 0;
	int32_t imm = 0;
	asm_val v;
	const char *vat;
	int uns = op >= OP_ADDI && op <= OP_MODI;
	switch (vm_opinfo[op].fmt) {
	case F_NONE: break;
	case F_RR:
		if (read_reg(a, &d) || comma(a) || read_reg(a, &s))
			return ASSAY_EINVALID;
		break;
	case F_RI:
	case F_LEA: /* the same operands: a register and a 32-bit value */
		if (read_reg(a, &d) || comma(a))
			return ASSAY_EINVALID;
		skip_space(a);
		vat = a->p;
		if (read_expr(a, &v) || imm32(a, vat, v, 0, &imm))
			return ASSAY_EINVALID;
		break;
	case F_WIDE:
		if (read_reg(a, &d) || comma(a))
			return ASSAY_EINVALID;
		skip_space(a);
		vat = a->p;
		if (read_expr(a, &v))
			return ASSAY_EINVALID;
		if (v < INT64_MIN || v > (asm_val)UINT64_MAX)
			return asm_error(a, vat, "value does not fit 64 bits");
		put_insn(a, (uint8_t)op, d, 0, 0, (int32_t)(uint32_t)(uint64_t)v);
		put_insn(a, 0, 0, 0, 0, (int32_t)(uint32_t)((uint64_t)v >> 32));
		return 0;
	case F_RRR:
		if (read_reg(a, &d) || comma(a) || read_reg(a, &s) || comma(a) || read_reg(a, &rb))
			return ASSAY_EINVALID;
		imm = rb;
		break;
	case F_RRI:
		if (read_reg(a, &d) || comma(a) || read_reg(a, &s) || comma(a))
			return ASSAY_EINVALID;
		skip_space(a);
		vat = a->p;
		if (read_expr(a, &v) || imm32(a, vat, v, uns, &imm))
			return ASSAY_EINVALID;
		break;
	case F_J:
		if (read_label_target(a, &off))
			return ASSAY_EINVALID;
		break;
	case F_JRR:
		if (read_reg(a, &d) || comma(a) || read_reg(a, &s) || comma(a) ||
		    read_label_target(a, &off))
			return ASSAY_EINVALID;
		break;
	case F_JRI:
		if (read_reg(a, &d) || comma(a))
			return ASSAY_EINVALID;
		skip_space(a);
		vat = a->p;
		if (read_expr(a, &v) || imm32(a, vat, v, 0, &imm) || comma(a) ||
		    read_label_target(a, &off))
			return ASSAY_EINVALID;
		break;
	case F_LD:
		if (read_reg(a, &d) || comma(a) || read_memop(a, &s, &off))
			return ASSAY_EINVALID;
		break;
	case F_ST:
		if (read_memop(a, &d, &off) || comma(a) || read_reg(a, &s))
			return ASSAY_EINVALID;
		break;
	case F_SYS: {
		skip_space(a);
		vat = a->p;
		if (is_ident_start(*a->p)) {
			char name[ASM_NAME_MAX];
			const char *save = a->p;
			if (read_ident(a, name))
				return ASSAY_EINVALID;
			int found = -1;
			for (int i = 0; i < VM_SYS_COUNT; i++)
				if (strcmp(vm_hostcall_names[i], name) == 0)
					found = i;
			if (found >= 0) {
				imm = found;
				break;
			}
			a->p = save;
		}
		if (read_expr(a, &v) || imm32(a, vat, v, 0, &imm))
			return ASSAY_EINVALID;
		if (a->pass == 2 && (imm < 0 || imm >= VM_SYS_COUNT))
			return asm_error(a, vat, "unknown host call %d", imm);
		break;
	}
	}
	put_insn(a, (uint8_t)op, d, s, off, imm);
	return 0;
}

/* Adds bytes to the data section; returns their address in the code image. */
static asm_val data_add(struct asm_state *a, const uint8_t *p, size_t n)
{
	size_t at = a->data.len;
	buf_put(&a->data, p, n);
	return (asm_val)((a->text_slots + 1) * VM_INSN_BYTES + at);
}

/* Emits: lea r1, msg; movi r2, len; sys revert. */
static void emit_revert(struct asm_state *a, const struct buf *msg)
{
	asm_val addr = data_add(a, msg->data, msg->len);
	put_insn(a, OP_LEA, 1, 0, 0, a->pass == 2 ? (int32_t)addr : 0);
	put_insn(a, OP_MOVI, 2, 0, 0, (int32_t)msg->len);
	put_insn(a, OP_SYS, 0, 0, 0, VM_SYS_REVERT);
}

static int abi_directive(struct asm_state *a, const char *at, const char *name);

static int directive(struct asm_state *a, const char *at, const char *name)
{
	asm_val v;
	const char *vat;
	char sym[ASM_NAME_MAX];
	struct buf tmp;
	int rc = 0;
	buf_init(&tmp);
	if (strcmp(name, ".const") == 0) {
		skip_space(a);
		vat = a->p;
		if (read_ident(a, sym) || read_expr(a, &v))
			rc = ASSAY_EINVALID;
		else
			rc = sym_define(a, vat, sym, SYM_CONST, v);
	} else if (strcmp(name, ".data") == 0) {
		a->in_data = 1;
	} else if (strcmp(name, ".text") == 0) {
		a->in_data = 0;
	} else if (strcmp(name, ".ascii") == 0 || strcmp(name, ".bytes") == 0 ||
		   strcmp(name, ".datablock") == 0) {
		if (name[1] == 'a') {
			rc = read_string(a, &tmp);
		} else {
			skip_space(a);
			vat = a->p;
			const char *e = a->p;
			while (isxdigit((unsigned char)*e))
				e++;
			size_t hn = (size_t)(e - a->p);
			char *hex = strndup(a->p, hn);
			uint8_t *bytes = malloc(hn / 2 + 1);
			if (!hex || !bytes || hn % 2 ||
			    hex_decode(hex, bytes, hn / 2 + 1) != (long)(hn / 2))
				rc = asm_error(a, vat, "expected an even number of hex digits");
			else
				buf_put(&tmp, bytes, hn / 2);
			free(hex);
			free(bytes);
			a->p = e;
		}
		if (rc) {
		} else if (name[1] == 'd') {
			if (a->in_data)
				rc = asm_error(a, at, ".datablock belongs in the text section");
			else if (tmp.len > VM_CODE_MAX)
				rc = asm_error(a, at, "data block too large");
			else
				put_datablock(a, tmp.data, tmp.len);
		} else if (!a->in_data) {
			rc = asm_error(a, at, "%s outside the data section", name);
		} else {
			data_add(a, tmp.data, tmp.len);
		}
	} else if (strcmp(name, ".u8") == 0 || strcmp(name, ".u16") == 0 || strcmp(name, ".u32") == 0 ||
		   strcmp(name, ".u64") == 0 || strcmp(name, ".zero") == 0) {
		skip_space(a);
		vat = a->p;
		if (!a->in_data)
			return asm_error(a, at, "%s outside the data section", name);
		if (read_expr(a, &v))
			return ASSAY_EINVALID;
		if (name[1] == 'z') {
			if (v < 0 || v > VM_CODE_MAX)
				return asm_error(a, vat, ".zero count out of range");
			for (asm_val i = 0; i < v; i++)
				buf_put_u8(&a->data, 0);
			return 0;
		}
		int bits = atoi(name + 2);
		uint8_t w[8];
		le64_put(w, (uint64_t)v);
		if (bits < 64 && (v < 0 || v >= ((asm_val)1 << bits)))
			return asm_error(a, vat, "value does not fit %d bits", bits);
		data_add(a, w, (size_t)bits / 8);
	} else if (strcmp(name, ".dispatch") == 0) {
		/* .dispatch rS, "method", label: ldw r15, sel; jeq rS, r15, label */
		uint8_t r;
		int16_t off;
		if (read_reg(a, &r) || comma(a) || read_string(a, &tmp) || comma(a))
			return buf_free(&tmp), ASSAY_EINVALID;
		buf_put_u8(&tmp, 0);
		uint32_t sel = vm_selector((const char *)tmp.data);
		put_insn(a, OP_LDW, 15, 0, 0, (int32_t)sel);
		put_insn(a, 0, 0, 0, 0, 0);
		if (read_label_target(a, &off))
			rc = ASSAY_EINVALID;
		else
			put_insn(a, OP_JEQ, r, 15, off, 0);
	} else if (strcmp(name, ".revert") == 0) {
		if (!(rc = read_string(a, &tmp)))
			emit_revert(a, &tmp);
	} else if (strcmp(name, ".require") == 0) {
		/* .require rX, "msg": jnei rX, 0, +3; revert msg */
		uint8_t r;
		if (read_reg(a, &r) || comma(a) || read_string(a, &tmp))
			rc = ASSAY_EINVALID;
		else {
			put_insn(a, OP_JNEI, r, 0, 3, 0);
			emit_revert(a, &tmp);
		}
	} else if (strcmp(name, ".abi") == 0 || strcmp(name, ".init") == 0) {
		rc = abi_directive(a, at, name);
	} else {
		rc = asm_error(a, at, "unknown directive '%s'", name);
	}
	buf_free(&tmp);
	return rc;
}

static int assemble_line(struct asm_state *a)
{
	for (;;) {
		skip_space(a);
		if (at_end(a))
			return 0;
		const char *at = a->p;
		char name[ASM_NAME_MAX];
		if (read_ident(a, name))
			return ASSAY_EINVALID;
		if (*a->p == ':') { /* a label; more may follow on the line */
			a->p++;
			if (name[0] == '.')
				return asm_error(a, at, "a label cannot start with '.'");
			if (a->in_data)
				sym_define(a, at, name, SYM_DATA, (asm_val)a->data.len);
			else
				sym_define(a, at, name, SYM_TEXT, (asm_val)a->slot);
			if (a->failed)
				return ASSAY_EINVALID;
			continue;
		}
		int rc = name[0] == '.' ? directive(a, at, name) : instruction(a, at, name);
		if (rc)
			return rc;
		if (!at_end(a))
			return asm_error(a, a->p, "unexpected text after the operands");
		return 0;
	}
}

static int run_pass(struct asm_state *a, const char *text)
{
	a->slot = 0;
	a->in_data = 0;
	buf_reset(&a->data);
	a->line = 1;
	a->p = text;
	while (*a->p) {
		a->line_start = a->p;
		if (assemble_line(a))
			return ASSAY_EINVALID;
		while (*a->p && *a->p != '\n')
			a->p++;
		if (*a->p == '\n') {
			a->p++;
			a->line++;
		}
		if (a->slot * VM_INSN_BYTES > VM_CODE_MAX) {
			a->line_start = a->p;
			return asm_error(a, a->p, "code over the limit of %u bytes", VM_CODE_MAX);
		}
	}
	return 0;
}

int vm_asm_assemble(const char *text, const char *filename, struct buf *code, char *err, size_t errlen)
{
	return vm_asm_assemble_abi(text, filename, code, NULL, err, errlen);
}

int vm_asm_assemble_abi(const char *text, const char *filename, struct buf *code, struct vm_abi *abi,
			char *err, size_t errlen)
{
	struct asm_state a;
	memset(&a, 0, sizeof(a));
	a.abi = abi ? abi : calloc(1, sizeof(*a.abi));
	if (!a.abi)
		return ASSAY_ENOMEM;
	memset(a.abi, 0, sizeof(*a.abi));
	a.file = filename ? filename : "<input>";
	a.code = code;
	a.code_start = code->len;
	a.err = err;
	a.errlen = errlen;
	buf_init(&a.data);
	a.syms = calloc(ASM_SYMBOLS_MAX, sizeof(*a.syms));
	if (!a.syms) {
		if (a.abi != abi)
			free(a.abi);
		return ASSAY_ENOMEM;
	}
	a.pass = 1;
	int rc = run_pass(&a, text);
	if (!rc && a.abi->init_required && !vm_abi_find(a.abi, "init")) {
		a.line = a.init_line;
		a.line_start = a.init_line_start;
		rc = asm_error(&a, a.init_at, ".init without an .abi init(...) declaration");
	}
	if (!rc) {
		a.text_slots = a.slot;
		a.pass = 2;
		rc = run_pass(&a, text);
	}
	if (!rc && a.data.len) {
		a.in_data = 0;
		put_datablock(&a, a.data.data, a.data.len);
	}
	if (!rc && a.abi_declared) {
		uint8_t block[VM_ABI_BLOCK_LEN];
		memcpy(block, VM_ABI_MAGIC, VM_ABI_MAGIC_LEN);
		vm_abi_hash(a.abi, block + VM_ABI_MAGIC_LEN);
		put_datablock(&a, block, sizeof(block));
	}
	if (!rc && code->oom)
		rc = ASSAY_ENOMEM;
	if (!rc) {
		char why[120];
		size_t n = code->len - a.code_start;
		rc = vm_validate(n ? code->data + a.code_start : NULL, n, why, sizeof(why));
		if (rc && err && errlen)
			snprintf(err, errlen, "%s: %s", a.file, why);
	}
	if (rc)
		code->len = a.code_start;
	if (rc && abi)
		memset(abi, 0, sizeof(*abi));
	if (a.abi != abi)
		free(a.abi);
	buf_free(&a.data);
	free(a.syms);
	return rc ? (rc == ASSAY_ENOMEM ? rc : ASSAY_EINVALID) : 0;
}

/* --- ABI (asm.h, docs/contracts.md §10) --- */

static const struct {
	const char *name;
	size_t width; /* packed bytes; 0: the rest */
} abi_types[VM_ABI_TYPE_COUNT] = {
	[VM_ABI_U8] = {"u8", 1},
	[VM_ABI_U16] = {"u16", 2},
	[VM_ABI_U32] = {"u32", 4},
	[VM_ABI_U64] = {"u64", 8},
	[VM_ABI_BOOL] = {"bool", 1},
	[VM_ABI_AMOUNT] = {"amount", 8},
	[VM_ABI_ADDRESS] = {"address", 20},
	[VM_ABI_BYTES32] = {"bytes32", 32},
	[VM_ABI_BYTES] = {"bytes", 0},
};

const char *vm_abi_type_name(int type)
{
	return type >= 0 && type < VM_ABI_TYPE_COUNT ? abi_types[type].name : NULL;
}

size_t vm_abi_type_width(int type)
{
	return type >= 0 && type < VM_ABI_TYPE_COUNT ? abi_types[type].width : 0;
}

/* A cursor over one signature; stops at the end of the line or a comment. */
struct abi_lex {
	const char *start, *p;
	const char *err_at; /* where the first error was found */
	char msg[120];
};

static int abi_fail(struct abi_lex *l, const char *at, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int abi_fail(struct abi_lex *l, const char *at, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(l->msg, sizeof(l->msg), fmt, ap);
	va_end(ap);
	l->err_at = at;
	return ASSAY_EINVALID;
}

static void abi_space(struct abi_lex *l)
{
	while (*l->p == ' ' || *l->p == '\t' || *l->p == '\r')
		l->p++;
}

static int abi_at_end(struct abi_lex *l)
{
	abi_space(l);
	return *l->p == 0 || *l->p == '\n' || *l->p == ';' || *l->p == '#';
}

/* [A-Za-z_][A-Za-z0-9_]* into out */
static int abi_name(struct abi_lex *l, char out[VM_ABI_NAME_MAX], const char *what)
{
	abi_space(l);
	const char *s = l->p;
	if (!isalpha((unsigned char)*s) && *s != '_')
		return abi_fail(l, s, "expected %s", what);
	while (isalnum((unsigned char)*l->p) || *l->p == '_')
		l->p++;
	size_t n = (size_t)(l->p - s);
	if (n >= VM_ABI_NAME_MAX)
		return abi_fail(l, s, "%s longer than %d bytes", what, VM_ABI_NAME_MAX - 1);
	memcpy(out, s, n);
	out[n] = 0;
	return 0;
}

static int abi_type(struct abi_lex *l, uint8_t *type)
{
	char word[VM_ABI_NAME_MAX];
	abi_space(l);
	const char *s = l->p;
	if (abi_name(l, word, "a type"))
		return ASSAY_EINVALID;
	for (int t = 0; t < VM_ABI_TYPE_COUNT; t++)
		if (strcmp(abi_types[t].name, word) == 0) {
			*type = (uint8_t)t;
			return 0;
		}
	return abi_fail(l, s, "unknown type '%s' (u8 u16 u32 u64 bool amount address bytes32 bytes)", word);
}

static int abi_char(struct abi_lex *l, char c)
{
	abi_space(l);
	if (*l->p != c)
		return abi_fail(l, l->p, "expected '%c'", c);
	l->p++;
	return 0;
}

/* "type name, ..." up to and including ')', after the '('. what: "argument"
 * or "return value". */
static int abi_params(struct abi_lex *l, struct vm_abi_param *ps, int *n, const char *what)
{
	*n = 0;
	abi_space(l);
	if (*l->p == ')') {
		l->p++;
		return 0;
	}
	for (;;) {
		abi_space(l);
		const char *at = l->p;
		if (*n == VM_ABI_PARAMS_MAX)
			return abi_fail(l, at, "more than %d %ss", VM_ABI_PARAMS_MAX, what);
		struct vm_abi_param *q = &ps[*n];
		if (abi_type(l, &q->type) || abi_name(l, q->name, "a name"))
			return ASSAY_EINVALID;
		for (int i = 0; i < *n; i++)
			if (strcmp(ps[i].name, q->name) == 0)
				return abi_fail(l, at, "%s '%s' named twice", what, q->name);
		if (*n > 0 && ps[*n - 1].type == VM_ABI_BYTES)
			return abi_fail(l, at, "bytes takes the rest of the data: only the last %s", what);
		(*n)++;
		abi_space(l);
		if (*l->p == ',') {
			l->p++;
			continue;
		}
		return abi_char(l, ')');
	}
}

static int abi_method(struct abi_lex *l, struct vm_abi_method *m)
{
	memset(m, 0, sizeof(*m));
	if (abi_name(l, m->name, "a method name") || abi_char(l, '(') ||
	    abi_params(l, m->args, &m->nargs, "argument"))
		return ASSAY_EINVALID;
	abi_space(l);
	if (l->p[0] != '-' || l->p[1] != '>')
		return abi_fail(l, l->p, "expected '->' and the return type (void if none)");
	l->p += 2;
	abi_space(l);
	if (*l->p == '(') {
		l->p++;
		if (abi_params(l, m->rets, &m->nrets, "return value"))
			return ASSAY_EINVALID;
		if (m->nrets == 0)
			return abi_fail(l, l->p - 1, "no return values: write void");
		return 0;
	}
	if (strncmp(l->p, "void", 4) == 0 && !isalnum((unsigned char)l->p[4]) && l->p[4] != '_') {
		l->p += 4;
		return 0;
	}
	struct vm_abi_param *r = &m->rets[0];
	if (abi_type(l, &r->type))
		return ASSAY_EINVALID;
	m->nrets = 1;
	snprintf(r->name, sizeof(r->name), "value");
	if (!abi_at_end(l) && (isalpha((unsigned char)*l->p) || *l->p == '_'))
		return abi_name(l, r->name, "a name");
	return 0;
}

int vm_abi_parse_method(const char *text, struct vm_abi_method *m, char *err, size_t errlen)
{
	struct abi_lex l = {.start = text, .p = text};
	int rc = abi_method(&l, m);
	if (!rc)
		abi_space(&l);
	if (!rc && *l.p)
		rc = abi_fail(&l, l.p, "unexpected text after the signature");
	if (rc && err && errlen)
		snprintf(err, errlen, "column %d: %s", (int)(l.err_at - text) + 1, l.msg);
	return rc;
}

int vm_abi_add(struct vm_abi *abi, const struct vm_abi_method *m, char *err, size_t errlen)
{
	if (vm_abi_find(abi, m->name))
		return assay_fail(err, errlen, ASSAY_EEXISTS, "method '%s' declared twice", m->name);
	if (abi->nmethods == VM_ABI_METHODS_MAX)
		return assay_fail(err, errlen, ASSAY_ELIMIT, "more than %d methods", VM_ABI_METHODS_MAX);
	abi->methods[abi->nmethods++] = *m;
	return 0;
}

const struct vm_abi_method *vm_abi_find(const struct vm_abi *abi, const char *name)
{
	for (int i = 0; abi && i < abi->nmethods; i++)
		if (strcmp(abi->methods[i].name, name) == 0)
			return &abi->methods[i];
	return NULL;
}

static size_t format_params(const struct vm_abi_param *ps, int n, char *out, size_t cap)
{
	size_t used = 0;
	for (int i = 0; i < n && used < cap; i++)
		used += (size_t)snprintf(out + used, cap - used, "%s%s %s", i ? ", " : "",
					 abi_types[ps[i].type].name, ps[i].name);
	return used < cap ? used : cap - 1;
}

void vm_abi_format_method(const struct vm_abi_method *m, char out[VM_ABI_SIG_MAX])
{
	/* the limits make the longest signature fit: 2 x 16 x (7 + 1 + 31 + 2)
	 * plus the name and punctuation is under VM_ABI_SIG_MAX */
	size_t used = (size_t)snprintf(out, VM_ABI_SIG_MAX, "%s(", m->name);
	used += format_params(m->args, m->nargs, out + used, VM_ABI_SIG_MAX - used);
	if (m->nrets == 0)
		snprintf(out + used, VM_ABI_SIG_MAX - used, ") -> void");
	else if (m->nrets == 1)
		snprintf(out + used, VM_ABI_SIG_MAX - used, ") -> %s %s", abi_types[m->rets[0].type].name,
			 m->rets[0].name);
	else {
		used += (size_t)snprintf(out + used, VM_ABI_SIG_MAX - used, ") -> (");
		used += format_params(m->rets, m->nrets, out + used, VM_ABI_SIG_MAX - used);
		snprintf(out + used, VM_ABI_SIG_MAX - used, ")");
	}
}

void vm_abi_hash(const struct vm_abi *abi, uint8_t out[32])
{
	struct buf text;
	char sig[VM_ABI_SIG_MAX];
	buf_init(&text);
	buf_put(&text, "assay-abi 1\n", 12);
	if (abi->init_required)
		buf_put(&text, ".init\n", 6);
	for (int i = 0; i < abi->nmethods; i++) {
		vm_abi_format_method(&abi->methods[i], sig);
		buf_put(&text, sig, strlen(sig));
		buf_put_u8(&text, '\n');
	}
	/* out of memory leaves a hash no code carries: a mismatch, never a
	 * false match */
	hash_tagged("assay/abi", text.oom ? (const uint8_t *)"" : text.data, text.oom ? 0 : text.len, out);
	buf_free(&text);
}

int vm_abi_code_hash(const uint8_t *code, size_t n, uint8_t out[32])
{
	struct vm_code_info info;
	int rc = vm_analyze(code, n, &info, NULL, 0);
	if (rc)
		return rc;
	size_t block_slots = 1 + vm_data_slots(VM_ABI_BLOCK_LEN);
	rc = ASSAY_ENOTFOUND;
	if (info.nslots >= block_slots) {
		size_t at = info.nslots - block_slots;
		const uint8_t *h = code + at * VM_INSN_BYTES;
		if (info.is_insn[at] && h[0] == OP_DATA && vm_insn_imm(h) == VM_ABI_BLOCK_LEN &&
		    memcmp(h + VM_INSN_BYTES, VM_ABI_MAGIC, VM_ABI_MAGIC_LEN) == 0) {
			memcpy(out, h + VM_INSN_BYTES + VM_ABI_MAGIC_LEN, 32);
			rc = 0;
		}
	}
	vm_code_info_free(&info);
	return rc;
}

/* .abi SIGNATURE declares a method (pass 1 keeps it; pass 2 only steps
 * over it); .init says a deploy must call init with its arguments. */
static int abi_directive(struct asm_state *a, const char *at, const char *name)
{
	a->abi_declared = 1;
	if (strcmp(name, ".init") == 0) {
		if (a->pass == 1) {
			if (a->abi->init_required)
				return asm_error(a, at, ".init given twice");
			a->abi->init_required = 1;
			a->init_line = a->line;
			a->init_at = at;
			a->init_line_start = a->line_start;
		}
		return 0;
	}
	struct abi_lex l = {.start = a->p, .p = a->p};
	struct vm_abi_method m;
	if (abi_method(&l, &m) || !abi_at_end(&l))
		return asm_error(a, l.err_at ? l.err_at : l.p, "%s",
				 l.err_at ? l.msg : "unexpected text after the signature");
	a->p = l.p;
	char why[120];
	if (a->pass == 1 && vm_abi_add(a->abi, &m, why, sizeof(why)))
		return asm_error(a, at, "%s", why);
	return 0;
}

/* --- disassembler --- */

static void putf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void putf(struct buf *b, const char *fmt, ...)
{
	char line[256];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n > 0)
		buf_put(b, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

int vm_disasm(const uint8_t *code, size_t n, struct buf *text, char *err, size_t errlen)
{
	struct vm_code_info info;
	int rc = vm_analyze(code, n, &info, err, errlen);
	if (rc)
		return rc;
	uint8_t *target = calloc(info.nslots, 1);
	if (!target) {
		vm_code_info_free(&info);
		return ASSAY_ENOMEM;
	}
	for (size_t pc = 0; pc < info.nslots; pc++) {
		uint8_t fmt = vm_opinfo[code[pc * 8]].fmt;
		if (info.is_insn[pc] && (fmt == F_J || fmt == F_JRR || fmt == F_JRI))
			target[pc + 1 + vm_insn_off(code + pc * 8)] = 1;
	}
	for (size_t pc = 0; pc < info.nslots; pc++) {
		if (!info.is_insn[pc])
			continue;
		const uint8_t *c = code + pc * 8;
		const struct vm_opinfo *oi = &vm_opinfo[c[0]];
		uint8_t d = vm_insn_dst(c), s = vm_insn_src(c);
		int16_t off = vm_insn_off(c);
		int32_t imm = vm_insn_imm(c);
		long tgt = (long)pc + 1 + off;
		if (target[pc])
			putf(text, "L%zu:\n", pc);
		putf(text, "\t%s", oi->fmt == F_DATA ? ".datablock" : oi->name);
		switch (oi->fmt) {
		case F_NONE: break;
		case F_RR: putf(text, " r%u, r%u", d, s); break;
		case F_RI: putf(text, " r%u, %" PRId32, d, imm); break;
		case F_WIDE:
			putf(text, " r%u, %" PRIu64, d,
			     (uint64_t)(uint32_t)imm | (uint64_t)(uint32_t)vm_insn_imm(c + 8) << 32);
			break;
		case F_LEA: putf(text, " r%u, %" PRId32, d, imm); break;
		case F_RRR: putf(text, " r%u, r%u, r%" PRId32, d, s, imm); break;
		case F_RRI:
			if (c[0] >= OP_ADDI && c[0] <= OP_MODI)
				putf(text, " r%u, r%u, %" PRIu32, d, s, (uint32_t)imm);
			else
				putf(text, " r%u, r%u, %" PRId32, d, s, imm);
			break;
		case F_J: putf(text, " L%ld", tgt); break;
		case F_JRR: putf(text, " r%u, r%u, L%ld", d, s, tgt); break;
		case F_JRI: putf(text, " r%u, %" PRId32 ", L%ld", d, imm, tgt); break;
		case F_LD: putf(text, " r%u, [r%u %c %d]", d, s, off < 0 ? '-' : '+', off < 0 ? -off : off); break;
		case F_ST: putf(text, " [r%u %c %d], r%u", d, off < 0 ? '-' : '+', off < 0 ? -off : off, s); break;
		case F_SYS: putf(text, " %s", vm_hostcall_names[imm]); break;
		case F_DATA: {
			putf(text, " ");
			for (int32_t i = 0; i < imm; i++)
				putf(text, "%02x", c[8 + i]);
			break;
		}
		}
		putf(text, "\t; %zu\n", pc);
	}
	free(target);
	vm_code_info_free(&info);
	return text->oom ? ASSAY_ENOMEM : 0;
}
