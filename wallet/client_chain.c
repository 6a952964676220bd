/* Parsing getchainparams and job records (see client_chain.h). The field list mirrors
 * struct chain_params; a field the node leaves out is an error rather than a
 * zero, since a zero fee floor would be silently wrong. */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consensus/compute/compute_codec.h"
#include "consensus/compute/kernels.h"
#include "core/buf.h"
#include "core/error.h"
#include "wallet/client_chain.h"

#define FIELD(name) {#name, offsetof(struct chain_params, name), sizeof(((struct chain_params *)0)->name)}

static const struct {
	const char *name;
	size_t offset, size; /* in struct chain_params; size 4 or 8 */
} fields[] = {
	FIELD(block_time_ms), FIELD(max_block_txs), FIELD(max_block_bytes), FIELD(max_tx_bytes),
	FIELD(max_block_gas), FIELD(min_fee),       FIELD(gas_price),       FIELD(max_future_ms),
};

int client_chain_parse(const json_t *result, struct client_chain *chain, char *err, size_t errlen)
{
	memset(chain, 0, sizeof(*chain));
	const char *network = json_string_value(json_object_get(result, "network"));
	const char *id = json_string_value(json_object_get(result, "chain_id"));
	if (!(chain->network = network_find(network))) {
		snprintf(err, errlen, "getchainparams: unknown network '%s'", network ? network : "");
		return ASSAY_EDECODE;
	}
	if (!id || strlen(id) != 2 * HASH_LEN || hex_decode(id, chain->chain_id, HASH_LEN) != HASH_LEN) {
		snprintf(err, errlen, "getchainparams: chain_id is not 64 hex digits");
		return ASSAY_EDECODE;
	}
	const char *name = json_string_value(json_object_get(result, "chain"));
	for (const char *p = name; p && *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f || p - name == CLIENT_CHAIN_NAME_MAX) {
			snprintf(err, errlen, "getchainparams: chain name is not %d printable bytes at most",
				 CLIENT_CHAIN_NAME_MAX);
			return ASSAY_EDECODE;
		}
	snprintf(chain->name, sizeof(chain->name), "%s", name ? name : "");
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		json_t *v = json_object_get(result, fields[i].name);
		json_int_t n = json_is_integer(v) ? json_integer_value(v) : -1;
		if (n < 0 || (fields[i].size == 4 && n > (json_int_t)UINT32_MAX)) {
			snprintf(err, errlen, "getchainparams: %s is missing or out of range", fields[i].name);
			return ASSAY_EDECODE;
		}
		uint8_t *at = (uint8_t *)&chain->params + fields[i].offset;
		if (fields[i].size == 4) {
			uint32_t u = (uint32_t)n;
			memcpy(at, &u, 4);
		} else {
			uint64_t u = (uint64_t)n;
			memcpy(at, &u, 8);
		}
	}
	return 0;
}

int client_chain_check(const struct client_chain *chain, const char *network, char *err, size_t errlen)
{
	char id[2 * HASH_LEN + 1];
	hex_encode(chain->chain_id, HASH_LEN, id);
	if (strcmp(chain->network->name, network) != 0) {
		snprintf(err, errlen,
			 "the node runs network %s, not %s (-network, dev unless given): point -rpcconnect/-rpcport "
			 "at a %s node, or give -network=%s; nothing was signed",
			 chain->network->name, network, network, chain->network->name);
		return ASSAY_ECHAIN;
	}
	const struct network_chain *nc;
	for (unsigned i = 0; (nc = network_chain_at(i)); i++) {
		int same_id = strcmp(id, nc->chain_id) == 0, same_name = strcmp(chain->name, nc->chain) == 0;
		if (same_name && !same_id) {
			snprintf(err, errlen,
				 "the node says chain %s with chain id %s, but %s (network %s) has chain id %s: a wrong "
				 "or altered node; nothing was signed",
				 chain->name, id, nc->chain, nc->network, nc->chain_id);
			return ASSAY_ECHAIN;
		}
		if (same_id && strcmp(nc->network, network) != 0) {
			snprintf(err, errlen,
				 "the node says network %s, but its chain id %s is %s's (network %s); nothing was "
				 "signed",
				 network, id, nc->chain, nc->network);
			return ASSAY_ECHAIN;
		}
	}
	return 0;
}

int client_job_parse(const json_t *job, struct job_record *rec, char *err, size_t errlen)
{
	const char *hex = json_string_value(json_object_get(job, "record"));
	size_t len = hex ? strlen(hex) : 0;
	uint8_t *raw = malloc(len / 2 + 1);
	int decoded = raw && hex && len % 2 == 0 && hex_decode(hex, raw, len / 2) == (long)(len / 2) &&
		      compute_job_decode(rec, raw, len / 2) == 0;
	free(raw);
	if (!decoded) {
		snprintf(err, errlen, "the node's job record does not decode");
		return ASSAY_EDECODE;
	}
	char why[100];
	if (kernel_shape_check(&rec->spec.shape, KERNEL_MAX_K, COMPUTE_OUTPUT_BYTES_CAP, why, sizeof(why))) {
		snprintf(err, errlen, "the node's job record has a shape no chain accepts: %s", why);
		return ASSAY_EDECODE;
	}
	if (rec->spec.samples < 1 || rec->spec.samples > JOB_MAX_SAMPLES) {
		snprintf(err, errlen, "the node's job record asks k=%u samples, outside 1..%u", rec->spec.samples,
			 (unsigned)JOB_MAX_SAMPLES);
		return ASSAY_EDECODE;
	}
	return 0;
}

static int sealed_fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int sealed_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return ASSAY_EINVALID;
}

/* enum slot_state's names, as getjob spells them: the state machine's own
 * (compute_slot_state_name) would link all of compute.c into the worker */
static const char *slot_state_name(unsigned state)
{
	static const char *const names[] = {"empty", "assigned", "committed", "challenged", "verified", "failed"};
	return state <= SLOT_FAILED ? names[state] : "unknown";
}

/* One slot of a sealed job (client_job_sealed_check): its heights against
 * the job's. */
static int sealed_slot_check(const struct job_record *rec, unsigned i, uint64_t d, uint64_t tip, char *err,
			     size_t errlen)
{
	static const uint8_t zero[HASH_LEN];
	const struct job_slot *s = &rec->slots[i];
	uint64_t c = rec->sealed_height, ch = rec->challenge_height;
	const char *name = slot_state_name(s->state);
	if (s->state == SLOT_EMPTY || s->state == SLOT_ASSIGNED)
		return sealed_fail(err, errlen, "slot %u is still %s", i, name);
	if (s->state > SLOT_FAILED)
		return sealed_fail(err, errlen, "slot %u has no known state (%u)", i, (unsigned)s->state);
	/* a failed slot may stay through a redraw of another, which seals the
	 * job again with no challenge (compute.md §1.2) */
	if (s->state == SLOT_FAILED)
		return 0; /* its heights may be anything it reached before */
	if (!ch && s->state != SLOT_COMMITTED)
		return sealed_fail(err, errlen, "slot %u is %s but no challenge is fixed", i, name);
	if (s->assigned_height < rec->submit_height + d || s->commit_height <= s->assigned_height ||
	    s->commit_height > c)
		return sealed_fail(err, errlen,
				   "slot %u was drawn at height %llu and committed at %llu: the job was submitted at "
				   "%llu and sealed at %llu",
				   i, (unsigned long long)s->assigned_height, (unsigned long long)s->commit_height,
				   (unsigned long long)rec->submit_height, (unsigned long long)c);
	if (s->state == SLOT_COMMITTED)
		return 0;
	if (s->challenge_height != ch)
		return sealed_fail(err, errlen, "slot %u was challenged at height %llu, the job at %llu", i,
				   (unsigned long long)s->challenge_height, (unsigned long long)ch);
	if (s->state == SLOT_VERIFIED &&
	    (s->reveal_height <= ch || s->reveal_height > tip || memcmp(s->root, zero, HASH_LEN) == 0))
		return sealed_fail(err, errlen,
				   "slot %u is verified at height %llu (challenged at %llu, tip %llu)%s", i,
				   (unsigned long long)s->reveal_height, (unsigned long long)ch,
				   (unsigned long long)tip, memcmp(s->root, zero, HASH_LEN) ? "" : " with no root");
	return 0;
}

int client_job_sealed_check(const struct job_record *rec, uint32_t challenge_delay, uint64_t tip, char *err,
			    size_t errlen)
{
	uint64_t d = challenge_delay > CLIENT_MIN_CHALLENGE_DELAY ? challenge_delay : CLIENT_MIN_CHALLENGE_DELAY;
	uint64_t c = rec->sealed_height, ch = rec->challenge_height, last = 0;
	int all_live = 1;
	if (!c)
		return sealed_fail(err, errlen, "not sealed: not every slot has committed");
	if (c > tip || c < rec->submit_height + d + 1)
		return sealed_fail(err, errlen,
				   "sealed at height %llu: the job was submitted at %llu (the first commit may land at "
				   "%llu) and the tip is %llu",
				   (unsigned long long)c, (unsigned long long)rec->submit_height,
				   (unsigned long long)(rec->submit_height + d + 1), (unsigned long long)tip);
	if (ch && (ch < c + d || ch > tip))
		return sealed_fail(err, errlen, "challenged at height %llu: sealed at %llu, d = %llu, tip %llu",
				   (unsigned long long)ch, (unsigned long long)c, (unsigned long long)d,
				   (unsigned long long)tip);
	for (unsigned i = 0; i < rec->spec.redundancy && i < JOB_MAX_REDUNDANCY; i++) {
		int rc = sealed_slot_check(rec, i, d, tip, err, errlen);
		if (rc)
			return rc;
		if (rec->slots[i].state == SLOT_FAILED)
			all_live = 0;
		else if (rec->slots[i].commit_height > last)
			last = rec->slots[i].commit_height;
	}
	/* the commit that sealed it is one of them, unless its slot failed since
	 * (which only a challenge, fixed after the seal, can bring about) */
	if ((all_live || !ch) && last != c)
		return sealed_fail(err, errlen, "sealed at height %llu, but the last commit shown is at %llu",
				   (unsigned long long)c, (unsigned long long)last);
	return 0;
}

int client_blob_parse(const json_t *result, const uint8_t name[HASH_LEN], uint64_t want, uint8_t **data,
		      char *err, size_t errlen)
{
	const char *hex = json_string_value(json_object_get(result, "data"));
	char id[2 * HASH_LEN + 1];
	hex_encode(name, HASH_LEN, id);
	*data = NULL;
	if (!hex || strlen(hex) / 2 != want || strlen(hex) % 2) {
		snprintf(err, errlen, "blob %s is not %llu bytes", id, (unsigned long long)want);
		return ASSAY_EDECODE;
	}
	uint8_t *p = malloc(want ? want : 1), h[HASH_LEN];
	if (!p) {
		snprintf(err, errlen, "out of memory for blob %s (%llu bytes)", id, (unsigned long long)want);
		return ASSAY_ENOMEM;
	}
	if (hex_decode(hex, p, want) != (long)want) {
		free(p);
		snprintf(err, errlen, "blob %s is not %llu bytes of hex", id, (unsigned long long)want);
		return ASSAY_EDECODE;
	}
	sha256(p, want, h);
	if (memcmp(h, name, HASH_LEN) != 0) {
		free(p);
		snprintf(err, errlen, "blob %s does not match its hash", id);
		return ASSAY_EDECODE;
	}
	*data = p;
	return 0;
}
