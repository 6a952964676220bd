/* One error convention for the whole project: functions return int, 0 on
 * success or a negative ASSAY_E* code from this enum. Messages for people are
 * filled into caller-supplied buffers; this file only names the codes. */
#ifndef ASSAY_CORE_ERROR_H
#define ASSAY_CORE_ERROR_H

#include <stddef.h>

enum assay_err {
	ASSAY_OK = 0,
	ASSAY_ENOMEM = -1,    /* allocation failed */
	ASSAY_EDECODE = -2,   /* malformed or non-canonical encoding */
	ASSAY_ELIMIT = -3,    /* a documented size or count limit exceeded */
	ASSAY_ESIG = -4,      /* signature or proof does not verify */
	ASSAY_EINVALID = -5,  /* well-formed but breaks a rule */
	ASSAY_EIO = -6,       /* disk, socket or database failure */
	ASSAY_ENOTFOUND = -7, /* no such block, tx, account, key ... */
	ASSAY_EOVERFLOW = -8, /* amount arithmetic would overflow */
	ASSAY_EBALANCE = -9,  /* insufficient funds */
	ASSAY_ENONCE = -10,   /* nonce gap or replay */
	ASSAY_ECHAIN = -11,   /* wrong chain_id or network */
	ASSAY_EEXISTS = -12,  /* already present */
	ASSAY_EGAS = -13,     /* out of gas */
	ASSAY_ETRAP = -14,    /* VM trap */
	ASSAY_EAUTH = -15,    /* wrong passphrase, cookie or permission */
	ASSAY_EARG = -16,     /* bad argument from a caller or user */
	ASSAY_EFEE = -17,     /* fee too low */
	ASSAY_EFULL = -18,    /* a bounded container is full */
	ASSAY_EREVERT = -19,  /* contract reverted */
	ASSAY_ECORRUPT = -20, /* stored data fails its own checks (damaged disk) */
	ASSAY_ECANCELED = -21, /* stopped on request (a signal) before it finished */
	ASSAY_EUNAVAIL = -22, /* data a block references (output chunks) not received yet: no verdict */
};

/* Two classes of failure, kept apart everywhere a block or transaction is
 * judged (docs/protocol.md §5.4):
 * - a *local* failure is this node's own fault: out of memory, a failed disk
 *   read or write, a damaged database. It is never a receipt, never an
 *   invalid-block verdict and never a peer's ban score; the operation stops
 *   and the state stays as it was.
 * - every other code is a verdict on the input itself: the same input gets
 *   the same verdict on every node. */
static inline int assay_err_is_local(int err)
{
	return err == ASSAY_ENOMEM || err == ASSAY_EIO || err == ASSAY_ECORRUPT;
}

/* A short, static, human description of an error code. */
const char *assay_strerror(int err);

/* Writes a message into err (when err and errlen are set) and returns code:
 * `return assay_fail(err, errlen, ASSAY_EDECODE, "bad %s", what);`. */
int assay_fail(char *err, size_t errlen, int code, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#endif
