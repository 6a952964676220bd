/* Header rules (see header.h; docs/protocol.md §4). Each check returns the
 * code of the rule it enforces, with a message. Not for: execution. */
#include <stdio.h>
#include <string.h>

#include "consensus/header.h"
#include "core/buf.h"
#include "core/error.h"

void header_beacon_alpha(const uint8_t chain_id[HASH_LEN], uint64_t height,
			 const uint8_t parent_beacon[HASH_LEN], uint8_t alpha[HEADER_ALPHA_LEN])
{
	memcpy(alpha, chain_id, HASH_LEN);
	le64_put(alpha + HASH_LEN, height);
	memcpy(alpha + HASH_LEN + 8, parent_beacon, HASH_LEN);
}

void header_beacon_from(const uint8_t parent_beacon[HASH_LEN], const uint8_t beta[VRF_OUTPUT_LEN],
			uint8_t out[HASH_LEN])
{
	hash_tagged2("assay/beacon", parent_beacon, HASH_LEN, beta, VRF_OUTPUT_LEN, out);
}

void header_genesis_beacon(const uint8_t chain_id[HASH_LEN], uint8_t out[HASH_LEN])
{
	hash_tagged("assay/beacon", chain_id, HASH_LEN, out);
}

int header_beacon_prove(const uint8_t sk[SECKEY_LEN], const uint8_t chain_id[HASH_LEN], uint64_t height,
			const uint8_t parent_beacon[HASH_LEN], uint8_t proof[VRF_PROOF_LEN],
			uint8_t beacon[HASH_LEN])
{
	uint8_t alpha[HEADER_ALPHA_LEN], beta[VRF_OUTPUT_LEN];
	header_beacon_alpha(chain_id, height, parent_beacon, alpha);
	int rc = vrf_prove(sk, alpha, sizeof(alpha), proof);
	if (!rc)
		rc = vrf_proof_to_hash(proof, beta);
	if (!rc)
		header_beacon_from(parent_beacon, beta, beacon);
	return rc;
}

int header_validators_hash(const struct validator_set *vs, uint8_t out[HASH_LEN])
{
	struct buf b;
	buf_init(&b);
	buf_put_varint(&b, vs->n);
	for (size_t i = 0; i < vs->n; i++) {
		buf_put(&b, vs->v[i].pubkey, PUBKEY_LEN);
		buf_put_u64(&b, vs->v[i].stake);
	}
	int rc = b.oom ? ASSAY_ENOMEM : 0; /* a short buffer would hash to a wrong value */
	if (!rc)
		hash_tagged("assay/validators", b.data, b.len, out);
	buf_free(&b);
	return rc;
}

int header_is_validator(const struct validator_set *vs, const uint8_t pk[PUBKEY_LEN], uint64_t *stake)
{
	for (size_t i = 0; i < vs->n; i++) {
		if (memcmp(vs->v[i].pubkey, pk, PUBKEY_LEN) == 0) {
			if (stake)
				*stake = vs->v[i].stake;
			return 1;
		}
	}
	return 0;
}

void header_commit_msg(const uint8_t chain_id[HASH_LEN], uint64_t height, uint32_t round,
		       const uint8_t hash[HASH_LEN], uint8_t msg[HASH_LEN])
{
	vote_sighash(chain_id, VOTE_PRECOMMIT, height, round, hash, msg);
}

int header_check_commit(const struct validator_set *vs, const uint8_t chain_id[HASH_LEN],
			const struct commit *cm, uint64_t height, const uint8_t hash[HASH_LEN], char *err,
			size_t errlen)
{
	if (cm->height != height || memcmp(cm->block_hash, hash, HASH_LEN) != 0)
		return assay_fail(err, errlen, ASSAY_EINVALID, "commit is for another block");
	unsigned __int128 power = 0; /* total stake is below 2^63 (genesis) */
	uint8_t msg[HASH_LEN];
	header_commit_msg(chain_id, height, cm->round, hash, msg);
	for (uint32_t i = 0; i < cm->nsigs; i++) {
		uint64_t stake;
		for (uint32_t j = 0; j < i; j++)
			if (memcmp(cm->sigs[i].validator, cm->sigs[j].validator, PUBKEY_LEN) == 0)
				return assay_fail(err, errlen, ASSAY_EINVALID, "commit names a validator twice");
		if (!header_is_validator(vs, cm->sigs[i].validator, &stake))
			return assay_fail(err, errlen, ASSAY_EINVALID, "commit signed by a non-validator");
		if (sig_verify(cm->sigs[i].validator, msg, HASH_LEN, cm->sigs[i].sig) < 0)
			return assay_fail(err, errlen, ASSAY_ESIG, "commit has a bad precommit signature");
		power += stake;
	}
	if (power * 3 <= (unsigned __int128)vs->total_stake * 2)
		return assay_fail(err, errlen, ASSAY_EINVALID, "commit has %llu of %llu stake, needs more than 2/3",
				  (unsigned long long)(uint64_t)power, (unsigned long long)vs->total_stake);
	return 0;
}

int header_check(const struct header_ctx *hc, const struct block *blk, char *err, size_t errlen)
{
	const struct block_header *hd = &blk->hdr, *parent = hc->parent;
	if (memcmp(hd->chain_id, hc->chain_id, HASH_LEN) != 0)
		return assay_fail(err, errlen, ASSAY_ECHAIN, "block is for another chain");
	if (hd->height != parent->height + 1 || memcmp(hd->prev_hash, hc->parent_hash, HASH_LEN) != 0)
		return assay_fail(err, errlen, hd->height <= parent->height ? ASSAY_EEXISTS : ASSAY_ENOTFOUND,
				  "block %llu does not extend the tip %llu", (unsigned long long)hd->height,
				  (unsigned long long)parent->height);
	if (hd->time_ms <= parent->time_ms)
		return assay_fail(err, errlen, ASSAY_EINVALID, "block time is not after its parent's");
	if (hc->now_ms != UINT64_MAX && hd->time_ms > hc->now_ms + hc->params->max_future_ms)
		return assay_fail(err, errlen, ASSAY_EINVALID, "block time is %llu ms in the future",
				  (unsigned long long)(hd->time_ms - hc->now_ms));
	if (memcmp(hd->validators_hash, hc->validators_hash, HASH_LEN) != 0)
		return assay_fail(err, errlen, ASSAY_EINVALID, "wrong validators_hash");
	if (!header_is_validator(hc->vs, hd->proposer, NULL))
		return assay_fail(err, errlen, ASSAY_EINVALID, "proposer is not a validator");
	if (blk->ntx > hc->params->max_block_txs)
		return assay_fail(err, errlen, ASSAY_ELIMIT, "block has %zu transactions; limit %u", blk->ntx,
				  hc->params->max_block_txs);
	return 0;
}

int header_check_proofs(const struct header_ctx *hc, const struct block *blk, char *err, size_t errlen)
{
	const struct block_header *hd = &blk->hdr;
	uint8_t alpha[HEADER_ALPHA_LEN], beta[VRF_OUTPUT_LEN], h[HASH_LEN];
	header_beacon_alpha(hc->chain_id, hd->height, hc->parent->beacon, alpha);
	if (vrf_verify(hd->proposer, alpha, sizeof(alpha), hd->beacon_proof, beta) < 0)
		return assay_fail(err, errlen, ASSAY_ESIG, "bad beacon proof");
	header_beacon_from(hc->parent->beacon, beta, h);
	if (memcmp(h, hd->beacon, HASH_LEN) != 0)
		return assay_fail(err, errlen, ASSAY_EINVALID, "wrong beacon");
	commit_hash(&blk->last_commit, h);
	if (memcmp(h, hd->last_commit_hash, HASH_LEN) != 0)
		return assay_fail(err, errlen, ASSAY_EINVALID, "last_commit_hash does not match last_commit");
	if (hd->height == 1) {
		static const uint8_t zero[HASH_LEN];
		if (blk->last_commit.nsigs || blk->last_commit.height || blk->last_commit.round ||
		    memcmp(blk->last_commit.block_hash, zero, HASH_LEN) != 0)
			return assay_fail(err, errlen, ASSAY_EINVALID, "block 1 must carry an empty last_commit");
	} else {
		int rc = header_check_commit(hc->commit_vs ? hc->commit_vs : hc->vs, hc->chain_id, &blk->last_commit, hd->height - 1,
					     hc->parent_hash, err, errlen);
		if (rc)
			return rc;
	}
	block_tx_root(blk, h);
	if (memcmp(h, hd->tx_root, HASH_LEN) != 0)
		return assay_fail(err, errlen, ASSAY_EINVALID, "tx_root does not match the transactions");
	return 0;
}
