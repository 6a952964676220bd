/* Stateless transaction checks (docs/protocol.md §5.1): chain id, kind,
 * sizes, gas, fee floor, payload, signature, and the total a sender needs.
 * What the mempool, p2p and block execution all apply, from the chain's
 * parameters alone. Pure. Not for: nonce or balance (state: consensus/exec.h). */
#ifndef ASSAY_CONSENSUS_TX_RULES_H
#define ASSAY_CONSENSUS_TX_RULES_H

#include <stddef.h>
#include <stdint.h>

#include "consensus/exec.h"
#include "consensus/params.h"
#include "core/tx.h"

/* Bytes of a transaction besides its payload, at most (fixed fields, the
 * payload's length prefix, the signature): payload_len + this must not
 * exceed max_tx_bytes. */
#define TX_RULES_OVERHEAD 200

/* 0 or an error with a message: ASSAY_ECHAIN, EINVALID (kind not enabled),
 * ELIMIT, EFEE, EDECODE/EINVALID (payload), EOVERFLOW, ESIG (check_sig). */
int tx_rules_check(const struct chain_params *p, const uint8_t chain_id[HASH_LEN], const struct tx *t,
		   int check_sig, char *err, size_t errlen);
/* The same, keeping the decoded payload in *d for execution. */
int tx_rules_check_decoded(const struct chain_params *p, const uint8_t chain_id[HASH_LEN], const struct tx *t,
			   int check_sig, struct tx_decoded *d, char *err, size_t errlen);
/* Total the sender needs for the tx (fee plus value moved), or
 * ASSAY_EOVERFLOW. An undecodable payload counts as moving nothing: the
 * checks above refuse it before that matters. */
int tx_rules_cost(const struct tx *t, uint64_t *cost);

#endif
