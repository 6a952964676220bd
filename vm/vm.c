/* The interpreter and the host (docs/contracts.md): loads
 * validated code into a pre-decoded array, runs it with computed-goto
 * dispatch and per-run gas (no per-instruction gas check), serves host calls
 * against a struct ledger with nested snapshots, and applies TX_DEPLOY and
 * TX_CALL. Deterministic: no clock, I/O or randomness. Not for: validation
 * rules (validate.c), calldata and payload codecs (vm_codec.c). */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/keys.h"
#include "core/sha256.h"
#include "vm/vm.h"
#include "vm/vm_internal.h"

/* Pseudo-opcode of the pre-decoded array: not-an-instruction slots and the
 * sentinel after the last instruction (falling off the end traps). */
#define OPX_END 0x00

struct pins {
	const void *h;  /* handler label (computed goto) */
	uint8_t op;     /* opcode (switch dispatch, messages) */
	uint8_t d, s;   /* registers */
	uint8_t rb;     /* third register of F_RRR */
	int32_t tgt;    /* jump/call target, relative to this instruction */
	uint64_t imm;   /* immediate, extended as docs/contracts.md §1 says */
	int64_t gas;    /* gas of the run that starts here */
};

struct divmagic {
	uint64_t hi, lo; /* ceil(2^128 / d) for d >= 2; d == 1 handled apart */
};

struct vm_prog {
	struct pins *ins;       /* nslots + 1 (sentinel) */
	struct divmagic *magic; /* per slot; only for divi/modi */
	size_t nslots;
	const uint8_t *code;    /* borrowed from the frame's code buffer */
	size_t code_len;
};

struct vm_tx {             /* one transaction's shared state */
	const struct vm_env *env;
	const struct ledger *l;
	struct vm_event *events;
	size_t nevents, evcap;
	int depth;              /* contract frames on the stack */
};

struct vm_frame {
	struct vm_tx *tx;
	struct vm_prog prog;
	uint8_t *code;          /* malloc()ed copy loaded from the ledger */
	uint8_t *mem;
	uint64_t mem_size;      /* bytes, a multiple of VM_PAGE_BYTES */
	uint8_t self[ADDR_LEN], caller[ADDR_LEN];
	uint64_t value;
	int64_t gas;            /* remaining */
	int status;
	uint8_t *ret;           /* return data or revert message, malloc()ed */
	size_t ret_len;
	char error[160];
};

static int64_t clamp_gas(uint64_t g)
{
	return g > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)g;
}

/* --- loading --- */

static void prog_free(struct vm_prog *p)
{
	free(p->ins);
	free(p->magic);
	memset(p, 0, sizeof(*p));
}

static int is_unsigned_imm(uint8_t op)
{
	return op >= OP_ADDI && op <= OP_MODI;
}

static int prog_load(struct vm_prog *p, const uint8_t *code, size_t n, char *err, size_t errlen)
{
	struct vm_code_info info;
	memset(p, 0, sizeof(*p));
	int rc = vm_analyze(code, n, &info, err, errlen);
	if (rc)
		return rc;
	p->nslots = info.nslots;
	p->code = code;
	p->code_len = n;
	p->ins = calloc(info.nslots + 1, sizeof(*p->ins));
	if (!p->ins) {
		vm_code_info_free(&info);
		return ASSAY_ENOMEM;
	}
	for (size_t pc = 0; pc < info.nslots; pc++) {
		struct pins *q = &p->ins[pc];
		if (!info.is_insn[pc])
			continue; /* OPX_END: unreachable, validated */
		const uint8_t *c = code + pc * VM_INSN_BYTES;
		uint8_t op = c[0], fmt = vm_opinfo[op].fmt;
		int32_t imm = vm_insn_imm(c);
		q->op = op;
		q->d = vm_insn_dst(c);
		q->s = vm_insn_src(c);
		q->gas = (int64_t)info.run_gas[pc];
		q->imm = is_unsigned_imm(op) ? (uint64_t)(uint32_t)imm : (uint64_t)(int64_t)imm;
		switch (fmt) {
		case F_RRR: q->rb = (uint8_t)imm; break;
		case F_WIDE:
			q->imm = (uint64_t)(uint32_t)imm | (uint64_t)(uint32_t)vm_insn_imm(c + 8) << 32;
			break;
		case F_LEA: q->imm = VM_CODE_BASE + (uint64_t)(uint32_t)imm; break;
		case F_J: case F_JRR: case F_JRI: q->tgt = 1 + vm_insn_off(c); break;
		case F_LD: case F_ST: q->imm = (uint64_t)(int64_t)vm_insn_off(c); break;
		default: break;
		}
		if ((op == OP_DIVI || op == OP_MODI) && q->imm >= 2) {
			if (!p->magic) {
				p->magic = calloc(info.nslots, sizeof(*p->magic));
				if (!p->magic) {
					vm_code_info_free(&info);
					prog_free(p);
					return ASSAY_ENOMEM;
				}
			}
			/* ceil(2^128/d) = floor((2^128-1)/d) + 1: exact quotients
			 * for every u64 dividend (Granlund-Montgomery, k = 128). */
			unsigned __int128 m = ~(unsigned __int128)0 / q->imm + 1;
			p->magic[pc].hi = (uint64_t)(m >> 64);
			p->magic[pc].lo = (uint64_t)m;
		}
	}
	vm_code_info_free(&info);
	return 0;
}

static inline uint64_t magic_div(uint64_t n, const struct divmagic *m)
{
	/* floor(n * (hi:lo) / 2^128), with the carry out of the low words */
	uint64_t t_hi = (uint64_t)(((unsigned __int128)n * m->lo) >> 64);
	unsigned __int128 u = (unsigned __int128)n * m->hi;
	uint64_t u_lo = (uint64_t)u, u_hi = (uint64_t)(u >> 64);
	return u_hi + (u_lo + t_hi < u_lo);
}

/* --- memory seen by host calls --- */

/* Pointer to len bytes at addr: linear memory, or (read-only) the code. */
static uint8_t *mem_at(struct vm_frame *f, uint64_t addr, uint64_t len, int writable)
{
	if (len <= f->mem_size && addr <= f->mem_size - len)
		return f->mem + addr;
	if (!writable && addr >= VM_CODE_BASE && len <= f->prog.code_len &&
	    addr - VM_CODE_BASE <= f->prog.code_len - len)
		return (uint8_t *)f->prog.code + (addr - VM_CODE_BASE);
	return NULL;
}

/* Slow path of loads outside linear memory: the code region. */
static int load_code(struct vm_frame *f, uint64_t addr, unsigned n, uint64_t *v)
{
	const uint8_t *p = mem_at(f, addr, n, 0);
	if (!p)
		return -1;
	uint64_t x = 0;
	for (unsigned i = 0; i < n; i++)
		x |= (uint64_t)p[i] << (8 * i);
	*v = x;
	return 0;
}

static int trap(struct vm_frame *f, int status, const char *fmt, size_t pc)
{
	char what[120];
	snprintf(what, sizeof(what), "%s", fmt);
	snprintf(f->error, sizeof(f->error), "%s at pc %zu", what, pc);
	return f->status = status;
}

/* price per started 8-byte word of len bytes, saturating: a length from a
 * register may be anything, and is checked against memory only after. */
static uint64_t per_word(uint64_t len, uint64_t price)
{
	uint64_t words = len / 8 + 1;
	return words > UINT64_MAX / price ? UINT64_MAX : words * price;
}

static int charge(struct vm_frame *f, uint64_t amount)
{
	if (amount > (uint64_t)f->gas) {
		f->gas = -1;
		snprintf(f->error, sizeof(f->error), "out of gas");
		return f->status = ASSAY_EGAS;
	}
	f->gas -= (int64_t)amount;
	return 0;
}

static int run_contract(struct vm_tx *tx, const uint8_t self[ADDR_LEN], const uint8_t caller[ADDR_LEN],
			uint64_t value, const uint8_t *calldata, size_t cdlen, uint64_t gas_limit,
			int is_deploy, struct vm_frame *out);

/* --- host calls --- */

#define HOST_FAIL(msg) return trap(f, ASSAY_ETRAP, msg, pc)

static int set_ret(struct vm_frame *f, const uint8_t *p, size_t n)
{
	free(f->ret);
	f->ret = malloc(n ? n : 1);
	if (!f->ret)
		return ASSAY_ENOMEM;
	memcpy(f->ret, p, n);
	f->ret_len = n;
	return 0;
}

static int emit_event(struct vm_tx *tx, const uint8_t self[ADDR_LEN], const uint8_t *p, size_t n)
{
	if (tx->nevents == tx->evcap) {
		size_t ncap = tx->evcap ? tx->evcap * 2 : 8;
		struct vm_event *ne = realloc(tx->events, ncap * sizeof(*ne));
		if (!ne)
			return ASSAY_ENOMEM;
		tx->events = ne;
		tx->evcap = ncap;
	}
	struct vm_event *e = &tx->events[tx->nevents];
	e->data = malloc(n ? n : 1);
	if (!e->data)
		return ASSAY_ENOMEM;
	memcpy(e->data, p, n);
	e->len = n;
	memcpy(e->contract, self, ADDR_LEN);
	tx->nevents++;
	return 0;
}

static void events_truncate(struct vm_tx *tx, size_t to)
{
	while (tx->nevents > to)
		free(tx->events[--tx->nevents].data);
}

static void storage_key(const uint8_t self[ADDR_LEN], const uint8_t *slot, uint8_t key[HASH_LEN])
{
	uint8_t id[ADDR_LEN + 32];
	memcpy(id, self, ADDR_LEN);
	memcpy(id + ADDR_LEN, slot, 32);
	state_key(NS_STORAGE, id, sizeof(id), key);
}

/* Charges VM_GAS_NEW_KEY when key is not in the state (the call is about
 * to create it): 0, or the frame's status (out of gas, or a trap for a
 * local failure of the read). */
static int charge_new_key(struct vm_frame *f, const struct ledger *l, const uint8_t key[HASH_LEN],
			  const char *what, size_t pc)
{
	uint8_t none;
	size_t len;
	int rc = ledger_get_into(l, key, &none, 0, &len); /* ASSAY_ELIMIT: there, and longer than 0 */
	if (rc == ASSAY_ENOTFOUND)
		return charge(f, VM_GAS_NEW_KEY) ? f->status : 0;
	if (rc && rc != ASSAY_ELIMIT)
		return trap(f, rc, what, pc);
	return 0;
}

/* charge_new_key for the account of addr. */
static int charge_new_account(struct vm_frame *f, const struct ledger *l, const uint8_t addr[ADDR_LEN],
			      const char *what, size_t pc)
{
	uint8_t key[HASH_LEN];
	state_key(NS_ACCOUNT, addr, ADDR_LEN, key);
	return charge_new_key(f, l, key, what, pc);
}

static int sys_call_contract(struct vm_frame *f, uint64_t *r, size_t pc)
{
	struct vm_tx *tx = f->tx;
	uint64_t in_len = r[4], out_max = r[6];
	if (charge(f, VM_GAS_CALL) || charge(f, in_len * VM_GAS_BYTE))
		return f->status;
	const uint8_t *to = mem_at(f, r[1], ADDR_LEN, 0);
	const uint8_t *in = mem_at(f, r[3], in_len, 0);
	uint8_t *out = mem_at(f, r[5], out_max, 1);
	if (!to || !in || !out)
		HOST_FAIL("call_contract: memory out of bounds");
	if (in_len > VM_CALLDATA_MAX)
		HOST_FAIL("call_contract: calldata over the limit");
	uint8_t dest[ADDR_LEN];
	int rc;
	memcpy(dest, to, ADDR_LEN);
	r[0] = 1;
	r[1] = 0;
	if (tx->depth >= VM_CONTRACT_DEPTH_MAX)
		return 0; /* failure the caller can see, not a trap */
	if (r[2] && (rc = charge_new_account(f, tx->l, dest, "call_contract: ledger", pc)) != 0)
		return rc;
	uint64_t child_gas = r[7] < (uint64_t)f->gas ? r[7] : (uint64_t)f->gas;
	size_t snap = ledger_snapshot(tx->l);
	size_t nev = tx->nevents;
	rc = r[2] ? ledger_transfer(tx->l, f->self, dest, r[2]) : 0;
	if (rc) {
		ledger_revert(tx->l, snap);
		return assay_err_is_local(rc) ? trap(f, rc, "call_contract: ledger", pc) : 0;
	}
	struct account acct;
	rc = ledger_get_account(tx->l, dest, &acct);
	if (rc)
		return trap(f, rc, "call_contract: ledger", pc);
	static const uint8_t zero[HASH_LEN];
	if (memcmp(acct.code_hash, zero, HASH_LEN) == 0) {
		r[0] = 0; /* a plain account: the value moved, nothing runs */
		return 0;
	}
	struct vm_frame child;
	rc = run_contract(tx, dest, f->self, r[2], in, in_len, child_gas, 0, &child);
	uint64_t used = child_gas - (uint64_t)(child.gas < 0 ? 0 : child.gas);
	f->gas -= (int64_t)used;
	if (assay_err_is_local(child.status)) {
		free(child.ret);
		return trap(f, child.status, "call_contract: resource failure", pc);
	}
	if (child.status) {
		ledger_revert(tx->l, snap);
		events_truncate(tx, nev);
	} else {
		r[0] = 0;
	}
	if (child.ret_len) {
		size_t k = child.ret_len < out_max ? child.ret_len : out_max;
		memcpy(out, child.ret, k);
	}
	r[1] = child.ret_len;
	free(child.ret);
	return 0;
}

/* 0: go on; 1: halt with success (return); negative: the frame's status. */
static int host_call(struct vm_frame *f, uint64_t *r, uint32_t num, size_t pc)
{
	struct vm_tx *tx = f->tx;
	const struct ledger *l = tx->l;
	uint8_t key[HASH_LEN], *p, *q;
	int rc;
	switch (num) {
	case VM_SYS_STORAGE_GET: {
		if (charge(f, VM_GAS_STORAGE_GET) || charge(f, r[3] * VM_GAS_BYTE))
			return f->status;
		p = mem_at(f, r[1], 32, 0);
		q = mem_at(f, r[2], r[3], 1);
		if (!p || !q)
			HOST_FAIL("storage_get: memory out of bounds");
		storage_key(f->self, p, key);
		uint8_t *val;
		size_t len;
		rc = ledger_get(l, key, &val, &len);
		if (rc == ASSAY_ENOTFOUND) {
			r[0] = UINT64_MAX;
			return 0;
		}
		if (rc)
			return trap(f, rc, "storage_get: ledger", pc);
		memcpy(q, val, len < r[3] ? len : r[3]);
		free(val);
		r[0] = len;
		return 0;
	}
	case VM_SYS_STORAGE_SET:
		if (r[3] > VM_STORAGE_VALUE_MAX) /* first: r[3] * VM_GAS_STORAGE_BYTE must not wrap */
			HOST_FAIL("storage_set: value over the limit");
		if (charge(f, VM_GAS_STORAGE_SET) || charge(f, r[3] * VM_GAS_STORAGE_BYTE))
			return f->status;
		p = mem_at(f, r[1], 32, 0);
		q = mem_at(f, r[2], r[3], 0);
		if (!p || !q)
			HOST_FAIL("storage_set: memory out of bounds");
		storage_key(f->self, p, key);
		if ((rc = charge_new_key(f, l, key, "storage_set: ledger", pc)) != 0)
			return rc;
		rc = ledger_put(l, key, q, r[3]);
		if (rc)
			return trap(f, rc, "storage_set: ledger", pc);
		r[0] = 0;
		return 0;
	case VM_SYS_STORAGE_DEL:
		if (charge(f, VM_GAS_STORAGE_DEL))
			return f->status;
		if (!(p = mem_at(f, r[1], 32, 0)))
			HOST_FAIL("storage_del: memory out of bounds");
		storage_key(f->self, p, key);
		rc = ledger_del(l, key);
		if (rc)
			return trap(f, rc, "storage_del: ledger", pc);
		r[0] = 0;
		return 0;
	case VM_SYS_CALLER:
	case VM_SYS_SELF:
		if (charge(f, VM_GAS_ACCOUNT))
			return f->status;
		if (!(p = mem_at(f, r[1], ADDR_LEN, 1)))
			HOST_FAIL("caller/self: memory out of bounds");
		memcpy(p, num == VM_SYS_CALLER ? f->caller : f->self, ADDR_LEN);
		r[0] = 0;
		return 0;
	case VM_SYS_VALUE:
		if (charge(f, VM_GAS_ACCOUNT))
			return f->status;
		r[0] = f->value;
		return 0;
	case VM_SYS_BALANCE: {
		if (charge(f, VM_GAS_BALANCE))
			return f->status;
		if (!(p = mem_at(f, r[1], ADDR_LEN, 0)))
			HOST_FAIL("balance: memory out of bounds");
		struct account a;
		if ((rc = ledger_get_account(l, p, &a)))
			return trap(f, rc, "balance: ledger", pc);
		r[0] = a.balance;
		return 0;
	}
	case VM_SYS_TRANSFER:
		if (charge(f, VM_GAS_TRANSFER))
			return f->status;
		if (!(p = mem_at(f, r[1], ADDR_LEN, 0)))
			HOST_FAIL("transfer: memory out of bounds");
		if ((rc = charge_new_account(f, l, p, "transfer: ledger", pc)) != 0)
			return rc;
		rc = ledger_transfer(l, f->self, p, r[2]);
		if (rc == ASSAY_EBALANCE)
			HOST_FAIL("transfer: insufficient balance");
		if (rc == ASSAY_EOVERFLOW)
			HOST_FAIL("transfer: recipient balance would overflow");
		if (rc)
			return trap(f, rc, "transfer: ledger", pc);
		r[0] = 0;
		return 0;
	case VM_SYS_HEIGHT:
	case VM_SYS_TIME:
		if (charge(f, VM_GAS_ACCOUNT))
			return f->status;
		r[0] = num == VM_SYS_HEIGHT ? tx->env->height : tx->env->time_ms;
		return 0;
	case VM_SYS_SHA256:
		if (charge(f, VM_GAS_SHA256) || charge(f, per_word(r[2], VM_GAS_HASH_WORD)))
			return f->status;
		p = mem_at(f, r[1], r[2], 0);
		q = mem_at(f, r[3], HASH_LEN, 1);
		if (!p || !q)
			HOST_FAIL("sha256: memory out of bounds");
		sha256(p, r[2], key);
		memcpy(q, key, HASH_LEN);
		r[0] = 0;
		return 0;
	case VM_SYS_ED25519_VERIFY: {
		if (charge(f, VM_GAS_ED25519) || charge(f, per_word(r[3], VM_GAS_HASH_WORD)))
			return f->status;
		const uint8_t *pk = mem_at(f, r[1], PUBKEY_LEN, 0), *msg = mem_at(f, r[2], r[3], 0),
			      *sig = mem_at(f, r[4], SIG_LEN, 0);
		if (!pk || !msg || !sig)
			HOST_FAIL("ed25519_verify: memory out of bounds");
		keys_init();
		r[0] = sig_verify(pk, msg, r[3], sig) == 0;
		return 0;
	}
	case VM_SYS_JOB_STATUS: {
		if (charge(f, VM_GAS_JOB_STATUS))
			return f->status;
		if (!tx->env->jobs || !tx->env->jobs->job_status)
			HOST_FAIL("job host calls not available");
		if (!(p = mem_at(f, r[1], 32, 0)))
			HOST_FAIL("job_status: memory out of bounds");
		uint32_t state = 0;
		if ((rc = tx->env->jobs->job_status(tx->env->jobs->ctx, p, &state))) {
			/* Our failure stays ours (protocol §5.4): it ends the block,
			 * not the contract's call. */
			if (assay_err_is_local(rc))
				return trap(f, rc, "job_status: ledger", pc);
			HOST_FAIL("job_status: no such job");
		}
		r[0] = state;
		return 0;
	}
	case VM_SYS_JOB_SUBMIT:
		if (charge(f, VM_GAS_JOB_SUBMIT) || charge(f, r[2] * VM_GAS_BYTE))
			return f->status;
		if (!tx->env->jobs || !tx->env->jobs->job_submit)
			HOST_FAIL("job host calls not available");
		p = mem_at(f, r[1], r[2], 0);
		q = mem_at(f, r[3], 32, 1);
		if (!p || !q)
			HOST_FAIL("job_submit: memory out of bounds");
		if (tx->env->jobs->job_submit_gas &&
		    charge(f, tx->env->jobs->job_submit_gas(tx->env->jobs->ctx, p, r[2])))
			return f->status; /* the record's bytes, as a job_submit transaction pays */
		if ((rc = tx->env->jobs->job_submit(tx->env->jobs->ctx, f->self, p, r[2], key))) {
			if (assay_err_is_local(rc))
				return trap(f, rc, "job_submit: ledger", pc);
			char m[80];
			snprintf(m, sizeof(m), "job_submit: %s", assay_strerror(rc));
			HOST_FAIL(m);
		}
		memcpy(q, key, 32);
		r[0] = 0;
		return 0;
	case VM_SYS_EMIT:
		if (r[2] > VM_RETURN_MAX)
			HOST_FAIL("emit: event over the limit");
		if (charge(f, VM_GAS_EMIT) || charge(f, r[2] * VM_GAS_EMIT_BYTE))
			return f->status;
		if (tx->nevents >= VM_EVENTS_MAX)
			HOST_FAIL("emit: too many events");
		if (!(p = mem_at(f, r[1], r[2], 0)))
			HOST_FAIL("emit: memory out of bounds");
		if ((rc = emit_event(tx, f->self, p, r[2])))
			return trap(f, rc, "emit: out of memory", pc);
		r[0] = 0;
		return 0;
	case VM_SYS_REVERT:
	case VM_SYS_RETURN: {
		if (r[2] > VM_RETURN_MAX)
			HOST_FAIL("return data over the limit");
		if (charge(f, r[2] * VM_GAS_BYTE))
			return f->status;
		if (!(p = mem_at(f, r[1], r[2], 0)))
			HOST_FAIL("return/revert: memory out of bounds");
		if ((rc = set_ret(f, p, r[2])))
			return f->status = rc;
		if (num == VM_SYS_RETURN)
			return 1;
		size_t k = 0;
		char text[100];
		for (; k < r[2] && k < sizeof(text) - 1; k++)
			text[k] = p[k] >= 0x20 && p[k] < 0x7f ? (char)p[k] : '?';
		text[k] = 0;
		snprintf(f->error, sizeof(f->error), "revert: %s", text);
		return f->status = ASSAY_EREVERT;
	}
	case VM_SYS_CALL_CONTRACT:
		return sys_call_contract(f, r, pc);
	case VM_SYS_MEM_GROW: {
		uint64_t pages = f->mem_size / VM_PAGE_BYTES;
		if (r[1] > VM_MEM_PAGES_MAX || pages + r[1] > VM_MEM_PAGES_MAX)
			HOST_FAIL("mem_grow: over the memory limit of 16 pages");
		if (charge(f, r[1] * VM_GAS_PAGE))
			return f->status;
		uint64_t nsize = (pages + r[1]) * VM_PAGE_BYTES;
		uint8_t *nm = realloc(f->mem, nsize);
		if (!nm)
			return trap(f, ASSAY_ENOMEM, "mem_grow: out of memory", pc);
		memset(nm + f->mem_size, 0, nsize - f->mem_size);
		f->mem = nm;
		f->mem_size = nsize;
		r[0] = pages;
		return 0;
	}
	case VM_SYS_MEM_SIZE:
		r[0] = f->mem_size;
		return 0;
	}
	HOST_FAIL("unknown host call");
}

/* --- the interpreter --- */

#if defined(__GNUC__) && !defined(VM_NO_COMPUTED_GOTO)
#define VM_COMPUTED_GOTO 1
#endif

static int exec(struct vm_frame *f, uint64_t *r)
{
	struct pins *const base = f->prog.ins;
	const struct divmagic *const magic = f->prog.magic;
	struct pins *stack[VM_CALL_DEPTH_MAX];
	unsigned sp = 0;
	uint8_t *mem = f->mem;
	uint64_t msize = f->mem_size;
	int64_t gas = f->gas;
	struct pins *ip = base;
	int rc;

#ifdef VM_COMPUTED_GOTO
	static const void *const labels[256] = {
		[OPX_END] = &&L_END,
#define X(e, code, name, fmt, g) [code] = &&L_##e,
		VM_OPS(X)
#undef X
	};
	if (!base[0].h)
		for (size_t i = 0; i <= f->prog.nslots; i++)
			base[i].h = labels[base[i].op];
#define DISPATCH() goto *ip->h
#define CASE(e) L_##e:
#else
#define DISPATCH() goto dispatch
#define CASE(e) case OP_##e:
#endif
#define NEXT() do { ip++; DISPATCH(); } while (0)
#define ENTER(p) do { ip = (p); gas -= ip->gas; if (__builtin_expect(gas < 0, 0)) goto out_of_gas; DISPATCH(); } while (0)
#define JUMP() ENTER(ip + ip->tgt)
#define PC() ((size_t)(ip - base))
#define TRAP(msg) do { rc = trap(f, ASSAY_ETRAP, msg, PC()); goto done; } while (0)
#define RB r[ip->rb]
#define RS r[ip->s]
#define RD r[ip->d]
#define CHECKED(fn, x, y) do { if (__builtin_##fn##_overflow((x), (y), &RD)) TRAP("arithmetic overflow"); NEXT(); } while (0)
#define COND(cmp, y) do { if (cmp) JUMP(); ENTER(ip + 1); } while (0)
#define LOAD(n, get) do { uint64_t a_ = RS + ip->imm, v_; \
		if (__builtin_expect(a_ <= msize - (n), 1)) { RD = get(mem + a_); NEXT(); } \
		f->gas = gas; if (load_code(f, a_, (n), &v_)) TRAP("load out of bounds"); RD = v_; NEXT(); } while (0)
#define STORE(n, put) do { uint64_t a_ = RD + ip->imm; \
		if (__builtin_expect(a_ <= msize - (n), 1)) { put(mem + a_, RS); NEXT(); } \
		TRAP("store out of bounds"); } while (0)
#define GET8(p) ((uint64_t)*(p))
#define GET16(p) ((uint64_t)((p)[0] | (p)[1] << 8))
#define GET32(p) ((uint64_t)le32_get(p))
#define GET64(p) le64_get(p)
#define PUT8(p, v) (*(p) = (uint8_t)(v))
#define PUT16(p, v) ((p)[0] = (uint8_t)(v), (p)[1] = (uint8_t)((v) >> 8))
#define PUT32(p, v) le32_put((p), (uint32_t)(v))
#define PUT64(p, v) le64_put((p), (v))

	ENTER(base);
#ifndef VM_COMPUTED_GOTO
dispatch:
	switch (ip->op) {
#endif
	CASE(MOV) RD = RS; NEXT();
	CASE(MOVI) RD = ip->imm; NEXT();
	CASE(LDW) RD = ip->imm; ip++; NEXT();
	CASE(LEA) RD = ip->imm; NEXT();
	CASE(NOT) RD = ~RS; NEXT();
	CASE(NEG) RD = (uint64_t)0 - RS; NEXT();
	CASE(ADD) CHECKED(add, RS, RB);
	CASE(SUB) CHECKED(sub, RS, RB);
	CASE(MUL) CHECKED(mul, RS, RB);
	CASE(DIV) if (!RB) TRAP("division by zero"); RD = RS / RB; NEXT();
	CASE(MOD) if (!RB) TRAP("division by zero"); RD = RS % RB; NEXT();
	CASE(ADDW) RD = RS + RB; NEXT();
	CASE(SUBW) RD = RS - RB; NEXT();
	CASE(MULW) RD = RS * RB; NEXT();
	CASE(AND) RD = RS & RB; NEXT();
	CASE(OR) RD = RS | RB; NEXT();
	CASE(XOR) RD = RS ^ RB; NEXT();
	CASE(SHL) RD = RS << (RB & 63); NEXT();
	CASE(SHR) RD = RS >> (RB & 63); NEXT();
	CASE(SAR) RD = (uint64_t)((int64_t)RS >> (RB & 63)); NEXT();
	CASE(EQ) RD = RS == RB; NEXT();
	CASE(NE) RD = RS != RB; NEXT();
	CASE(LT) RD = RS < RB; NEXT();
	CASE(LE) RD = RS <= RB; NEXT();
	CASE(GT) RD = RS > RB; NEXT();
	CASE(GE) RD = RS >= RB; NEXT();
	CASE(SLT) RD = (int64_t)RS < (int64_t)RB; NEXT();
	CASE(SLE) RD = (int64_t)RS <= (int64_t)RB; NEXT();
	CASE(ADDI) CHECKED(add, RS, ip->imm);
	CASE(SUBI) CHECKED(sub, RS, ip->imm);
	CASE(MULI) CHECKED(mul, RS, ip->imm);
	CASE(DIVI) {
		if (ip->imm < 2) {
			if (!ip->imm)
				TRAP("division by zero");
			RD = RS;
			NEXT();
		}
		RD = magic_div(RS, &magic[PC()]);
		NEXT();
	}
	CASE(MODI) {
		if (ip->imm < 2) {
			if (!ip->imm)
				TRAP("division by zero");
			RD = 0;
			NEXT();
		}
		uint64_t n_ = RS;
		RD = n_ - magic_div(n_, &magic[PC()]) * ip->imm;
		NEXT();
	}
	CASE(ADDWI) RD = RS + ip->imm; NEXT();
	CASE(SUBWI) RD = RS - ip->imm; NEXT();
	CASE(MULWI) RD = RS * ip->imm; NEXT();
	CASE(ANDI) RD = RS & ip->imm; NEXT();
	CASE(ORI) RD = RS | ip->imm; NEXT();
	CASE(XORI) RD = RS ^ ip->imm; NEXT();
	CASE(SHLI) RD = RS << (ip->imm & 63); NEXT();
	CASE(SHRI) RD = RS >> (ip->imm & 63); NEXT();
	CASE(SARI) RD = (uint64_t)((int64_t)RS >> (ip->imm & 63)); NEXT();
	CASE(EQI) RD = RS == ip->imm; NEXT();
	CASE(NEI) RD = RS != ip->imm; NEXT();
	CASE(LTI) RD = RS < ip->imm; NEXT();
	CASE(LEI) RD = RS <= ip->imm; NEXT();
	CASE(GTI) RD = RS > ip->imm; NEXT();
	CASE(GEI) RD = RS >= ip->imm; NEXT();
	CASE(SLTI) RD = (int64_t)RS < (int64_t)ip->imm; NEXT();
	CASE(SLEI) RD = (int64_t)RS <= (int64_t)ip->imm; NEXT();
	CASE(JMP) JUMP();
	CASE(JEQ) COND(RD == RS, 0);
	CASE(JNE) COND(RD != RS, 0);
	CASE(JLT) COND(RD < RS, 0);
	CASE(JLE) COND(RD <= RS, 0);
	CASE(JGT) COND(RD > RS, 0);
	CASE(JGE) COND(RD >= RS, 0);
	CASE(JSLT) COND((int64_t)RD < (int64_t)RS, 0);
	CASE(JSLE) COND((int64_t)RD <= (int64_t)RS, 0);
	CASE(JEQI) COND(RD == ip->imm, 0);
	CASE(JNEI) COND(RD != ip->imm, 0);
	CASE(JLTI) COND(RD < ip->imm, 0);
	CASE(JLEI) COND(RD <= ip->imm, 0);
	CASE(JGTI) COND(RD > ip->imm, 0);
	CASE(JGEI) COND(RD >= ip->imm, 0);
	CASE(JSLTI) COND((int64_t)RD < (int64_t)ip->imm, 0);
	CASE(JSLEI) COND((int64_t)RD <= (int64_t)ip->imm, 0);
	CASE(CALL)
		if (sp == VM_CALL_DEPTH_MAX)
			TRAP("call depth limit of 64 reached");
		stack[sp++] = ip + 1;
		JUMP();
	CASE(RET)
		if (!sp) {
			rc = 0;
			goto done;
		}
		ENTER(stack[--sp]);
	CASE(LD8) LOAD(1, GET8);
	CASE(LD16) LOAD(2, GET16);
	CASE(LD32) LOAD(4, GET32);
	CASE(LD64) LOAD(8, GET64);
	CASE(ST8) STORE(1, PUT8);
	CASE(ST16) STORE(2, PUT16);
	CASE(ST32) STORE(4, PUT32);
	CASE(ST64) STORE(8, PUT64);
	CASE(MCOPY) {
		uint64_t len = RB;
		f->gas = gas;
		if (charge(f, (len / 8 + 1) * VM_GAS_MCOPY_WORD)) {
			rc = f->status;
			goto done;
		}
		gas = f->gas;
		uint8_t *dst = mem_at(f, RD, len, 1);
		const uint8_t *src = mem_at(f, RS, len, 0);
		if (!dst || !src)
			TRAP("mcopy out of bounds");
		memmove(dst, src, len);
		NEXT();
	}
	CASE(SYS) {
		f->gas = gas;
		rc = host_call(f, r, (uint32_t)ip->imm, PC());
		if (rc) {
			gas = f->gas;
			if (rc > 0)
				rc = 0;
			goto done;
		}
		gas = f->gas;
		mem = f->mem;
		msize = f->mem_size;
		NEXT();
	}
	CASE(DATA) TRAP("executed a data block");
#ifdef VM_COMPUTED_GOTO
	L_END:
#else
	case OPX_END:
	default:
#endif
		TRAP("fell off the end of code");
#ifndef VM_COMPUTED_GOTO
	}
#endif

out_of_gas:
	snprintf(f->error, sizeof(f->error), "out of gas");
	gas = -1;
	rc = ASSAY_EGAS;
done:
	f->gas = gas;
	f->status = rc;
	return rc;
}

/* --- frames --- */

static int load_code_record(const struct ledger *l, const uint8_t code_hash[HASH_LEN], uint8_t **code,
			    size_t *n)
{
	uint8_t key[HASH_LEN], *val;
	size_t len;
	state_key(NS_CODE, code_hash, HASH_LEN, key);
	int rc = ledger_get(l, key, &val, &len);
	if (rc)
		return rc;
	/* record: u8 version (1) || code bytes (docs/contracts.md §6); only a
	 * deploy writes one, so another shape is a damaged database (protocol
	 * §5.4), not the transaction's failure */
	if (len < 2 || val[0] != 1) {
		free(val);
		return ASSAY_ECORRUPT;
	}
	memmove(val, val + 1, len - 1);
	*code = val;
	*n = len - 1;
	return 0;
}

static int run_contract(struct vm_tx *tx, const uint8_t self[ADDR_LEN], const uint8_t caller[ADDR_LEN],
			uint64_t value, const uint8_t *calldata, size_t cdlen, uint64_t gas_limit,
			int is_deploy, struct vm_frame *f)
{
	memset(f, 0, sizeof(*f));
	f->tx = tx;
	f->gas = clamp_gas(gas_limit);
	memcpy(f->self, self, ADDR_LEN);
	memcpy(f->caller, caller, ADDR_LEN);
	f->value = value;
	if (cdlen > VM_CALLDATA_MAX) {
		snprintf(f->error, sizeof(f->error), "calldata of %zu bytes over the limit", cdlen);
		return f->status = ASSAY_ELIMIT;
	}
	struct account acct;
	size_t n = 0;
	int rc = ledger_get_account(tx->l, self, &acct);
	if (!rc) {
		static const uint8_t none[HASH_LEN];
		rc = load_code_record(tx->l, acct.code_hash, &f->code, &n);
		if (rc == ASSAY_ENOTFOUND && memcmp(acct.code_hash, none, HASH_LEN) != 0)
			rc = ASSAY_ECORRUPT; /* an account names code that is not stored: damage */
	}
	if (rc) {
		snprintf(f->error, sizeof(f->error), "cannot load contract code: %s", assay_strerror(rc));
		return f->status = rc;
	}
	/* Reading, checking and decoding the code is work by its size on
	 * every run (code is not cached): without this a loop calling a 64 KiB
	 * contract paid 2,000 gas a call for about 40 us of it. */
	if (charge(f, (uint64_t)n * VM_GAS_CODE_BYTE)) {
		free(f->code);
		f->code = NULL;
		return f->status;
	}
	rc = prog_load(&f->prog, f->code, n, f->error, sizeof(f->error));
	if (rc && !assay_err_is_local(rc))
		rc = ASSAY_ECORRUPT; /* stored code passed vm_validate at its deploy: damaged since */
	if (!rc) {
		f->mem = calloc(1, VM_PAGE_BYTES);
		if (!f->mem)
			rc = ASSAY_ENOMEM;
	}
	if (!rc) {
		uint64_t r[16] = {0};
		f->mem_size = VM_PAGE_BYTES;
		_Static_assert(VM_CALLDATA_MAX <= VM_PAGE_BYTES, "calldata fits the first page");
		assert(cdlen <= VM_CALLDATA_MAX); /* refused above, before any work */
		if (cdlen)
			memcpy(f->mem, calldata, cdlen);
		r[1] = cdlen;
		r[2] = 0;
		r[3] = (uint64_t)is_deploy;
		tx->depth++;
		rc = exec(f, r);
		tx->depth--;
		assert(tx->depth >= 0);
	}
	if (f->status == 0)
		f->status = rc;
	if (f->status != 0 && f->status != ASSAY_EREVERT) {
		free(f->ret);
		f->ret = NULL;
		f->ret_len = 0;
	}
	prog_free(&f->prog);
	free(f->mem);
	free(f->code);
	f->mem = NULL;
	f->code = NULL;
	return f->status;
}

/* --- the API --- */

void vm_result_free(struct vm_result *r)
{
	free(r->ret);
	for (size_t i = 0; i < r->nevents; i++)
		free(r->events[i].data);
	free(r->events);
	r->ret = NULL;
	r->events = NULL;
	r->ret_len = r->nevents = 0;
}

void vm_contract_address(const uint8_t deployer[20], uint64_t nonce, uint8_t out[20])
{
	uint8_t id[ADDR_LEN + 8], h[HASH_LEN];
	memcpy(id, deployer, ADDR_LEN);
	le64_put(id + ADDR_LEN, nonce);
	hash_tagged("assay/contract", id, sizeof(id), h);
	memcpy(out, h, ADDR_LEN);
}

void vm_code_hash(const uint8_t *code, size_t n, uint8_t out[32])
{
	hash_tagged("assay/code", code, n, out);
}

static int finish(struct vm_tx *tx, struct vm_result *res, size_t snap, int status, uint64_t gas_limit,
		  int64_t gas_left, struct vm_frame *f)
{
	res->status = status;
	res->gas_used = status == ASSAY_EGAS || gas_left < 0 ? gas_limit
		       : (uint64_t)(clamp_gas(gas_limit) - gas_left);
	if (f) {
		if (f->error[0] && status)
			snprintf(res->error, sizeof(res->error), "%s", f->error);
		res->ret = f->ret;
		res->ret_len = f->ret_len;
		f->ret = NULL;
	}
	if (status) {
		ledger_revert(tx->l, snap);
		events_truncate(tx, 0);
		free(tx->events);
	} else {
		res->events = tx->events;
		res->nevents = tx->nevents;
	}
	tx->events = NULL;
	return status;
}

static int call_internal(const struct vm_env *env, const uint8_t sender[ADDR_LEN], const uint8_t to[ADDR_LEN],
			 uint64_t value, const uint8_t *calldata, size_t cdlen, uint64_t gas_limit,
			 struct vm_result *res)
{
	static const uint8_t zero[HASH_LEN];
	struct vm_tx tx = {.env = env, .l = env->ledger};
	size_t snap = ledger_snapshot(tx.l);
	struct account acct;
	int rc = ledger_get_account(tx.l, to, &acct);
	if (!rc && memcmp(acct.code_hash, zero, HASH_LEN) == 0) {
		snprintf(res->error, sizeof(res->error), "not a contract");
		rc = ASSAY_EINVALID;
	}
	if (!rc && value && (rc = ledger_transfer(tx.l, sender, to, value)))
		snprintf(res->error, sizeof(res->error), "call value: %s", assay_strerror(rc));
	if (rc)
		return finish(&tx, res, snap, rc, 0, 0, NULL);
	struct vm_frame f;
	rc = run_contract(&tx, to, sender, value, calldata, cdlen, gas_limit, 0, &f);
	return finish(&tx, res, snap, rc, gas_limit, f.gas, &f);
}

int vm_apply_call(const struct vm_env *env, const uint8_t sender[20], uint64_t gas_limit,
		  const uint8_t *payload, size_t n, struct vm_result *res)
{
	memset(res, 0, sizeof(*res));
	struct vm_call_payload p;
	int rc = vm_call_payload_decode(&p, payload, n);
	if (rc) {
		snprintf(res->error, sizeof(res->error), "malformed call payload");
		return res->status = rc;
	}
	return vm_apply_call_payload(env, sender, gas_limit, &p, res);
}

int vm_apply_call_payload(const struct vm_env *env, const uint8_t sender[20], uint64_t gas_limit,
			  const struct vm_call_payload *p, struct vm_result *res)
{
	memset(res, 0, sizeof(*res));
	return call_internal(env, sender, p->to, p->value, p->calldata, p->calldata_len, gas_limit, res);
}

int vm_query(const struct vm_env *env, const uint8_t caller[20], const uint8_t to[20],
	     const uint8_t *calldata, size_t n, uint64_t gas_limit, struct vm_result *res)
{
	memset(res, 0, sizeof(*res));
	ledger_mem_t *overlay = ledger_mem_new(env->ledger);
	if (!overlay) {
		snprintf(res->error, sizeof(res->error), "out of memory");
		return res->status = ASSAY_ENOMEM;
	}
	struct ledger ol = ledger_mem_ledger(overlay);
	struct vm_env qenv = *env;
	qenv.ledger = &ol;
	int rc = call_internal(&qenv, caller, to, 0, calldata, n, gas_limit, res);
	ledger_mem_free(overlay);
	return rc;
}

uint64_t vm_deploy_base_gas(size_t code_len)
{
	return VM_GAS_DEPLOY + (uint64_t)code_len * VM_GAS_DEPLOY_BYTE; /* code_len <= VM_CODE_MAX */
}

int vm_apply_deploy(const struct vm_env *env, const uint8_t sender[20], uint64_t sender_nonce,
		    uint64_t gas_limit, const uint8_t *payload, size_t n, struct vm_result *res)
{
	memset(res, 0, sizeof(*res));
	struct vm_deploy_payload p;
	int rc = vm_deploy_payload_decode(&p, payload, n);
	if (rc) {
		snprintf(res->error, sizeof(res->error), "malformed deploy payload");
		return res->status = rc;
	}
	return vm_apply_deploy_payload(env, sender, sender_nonce, gas_limit, &p, res);
}

int vm_apply_deploy_payload(const struct vm_env *env, const uint8_t sender[20], uint64_t sender_nonce,
			    uint64_t gas_limit, const struct vm_deploy_payload *p, struct vm_result *res)
{
	static const uint8_t zero[HASH_LEN];
	int rc;
	memset(res, 0, sizeof(*res));
	char why[120];
	if ((rc = vm_validate(p->code, p->code_len, why, sizeof(why)))) {
		snprintf(res->error, sizeof(res->error), "invalid code: %s", why);
		return res->status = rc;
	}
	vm_contract_address(sender, sender_nonce, res->contract);
	uint64_t cost = vm_deploy_base_gas(p->code_len);
	if (cost > gas_limit) {
		snprintf(res->error, sizeof(res->error), "out of gas");
		res->gas_used = gas_limit;
		return res->status = ASSAY_EGAS;
	}
	struct vm_tx tx = {.env = env, .l = env->ledger};
	size_t snap = ledger_snapshot(tx.l);
	struct account acct;
	uint8_t hash[HASH_LEN], key[HASH_LEN];
	rc = ledger_get_account(tx.l, res->contract, &acct);
	if (!rc && memcmp(acct.code_hash, zero, HASH_LEN) != 0) {
		snprintf(res->error, sizeof(res->error), "contract address already in use");
		rc = ASSAY_EEXISTS;
	}
	if (!rc) {
		uint8_t *rec = malloc(p->code_len + 1);
		if (!rec)
			rc = ASSAY_ENOMEM;
		else {
			rec[0] = 1;
			memcpy(rec + 1, p->code, p->code_len);
			vm_code_hash(p->code, p->code_len, hash);
			state_key(NS_CODE, hash, HASH_LEN, key);
			rc = ledger_put(tx.l, key, rec, p->code_len + 1);
			free(rec);
		}
		if (!rc) {
			memcpy(acct.code_hash, hash, HASH_LEN);
			rc = ledger_put_account(tx.l, res->contract, &acct);
		}
		if (!rc && p->value && (rc = ledger_transfer(tx.l, sender, res->contract, p->value)))
			snprintf(res->error, sizeof(res->error), "deploy value: %s", assay_strerror(rc));
		else if (rc)
			snprintf(res->error, sizeof(res->error), "storing code: %s", assay_strerror(rc));
	}
	if (rc || !p->calldata_len) {
		return finish(&tx, res, snap, rc, cost, 0, NULL);
	}
	struct vm_frame f;
	uint64_t run_limit = gas_limit - cost;
	rc = run_contract(&tx, res->contract, sender, p->value, p->calldata, p->calldata_len, run_limit, 1, &f);
	rc = finish(&tx, res, snap, rc, run_limit, f.gas, &f);
	res->gas_used = res->status == ASSAY_EGAS ? gas_limit : res->gas_used + cost;
	return rc;
}
