/* Counting votes per value with one vote per validator, and the bounded
 * per-height round table (docs/consensus.md §5). Not for: signatures or the
 * upon-rules (bft.c). */
#include "consensus/bft/voteset.h"

#include <stdlib.h>
#include <string.h>

#include "core/error.h"

int bft_voteset_init(struct bft_voteset *s, uint64_t height, uint32_t round, uint8_t type, uint32_t nvals)
{
	memset(s, 0, sizeof(*s));
	s->height = height;
	s->round = round;
	s->type = type;
	s->n = nvals;
	s->votes = calloc(nvals, sizeof(*s->votes));
	s->state = calloc(nvals, 1);
	s->captallies = nvals;
	s->tallies = calloc(nvals, sizeof(*s->tallies));
	s->nextra = calloc(nvals, 1);
	if (!s->votes || !s->state || !s->tallies || !s->nextra) {
		bft_voteset_free(s);
		return ASSAY_ENOMEM;
	}
	return 0;
}

void bft_voteset_free(struct bft_voteset *s)
{
	free(s->votes);
	free(s->state);
	free(s->tallies);
	free(s->extra);
	free(s->nextra);
	memset(s, 0, sizeof(*s));
}

static struct bft_tally *tally_find(const struct bft_voteset *s, int has_value, const uint8_t *value)
{
	for (uint32_t i = 0; i < s->ntallies; i++) {
		struct bft_tally *t = &s->tallies[i];
		if (t->has_value == (has_value ? 1 : 0) && (!has_value || memcmp(t->value, value, HASH_LEN) == 0))
			return t;
	}
	return NULL;
}

static int tally_add(struct bft_voteset *s, const struct bft_vote *v, uint64_t power)
{
	struct bft_tally *t = tally_find(s, v->has_value, v->value);
	if (!t) {
		if (s->ntallies == s->captallies) {
			uint32_t cap = s->captallies * 2 + 1;
			struct bft_tally *grown = realloc(s->tallies, (size_t)cap * sizeof(*grown));
			if (!grown)
				return ASSAY_ENOMEM;
			s->tallies = grown;
			s->captallies = cap;
		}
		t = &s->tallies[s->ntallies++];
		memset(t, 0, sizeof(*t));
		t->has_value = v->has_value ? 1 : 0;
		if (v->has_value)
			memcpy(t->value, v->value, HASH_LEN);
	}
	t->power += power;
	return 0;
}

int bft_voteset_add(struct bft_voteset *s, uint32_t idx, uint64_t power, const struct bft_vote *v,
		    struct bft_evidence *ev, int *got_evidence)
{
	*got_evidence = 0;
	if (idx >= s->n || v->type != s->type || v->height != s->height || v->round != s->round)
		return ASSAY_EINVALID;
	if (!s->state[idx]) {
		int rc = tally_add(s, v, power);
		if (rc)
			return rc;
		s->power_any += power;
		s->votes[idx] = *v;
		s->state[idx] = 1;
		return 0;
	}
	if (bft_voteset_get_for(s, idx, v->has_value, v->value))
		return ASSAY_EEXISTS;
	if (s->state[idx] == 1 && bft_evidence_make(ev, &s->votes[idx], v) == 0) {
		s->state[idx] = 2; /* one record per validator is enough to punish it */
		*got_evidence = 1;
	}
	if (s->nextra[idx] == BFT_MAX_EXTRA_VOTES) {
		/* Full: v takes the place of the kept vote whose value has the
		 * least power behind it, if v's value has more. Values nobody else
		 * backs never displace one that others voted for, and create no
		 * tally here, so a flood of junk votes is bounded. A value with
		 * two thirds behind it is never the one displaced while fewer
		 * than a third equivocate: the newcomer's value would need more
		 * power than it, so two values above two thirds in one round. */
		struct bft_vote *slots = &s->extra[(size_t)idx * BFT_MAX_EXTRA_VOTES];
		uint32_t weakest = 0;
		uint64_t weakest_power = UINT64_MAX;
		for (uint32_t k = 0; k < BFT_MAX_EXTRA_VOTES; k++) {
			uint64_t pw = bft_voteset_power(s, slots[k].has_value, slots[k].value);
			if (pw < weakest_power) {
				weakest_power = pw;
				weakest = k;
			}
		}
		if (bft_voteset_power(s, v->has_value, v->value) <= weakest_power)
			return ASSAY_ELIMIT;
		tally_find(s, slots[weakest].has_value, slots[weakest].value)->power -= power;
		slots[weakest] = *v;
		return tally_add(s, v, power); /* the value has a tally already */
	}
	if (!s->extra && !(s->extra = calloc((size_t)s->n * BFT_MAX_EXTRA_VOTES, sizeof(*s->extra))))
		return ASSAY_ENOMEM;
	int rc = tally_add(s, v, power);
	if (rc)
		return rc;
	s->extra[(size_t)idx * BFT_MAX_EXTRA_VOTES + s->nextra[idx]++] = *v;
	return 0;
}

uint64_t bft_voteset_power(const struct bft_voteset *s, int has_value, const uint8_t value[HASH_LEN])
{
	const struct bft_tally *t = tally_find(s, has_value, value);
	return t ? t->power : 0;
}

const struct bft_vote *bft_voteset_get(const struct bft_voteset *s, uint32_t idx)
{
	return idx < s->n && s->state[idx] ? &s->votes[idx] : NULL;
}

const struct bft_vote *bft_voteset_get_for(const struct bft_voteset *s, uint32_t idx, int has_value,
					   const uint8_t value[HASH_LEN])
{
	struct bft_vote want;
	memset(&want, 0, sizeof(want));
	want.has_value = has_value ? 1 : 0;
	if (has_value)
		memcpy(want.value, value, HASH_LEN);
	const struct bft_vote *first = bft_voteset_get(s, idx);
	if (!first)
		return NULL;
	if (bft_vote_same_value(first, &want))
		return first;
	for (uint32_t k = 0; k < s->nextra[idx]; k++) {
		const struct bft_vote *x = &s->extra[(size_t)idx * BFT_MAX_EXTRA_VOTES + k];
		if (bft_vote_same_value(x, &want))
			return x;
	}
	return NULL;
}

int bft_voteset_commit(const struct bft_voteset *s, const struct bft_valset *vals, const uint8_t value[HASH_LEN],
		       struct commit *c)
{
	memset(c, 0, sizeof(*c));
	c->height = s->height;
	c->round = s->round;
	memcpy(c->block_hash, value, HASH_LEN);
	c->sigs = calloc(s->n ? s->n : 1, sizeof(*c->sigs));
	if (!c->sigs)
		return ASSAY_ENOMEM;
	for (uint32_t i = 0; i < s->n && i < vals->n; i++) {
		const struct bft_vote *v = bft_voteset_get_for(s, i, 1, value);
		if (!v)
			continue;
		memcpy(c->sigs[c->nsigs].validator, vals->v[i].pubkey, PUBKEY_LEN);
		memcpy(c->sigs[c->nsigs].sig, v->sig, SIG_LEN);
		c->nsigs++;
	}
	return 0;
}

void bft_height_votes_init(struct bft_height_votes *hv, uint64_t height, uint32_t nvals)
{
	memset(hv, 0, sizeof(*hv));
	hv->height = height;
	hv->nvals = nvals;
}

void bft_height_votes_free(struct bft_height_votes *hv)
{
	for (uint32_t r = 0; r < hv->nrounds; r++) {
		if (!hv->rounds[r])
			continue;
		bft_voteset_free(&hv->rounds[r]->prevotes);
		bft_voteset_free(&hv->rounds[r]->precommits);
		free(hv->rounds[r]);
	}
	free(hv->rounds);
	memset(hv, 0, sizeof(*hv));
}

static struct bft_round_votes *round_get(struct bft_height_votes *hv, uint32_t round)
{
	if (round >= hv->nrounds) {
		uint32_t want = round + 1;
		struct bft_round_votes **grown = realloc(hv->rounds, (size_t)want * sizeof(*grown));
		if (!grown)
			return NULL;
		memset(grown + hv->nrounds, 0, (size_t)(want - hv->nrounds) * sizeof(*grown));
		hv->rounds = grown;
		hv->nrounds = want;
	}
	if (!hv->rounds[round]) {
		struct bft_round_votes *rv = calloc(1, sizeof(*rv));
		if (!rv)
			return NULL;
		if (bft_voteset_init(&rv->prevotes, hv->height, round, VOTE_PREVOTE, hv->nvals) ||
		    bft_voteset_init(&rv->precommits, hv->height, round, VOTE_PRECOMMIT, hv->nvals)) {
			bft_voteset_free(&rv->prevotes);
			bft_voteset_free(&rv->precommits);
			free(rv);
			return NULL;
		}
		hv->rounds[round] = rv;
	}
	return hv->rounds[round];
}

int bft_height_votes_add(struct bft_height_votes *hv, uint32_t current_round, uint32_t idx, uint64_t power,
			 const struct bft_vote *v, struct bft_evidence *ev, int *got_evidence)
{
	*got_evidence = 0;
	if (v->height != hv->height)
		return ASSAY_EINVALID;
	if (v->round > current_round && v->round - current_round > BFT_MAX_ROUNDS_AHEAD)
		return ASSAY_ELIMIT;
	struct bft_round_votes *rv = round_get(hv, v->round);
	if (!rv)
		return ASSAY_ENOMEM;
	return bft_voteset_add(v->type == VOTE_PREVOTE ? &rv->prevotes : &rv->precommits, idx, power, v, ev,
			       got_evidence);
}

const struct bft_voteset *bft_height_votes_get(const struct bft_height_votes *hv, uint32_t round, uint8_t type)
{
	if (round >= hv->nrounds || !hv->rounds[round])
		return NULL;
	return type == VOTE_PREVOTE ? &hv->rounds[round]->prevotes : &hv->rounds[round]->precommits;
}
