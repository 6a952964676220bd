/* Building and signing a transaction from its parts, for every command that
 * submits one (transfer, deploy, job submit ...). Pure: no I/O, no clock; the
 * caller fetches chain_id and nonce from the node. Not for: payload codecs of
 * kinds other than transfer (their layers own them). */
#ifndef ASSAY_WALLET_TXBUILD_H
#define ASSAY_WALLET_TXBUILD_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/keys.h"
#include "core/sha256.h"
#include <jansson.h>

#include "consensus/params.h"

#define TXBUILD_DEFAULT_FEE 100000ull /* 0.0001 ASY; the built-in networks' floor is 1000 units */

struct txbuild_spec {
	uint8_t chain_id[HASH_LEN]; /* chain_id from getchainparams */
	uint64_t nonce;             /* the sender's pending_nonce */
	uint64_t fee;               /* base units */
	uint64_t gas_limit;         /* 0 for transfers */
	uint8_t kind;               /* enum tx_kind */
	const uint8_t *payload;     /* borrowed */
	size_t payload_len;
};

/* Signs spec with sk (whose public half is sk + 32) and appends the canonical
 * encoding to encoded; writes the txid. 0, ASSAY_EARG (unknown kind) or
 * ASSAY_ENOMEM. */
int txbuild_sign(const struct txbuild_spec *spec, const uint8_t sk[SECKEY_LEN],
		 struct buf *encoded, uint8_t txid[HASH_LEN]);

/* The most a client pays without being told to: p comes from the node
 * (getchainparams), and a hostile node could name any floor. */
#define TXBUILD_MAX_DEFAULT_FEE (10ull * 1000000000ull) /* 10 ASY */

/* The fee the clients offer when the user names none, for a transaction with
 * gas_limit on a chain with parameters p: the chain's floor (chain_min_fee,
 * protocol §5.1) with its min_fee part raised to TXBUILD_DEFAULT_FEE, so
 * that a transaction still pays after a modest rise of the floor.
 * 0; ASSAY_ELIMIT (*fee set) when that is above TXBUILD_MAX_DEFAULT_FEE, which
 * a client pays only when its user names the fee; ASSAY_EOVERFLOW when no
 * fee can pay it. */
int txbuild_default_fee(const struct chain_params *p, uint64_t gas_limit, uint64_t *fee);

/* Into *gas, the gas_limit a transfer of a positive amount needs to the
 * account whose getaccount reply (rpc.md) is account: CHAIN_GAS_NEW_ACCOUNT
 * when the account is not in the state (balance and nonce 0, no code: an
 * all-zero account is never stored), which the transfer then creates
 * (protocol §5.2); else 0. The committed state's word: an account a pending
 * transaction creates still reads as absent, so the transfer pays for a
 * creation it may not need, never too little. 0, or -1 when the reply
 * lacks a balance or a nonce. */
int txbuild_transfer_gas(const json_t *account, uint64_t *gas);

/* The payload of a transfer of amount units to addr, appended to b. */
void txbuild_transfer_payload(const uint8_t to[ADDR_LEN], uint64_t amount, struct buf *b);

#endif
