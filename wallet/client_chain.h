/* What a client (assay-cli, assay-worker) learns about the chain it talks to
 * from the node's getchainparams: the network, the chain id every
 * transaction signs over, and the chain parameters the fee floor and the
 * limits come from, so that no client copies a genesis default; and a job
 * record (getjob, listjobs), checked as far as a client can before it sizes
 * buffers or loops by it; and a blob (getblob), checked against its name.
 * Pure: the caller makes the RPC call. Not for:
 * compute parameters (getcomputeparams). */
#ifndef ASSAY_WALLET_CLIENT_CHAIN_H
#define ASSAY_WALLET_CLIENT_CHAIN_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "consensus/compute/compute.h"
#include "consensus/params.h"
#include "core/network.h"
#include "core/sha256.h"

#define CLIENT_CHAIN_NAME_MAX 63 /* longest "chain" name kept, without NUL */

struct client_chain {
	const struct network_info *network; /* the node's network (core/network.h) */
	char name[CLIENT_CHAIN_NAME_MAX + 1]; /* its genesis's "chain"; "" when the node names none */
	uint8_t chain_id[HASH_LEN];         /* genesis hash */
	struct chain_params params;         /* as the genesis fixed them */
};

/* Reads a getchainparams result (docs/rpc.md) into chain. 0, or
 * ASSAY_EDECODE with err naming the missing or bad field (an unknown network
 * is one). */
int client_chain_parse(const json_t *result, struct client_chain *chain, char *err, size_t errlen);

/* Whether the chain a node described (client_chain_parse) is one a client
 * selected with -network=network may sign for: the node's network must be
 * that one, a chain that takes the name of a compiled chain
 * (network_chain_at) must have its chain id, and a compiled chain's id is
 * signed for on its own network only. What a node says is not proof, but a
 * node that lies about it is refused rather than obeyed. 0, or
 * ASSAY_ECHAIN with err saying what differs. */
int client_chain_check(const struct client_chain *chain, const char *network, char *err, size_t errlen);

/* Reads the "record" of a getjob or listjobs entry (docs/rpc.md) into rec:
 * the hex of the encoded record (docs/protocol.md), whose shape must pass
 * the chain's shape rule under the widest limits a chain may set (max_dim
 * 2^17 - 1, COMPUTE_OUTPUT_BYTES_CAP) and whose k is in 1..JOB_MAX_SAMPLES,
 * as every job the chain accepted is. A node that says otherwise is wrong or
 * hostile; its record is refused here rather than divided or allocated by.
 * 0, or ASSAY_EDECODE with err saying why. */
int client_job_parse(const json_t *job, struct job_record *rec, char *err, size_t errlen);

/* The least challenge_delay a genesis may set (docs/compute.md §9): a
 * client never reasons with a smaller d than this, whatever the node says. */
#define CLIENT_MIN_CHALLENGE_DELAY 2

/* Checks a job record the node calls sealed (every slot committed,
 * docs/compute.md §1 step 3) against what the protocol allows, as far as a
 * client can without proofs: sealed_height c set, at or below tip (the
 * height the node read it at) and at least submit_height + d + 1 (a slot is
 * drawn d blocks after it empties and commits in a later block); no slot
 * empty or assigned; each live slot drawn at least d blocks after the submit
 * and committed after its draw, at or before c; and once the challenge is
 * fixed (challenge_height), at least c + d and at or below tip, every
 * challenged or verified slot carrying it, every verified slot's reveal after
 * it and at or below tip with an opened root. Before the challenge no slot
 * may be challenged or verified, and the commit at c is a live slot's (a
 * slot failed before a redraw stays failed through the new seal). A client acts on a sealed job only
 * through this: it opens a salt, reveals or serves on what the node says,
 * and a node that lies in a way these rules exclude is caught; one that
 * lies consistently is not (docs/compute.md §10). challenge_delay is raised
 * to CLIENT_MIN_CHALLENGE_DELAY. 0, or ASSAY_EINVALID with err saying which
 * rule the record breaks ("not sealed" among them). */
int client_job_sealed_check(const struct job_record *rec, uint32_t challenge_delay, uint64_t tip, char *err,
			    size_t errlen);

/* Reads a getblob result (docs/rpc.md) for the blob named name, which must
 * be want bytes long: on 0, *data (malloc()ed; the caller frees) holds them,
 * and they hash to name. ASSAY_EDECODE with err saying why when the node
 * sent other bytes (a node that serves a wrong input would make a correct
 * output look wrong), ASSAY_ENOMEM when want bytes cannot be had. */
int client_blob_parse(const json_t *result, const uint8_t name[HASH_LEN], uint64_t want, uint8_t **data,
		      char *err, size_t errlen);

#endif
