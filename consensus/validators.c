/* Validator records, per-height sets and the validator transaction rules
 * (see validators.h; docs/protocol.md §10). A stored record that does not
 * decode is damage (ASSAY_ECORRUPT, a local failure), never a rule outcome.
 * Not for: proposer arithmetic (consensus/bft/valset.c, used as is). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consensus/validators.h"
#include "core/buf.h"
#include "core/error.h"

static const char IDX_LEGACY[] = "validators/index";         /* NS_META: the genesis form of the index */
static const char RECORDS_KEY[] = "validators/records";      /* NS_META: count:u64 of records (slot form) */
static const char LIST_PREFIX[] = "validators/list";         /* || slot:u64 -> pubkey */
static const char SLOT_PREFIX[] = "validators/slot";         /* || pubkey -> slot:u64 */
static const char SET_PREFIX[] = "validators/set";           /* NS_META: || height:u64 -> the set */
static const char EVIDENCE_PREFIX[] = "validators/evidence"; /* || pubkey || height:u64 -> 01 */
static const char DUE_PREFIX[] = "validators/due";    /* || height:u64 [|| slot:u64]: records due then */
static const char ACTIVE_KEY[] = "validators/active"; /* NS_META: count:u64 of active records */

/* Records at most: the legacy index stays one value (LEDGER_VALUE_MAX). */
#define VALIDATORS_MAX_RECORDS 30000u

static int put_buf(const struct ledger *l, const uint8_t key[HASH_LEN], struct buf *b)
{
	int err = b->oom ? ASSAY_ENOMEM : ledger_put(l, key, b->data, b->len);
	buf_free(b);
	return err;
}

/* ---- records ---- */

void validator_record_encode(const struct validator_record *r, struct buf *b)
{
	buf_put_u64(b, r->bond);
	buf_put_u8(b, r->jailed);
	buf_put_u64(b, r->jailed_until);
	buf_put_varint(b, r->nunbonding);
	for (uint32_t i = 0; i < r->nunbonding; i++) {
		buf_put_u64(b, r->unbonding[i].amount);
		buf_put_u64(b, r->unbonding[i].release_height);
	}
	buf_put_bytes(b, r->missed, r->missed_bytes);
}

int validator_record_decode(struct validator_record *r, const uint8_t *p, size_t n)
{
	struct reader rd;
	memset(r, 0, sizeof(*r));
	rd_init(&rd, p, n);
	r->bond = rd_u64(&rd);
	r->jailed = rd_u8(&rd);
	r->jailed_until = rd_u64(&rd);
	r->nunbonding = (uint32_t)rd_count(&rd, VALIDATOR_MAX_UNBONDING);
	for (uint32_t i = 0; i < r->nunbonding; i++) {
		r->unbonding[i].amount = rd_u64(&rd);
		r->unbonding[i].release_height = rd_u64(&rd);
	}
	size_t mlen = 0;
	const uint8_t *m = rd_bytes(&rd, &mlen, sizeof(r->missed));
	int rc = rd_finish(&rd);
	if (rc)
		return ASSAY_EDECODE;
	if (r->jailed > 1)
		return ASSAY_EDECODE;
	memcpy(r->missed, m, mlen);
	r->missed_bytes = (uint32_t)mlen;
	return 0;
}

static void record_key(const uint8_t pk[PUBKEY_LEN], uint8_t key[HASH_LEN])
{
	state_key(NS_VALIDATOR, pk, PUBKEY_LEN, key);
}

int validators_get(const struct ledger *l, const uint8_t pk[PUBKEY_LEN], struct validator_record *r)
{
	uint8_t key[HASH_LEN], *val;
	size_t len;
	memset(r, 0, sizeof(*r));
	record_key(pk, key);
	int rc = ledger_get(l, key, &val, &len);
	if (rc)
		return rc;
	rc = validator_record_decode(r, val, len) ? ASSAY_ECORRUPT : 0;
	free(val);
	if (rc)
		memset(r, 0, sizeof(*r));
	return rc;
}

/* ---- the index of records ---- */

/* Two forms (docs/protocol.md §10.2). Genesis writes the legacy one, one
 * value IDX_LEGACY = n:varint n x pubkey ascending, so that genesis states
 * and chain ids stay what they were. The first change of the index after
 * genesis moves it, once, into slots: RECORDS_KEY = count:u64, LIST_PREFIX
 * || slot:u64 -> pubkey for every slot < count, and SLOT_PREFIX || pubkey
 * -> slot:u64. A change then reads and writes a few small values whatever
 * the number of records; rewriting the whole list (up to 960 KB) per record
 * let one block of bonds, or of releases due at one height, copy gigabytes
 * and keep every version for its revert. Slots are in no order (a removal
 * moves the last one into the gap): no rule depends on it, and
 * validators_list sorts. Not buckets by key prefix: keys can be ground, so
 * an attacker could put every record in one bucket. RECORDS_KEY's presence
 * says which form is in force. */

static int by_key(const void *a, const void *b)
{
	return memcmp(a, b, PUBKEY_LEN);
}

/* Where pk is or would go in a sorted array of n keys. */
static size_t index_pos(const uint8_t *pks, size_t n, const uint8_t pk[PUBKEY_LEN], int *found)
{
	size_t lo = 0, hi = n;
	*found = 0;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = memcmp(pks + mid * PUBKEY_LEN, pk, PUBKEY_LEN);
		if (c == 0) {
			*found = 1;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void list_key(uint64_t slot, uint8_t key[HASH_LEN])
{
	uint8_t s[8];
	le64_put(s, slot);
	state_meta_key(LIST_PREFIX, s, sizeof(s), key);
}

static void slot_key(const uint8_t pk[PUBKEY_LEN], uint8_t key[HASH_LEN])
{
	state_meta_key(SLOT_PREFIX, pk, PUBKEY_LEN, key);
}

/* The legacy list; ECORRUPT unless strictly ascending. *pks is malloc()ed
 * (NULL when *n = 0). */
static int legacy_get(const struct ledger *l, uint8_t **pks, size_t *n)
{
	uint8_t key[HASH_LEN], *val = NULL;
	size_t len = 0;
	*pks = NULL;
	*n = 0;
	state_meta_key(IDX_LEGACY, NULL, 0, key);
	int rc = ledger_get(l, key, &val, &len);
	if (rc == ASSAY_ENOTFOUND)
		return 0;
	if (rc)
		return rc;
	struct reader r;
	rd_init(&r, val, len);
	size_t count = (size_t)rd_count(&r, VALIDATORS_MAX_RECORDS);
	const uint8_t *p = rd_fixed(&r, count * PUBKEY_LEN);
	rc = rd_finish(&r) ? ASSAY_ECORRUPT : 0;
	for (size_t i = 1; i < count && !rc; i++)
		if (memcmp(p + (i - 1) * PUBKEY_LEN, p + i * PUBKEY_LEN, PUBKEY_LEN) >= 0)
			rc = ASSAY_ECORRUPT;
	if (!rc && count) {
		*pks = malloc(count * PUBKEY_LEN);
		if (!*pks)
			rc = ASSAY_ENOMEM;
		else
			memcpy(*pks, p, count * PUBKEY_LEN);
	}
	if (!rc)
		*n = count;
	free(val);
	return rc;
}

/* The number of records in the slot form: ASSAY_ENOTFOUND while the
 * legacy form is in force, ECORRUPT above the cap. */
static int records_count(const struct ledger *l, uint64_t *count)
{
	uint8_t key[HASH_LEN];
	state_meta_key(RECORDS_KEY, NULL, 0, key);
	int rc = ledger_get_u64(l, key, count);
	return !rc && *count > VALIDATORS_MAX_RECORDS ? ASSAY_ECORRUPT : rc;
}

/* The key in slot: ECORRUPT when absent or not a key. */
static int list_get(const struct ledger *l, uint64_t slot, uint8_t pk[PUBKEY_LEN])
{
	uint8_t key[HASH_LEN];
	size_t len;
	list_key(slot, key);
	int rc = ledger_get_into(l, key, pk, PUBKEY_LEN, &len);
	if (rc == ASSAY_ENOTFOUND || rc == ASSAY_ELIMIT || (!rc && len != PUBKEY_LEN))
		return ASSAY_ECORRUPT;
	return rc;
}

/* *pks is malloc()ed (n x PUBKEY_LEN), NULL when empty. */
int validators_list(const struct ledger *l, uint8_t **pks, size_t *n)
{
	uint64_t count;
	*pks = NULL;
	*n = 0;
	int rc = records_count(l, &count);
	if (rc == ASSAY_ENOTFOUND)
		return legacy_get(l, pks, n);
	if (rc || count == 0)
		return rc;
	uint8_t *p = malloc((size_t)count * PUBKEY_LEN);
	if (!p)
		return ASSAY_ENOMEM;
	for (uint64_t i = 0; i < count && !rc; i++)
		rc = list_get(l, i, p + i * PUBKEY_LEN);
	if (!rc) {
		qsort(p, (size_t)count, PUBKEY_LEN, by_key);
		for (size_t i = 1; i < (size_t)count && !rc; i++)
			if (memcmp(p + (i - 1) * PUBKEY_LEN, p + i * PUBKEY_LEN, PUBKEY_LEN) == 0)
				rc = ASSAY_ECORRUPT; /* one record in two slots */
	}
	if (rc) {
		free(p);
		return rc;
	}
	*pks = p;
	*n = (size_t)count;
	return 0;
}

/* pk into slot, both ways. */
static int slot_put(const struct ledger *l, const uint8_t pk[PUBKEY_LEN], uint64_t slot)
{
	uint8_t key[HASH_LEN];
	list_key(slot, key);
	int rc = ledger_put(l, key, pk, PUBKEY_LEN);
	if (rc)
		return rc;
	slot_key(pk, key);
	return ledger_put_u64(l, key, slot);
}

/* pk out of its slot, the key of slot last (the highest) moved into it. */
static int slot_take(const struct ledger *l, const uint8_t pk[PUBKEY_LEN], uint64_t slot, uint64_t last)
{
	uint8_t key[HASH_LEN], held[PUBKEY_LEN];
	int rc = list_get(l, slot, held);
	if (!rc && memcmp(held, pk, PUBKEY_LEN) != 0)
		rc = ASSAY_ECORRUPT; /* the two ways disagree */
	if (!rc && slot != last && (rc = list_get(l, last, held)) == 0)
		rc = slot_put(l, held, slot);
	if (rc)
		return rc;
	list_key(last, key);
	if ((rc = ledger_del(l, key)) != 0)
		return rc;
	slot_key(pk, key);
	return ledger_del(l, key);
}

/* The legacy list into slots 0..n-1 in its order, the legacy value
 * deleted: once, at the first change after genesis, so bounded by the
 * genesis set. *count = n; the caller writes the count. */
static int index_migrate(const struct ledger *l, uint64_t *count)
{
	uint8_t *pks, key[HASH_LEN];
	size_t n;
	int rc = legacy_get(l, &pks, &n);
	for (size_t i = 0; i < n && !rc; i++)
		rc = slot_put(l, pks + i * PUBKEY_LEN, i);
	free(pks);
	state_meta_key(IDX_LEGACY, NULL, 0, key);
	if (!rc && n)
		rc = ledger_del(l, key);
	*count = n;
	return rc;
}

/* Adds or removes pk in the index (present = 1 / 0). */
static int index_set(const struct ledger *l, const uint8_t pk[PUBKEY_LEN], int present)
{
	uint8_t key[HASH_LEN];
	uint64_t count, slot;
	int rc = records_count(l, &count);
	if (rc == ASSAY_ENOTFOUND)
		rc = index_migrate(l, &count);
	if (rc)
		return rc;
	slot_key(pk, key);
	rc = ledger_get_u64(l, key, &slot);
	if (rc && rc != ASSAY_ENOTFOUND)
		return rc;
	int found = rc == 0;
	rc = 0;
	if (found && slot >= count)
		return ASSAY_ECORRUPT;
	if (present && !found) {
		if (count >= VALIDATORS_MAX_RECORDS)
			return ASSAY_EFULL;
		rc = slot_put(l, pk, count++);
	} else if (!present && found) {
		rc = slot_take(l, pk, slot, --count);
	}
	state_meta_key(RECORDS_KEY, NULL, 0, key);
	return rc ? rc : ledger_put_u64(l, key, count);
}

/* Nothing left in r: no bond, nothing unbonding, not jailed. */
static int record_empty(const struct validator_record *r)
{
	return r->bond == 0 && r->nunbonding == 0 && !r->jailed;
}

/* Writes r, or deletes it when it is empty; the index follows. existed:
 * whether a record is stored now. A record is indexed exactly when it is
 * stored, so the index is touched only when a record comes or goes, not on
 * every write of one. */
static int record_store(const struct ledger *l, const uint8_t pk[PUBKEY_LEN], const struct validator_record *r,
			int existed)
{
	uint8_t key[HASH_LEN];
	record_key(pk, key);
	if (record_empty(r)) {
		if (!existed)
			return 0; /* not stored, so not indexed */
		int rc = ledger_del(l, key);
		return rc ? rc : index_set(l, pk, 0);
	}
	struct buf b;
	buf_init(&b);
	validator_record_encode(r, &b);
	int rc = put_buf(l, key, &b);
	return rc || existed ? rc : index_set(l, pk, 1);
}

/* In the next set: not jailed, at least one unit of power. */
static int record_active(const struct validator_record *r)
{
	return !r->jailed && r->bond >= VALIDATOR_POWER_UNIT;
}

/* ---- the count of active records ---- */

static void active_key(uint8_t key[HASH_LEN])
{
	state_key(NS_META, ACTIVE_KEY, strlen(ACTIVE_KEY), key);
}

/* How many records are active (the size of W before the
 * BFT_MAX_VALIDATORS cut, protocol §10.1). Absent, no record has come, gone
 * or changed whether it is active since genesis, whose records all are
 * (power >= 1, not jailed): the count is the index's length, at most the
 * genesis set's 1024. */
static int active_count(const struct ledger *l, uint64_t *count)
{
	uint8_t key[HASH_LEN];
	active_key(key);
	int rc = ledger_get_u64(l, key, count);
	if (rc == ASSAY_ENOTFOUND) {
		uint8_t *pks;
		size_t n;
		rc = validators_list(l, &pks, &n);
		free(pks);
		*count = n;
	}
	return rc;
}

static int active_count_put(const struct ledger *l, uint64_t count)
{
	uint8_t key[HASH_LEN];
	active_key(key);
	return ledger_put_u64(l, key, count);
}

/* ---- the due-height index ---- */

/* NS_META "validators/due" || height:u64 -> count:u64, and || height:u64 ||
 * slot:u64 -> pubkey for slot < count: records the end of block `height`
 * must look at (protocol §10.2). Appended to, never edited: an entry that
 * no longer applies (its record unjailed, deleted, rewritten) costs one
 * read of the record at that height and changes nothing there. */
static void due_key(uint64_t height, const uint64_t *slot, uint8_t key[HASH_LEN])
{
	uint8_t id[sizeof(DUE_PREFIX) - 1 + 8 + 8];
	size_t n = sizeof(DUE_PREFIX) - 1;
	memcpy(id, DUE_PREFIX, n);
	le64_put(id + n, height);
	n += 8;
	if (slot) {
		le64_put(id + n, *slot);
		n += 8;
	}
	state_key(NS_META, id, n, key);
}

/* 0 (absent: 0), or ECORRUPT for a value that is not a u64. */
static int due_count(const struct ledger *l, uint64_t height, uint64_t *count)
{
	uint8_t key[HASH_LEN];
	due_key(height, NULL, key);
	int rc = ledger_get_u64(l, key, count);
	return rc == ASSAY_ENOTFOUND ? 0 : rc;
}

static int due_add(const struct ledger *l, uint64_t height, const uint8_t pk[PUBKEY_LEN])
{
	uint64_t count;
	uint8_t key[HASH_LEN];
	int rc = due_count(l, height, &count);
	if (rc)
		return rc;
	due_key(height, &count, key);
	if ((rc = ledger_put(l, key, pk, PUBKEY_LEN)) != 0)
		return rc;
	due_key(height, NULL, key);
	return ledger_put_u64(l, key, count + 1);
}

/* The records due at height, ascending and each once; the entries are
 * deleted. *pks is malloc()ed (NULL when *n = 0). */
static int due_take(const struct ledger *l, uint64_t height, uint8_t **pks, size_t *n)
{
	uint64_t count;
	uint8_t key[HASH_LEN];
	*pks = NULL;
	*n = 0;
	int rc = due_count(l, height, &count);
	if (rc || count == 0)
		return rc;
	if (count > SIZE_MAX / PUBKEY_LEN)
		return ASSAY_ENOMEM;
	uint8_t *p = malloc((size_t)count * PUBKEY_LEN);
	if (!p)
		return ASSAY_ENOMEM;
	for (uint64_t i = 0; i < count && !rc; i++) {
		size_t len;
		due_key(height, &i, key);
		rc = ledger_get_into(l, key, p + i * PUBKEY_LEN, PUBKEY_LEN, &len);
		if (rc == ASSAY_ENOTFOUND || rc == ASSAY_ELIMIT || (!rc && len != PUBKEY_LEN))
			rc = ASSAY_ECORRUPT;
		if (!rc)
			rc = ledger_del(l, key);
	}
	due_key(height, NULL, key);
	if (!rc)
		rc = ledger_del(l, key);
	if (rc) {
		free(p);
		return rc;
	}
	qsort(p, (size_t)count, PUBKEY_LEN, by_key);
	size_t k = 0;
	for (size_t i = 0; i < (size_t)count; i++)
		if (k == 0 || memcmp(p + (k - 1) * PUBKEY_LEN, p + i * PUBKEY_LEN, PUBKEY_LEN) != 0)
			memmove(p + k++ * PUBKEY_LEN, p + i * PUBKEY_LEN, PUBKEY_LEN);
	*pks = p;
	*n = k;
	return 0;
}

/* The heights at which the end of block must read r (protocol §10.4 step
 * 2): each unbonding entry's release, and jailed_until while jailed (the
 * first height at which a spent record may go). */
static uint32_t due_heights(const struct validator_record *r, uint64_t out[VALIDATOR_MAX_UNBONDING + 1])
{
	uint32_t n = 0;
	for (uint32_t i = 0; i < r->nunbonding; i++)
		out[n++] = r->unbonding[i].release_height;
	if (r->jailed)
		out[n++] = r->jailed_until;
	return n;
}

static int has_height(const uint64_t *hs, uint32_t n, uint64_t h)
{
	for (uint32_t i = 0; i < n; i++)
		if (hs[i] == h)
			return 1;
	return 0;
}

/* Every write of a record after genesis: stores r (record_store), keeps
 * the active count, files r under each due height it gains above this
 * block's, and, with note_now, under this block's own height, so that its
 * end of block looks at every record the block changed (protocol §10.4).
 * The end of block passes note_now = 0 once it has taken this height's
 * entries: its own writes add no heights at or below it. */
static int record_put(const struct validators_ctx *vc, const uint8_t pk[PUBKEY_LEN],
		      const struct validator_record *r, int note_now)
{
	struct validator_record old;
	int rc = validators_get(vc->l, pk, &old);
	if (rc && rc != ASSAY_ENOTFOUND)
		return rc;
	int existed = rc == 0, exists = !record_empty(r);
	int recount = existed != exists || record_active(&old) != record_active(r);
	uint64_t count = 0;
	if (recount && (rc = active_count(vc->l, &count)) != 0)
		return rc;
	if ((rc = record_store(vc->l, pk, r, existed)) != 0)
		return rc;
	if (recount) {
		count = count - (uint64_t)record_active(&old) + (uint64_t)record_active(r);
		if ((rc = active_count_put(vc->l, count)) != 0)
			return rc;
	}
	uint64_t was[VALIDATOR_MAX_UNBONDING + 1], now[VALIDATOR_MAX_UNBONDING + 1];
	uint32_t nwas = due_heights(&old, was), nnow = exists ? due_heights(r, now) : 0;
	for (uint32_t i = 0; i < nnow && !rc; i++)
		if (now[i] > vc->height && !has_height(was, nwas, now[i]) && !has_height(now, i, now[i]))
			rc = due_add(vc->l, now[i], pk);
	if (!rc && note_now)
		rc = due_add(vc->l, vc->height, pk);
	return rc;
}

/* ---- per-height sets ---- */

static void set_key(uint64_t height, uint8_t key[HASH_LEN])
{
	uint8_t id[sizeof(SET_PREFIX) - 1 + 8];
	memcpy(id, SET_PREFIX, sizeof(SET_PREFIX) - 1);
	le64_put(id + sizeof(SET_PREFIX) - 1, height);
	state_key(NS_META, id, sizeof(id), key);
}

static int set_put(const struct ledger *l, uint64_t height, const struct bft_valset *vs)
{
	uint8_t key[HASH_LEN];
	struct buf b;
	set_key(height, key);
	buf_init(&b);
	buf_put_u32(&b, vs->proposer);
	buf_put_varint(&b, vs->n);
	for (uint32_t i = 0; i < vs->n; i++) {
		buf_put(&b, vs->v[i].pubkey, PUBKEY_LEN);
		buf_put_u64(&b, vs->v[i].power);
		buf_put_u64(&b, (uint64_t)vs->v[i].priority);
	}
	return put_buf(l, key, &b);
}

int validators_set_at(const struct ledger *l, uint64_t height, struct bft_valset *vs)
{
	uint8_t key[HASH_LEN], *val;
	size_t len;
	memset(vs, 0, sizeof(*vs));
	set_key(height, key);
	int rc = ledger_get(l, key, &val, &len);
	if (rc)
		return rc;
	struct reader r;
	rd_init(&r, val, len);
	uint32_t proposer = rd_u32(&r);
	uint32_t n = (uint32_t)rd_count(&r, BFT_MAX_VALIDATORS);
	struct bft_validator *v = calloc(n ? n : 1, sizeof(*v));
	if (!v) {
		free(val);
		return ASSAY_ENOMEM;
	}
	uint64_t total = 0;
	rc = 0;
	for (uint32_t i = 0; i < n && !rc; i++) {
		rd_copy(&r, v[i].pubkey, PUBKEY_LEN);
		v[i].power = rd_u64(&r);
		v[i].priority = (int64_t)rd_u64(&r);
		if (v[i].power == 0 || v[i].power > BFT_MAX_TOTAL_POWER - total ||
		    (i && memcmp(v[i - 1].pubkey, v[i].pubkey, PUBKEY_LEN) >= 0))
			rc = ASSAY_ECORRUPT;
		total += v[i].power;
	}
	if (!rc && (rd_finish(&r) || n == 0 || proposer >= n))
		rc = ASSAY_ECORRUPT;
	free(val);
	if (rc) {
		free(v);
		return rc;
	}
	vs->n = n;
	vs->v = v;
	vs->total = total;
	vs->proposer = proposer;
	return 0;
}

/* The set for the height after prev's: the members and powers of want
 * (sorted by pubkey, n > 0), each keeping its priority from prev, a new one
 * entering at -(T + T/8) with T the new total (CometBFT's -1.125 x total),
 * then one proposer step (docs/consensus.md §4). */
static int set_next(const struct bft_valset *prev, const struct bft_validator *want, uint32_t n,
		    struct bft_valset *out)
{
	memset(out, 0, sizeof(*out));
	struct bft_validator *v = malloc((size_t)n * sizeof(*v));
	if (!v)
		return ASSAY_ENOMEM;
	uint64_t total = 0;
	for (uint32_t i = 0; i < n; i++)
		total += want[i].power; /* bounded by the supply, far below BFT_MAX_TOTAL_POWER */
	for (uint32_t i = 0; i < n; i++) {
		v[i] = want[i];
		int at = prev ? bft_valset_find(prev, want[i].pubkey) : -1;
		v[i].priority = at >= 0 ? prev->v[at].priority : -(int64_t)(total + total / 8);
	}
	out->n = n;
	out->v = v;
	out->total = total;
	bft_valset_step(out);
	return 0;
}

int validators_genesis(const struct ledger *l, const struct bft_validator *vals, uint32_t n, char *err,
		       size_t errlen)
{
	struct bft_valset s1, s2;
	int rc = bft_valset_init(&s1, vals, n, err, errlen);
	if (rc)
		return rc;
	struct buf index;
	buf_init(&index);
	buf_put_varint(&index, s1.n);
	for (uint32_t i = 0; i < s1.n && !rc; i++) {
		struct validator_record r;
		memset(&r, 0, sizeof(r));
		if (s1.v[i].power > UINT64_MAX / VALIDATOR_POWER_UNIT) {
			rc = assay_fail(err, errlen, ASSAY_EOVERFLOW, "genesis stake too large for a bond");
			break;
		}
		r.bond = s1.v[i].power * VALIDATOR_POWER_UNIT;
		/* stored as is: genesis writes no active count and no due
		 * entries (active_count reads their absence) */
		uint8_t key[HASH_LEN];
		struct buf b;
		record_key(s1.v[i].pubkey, key);
		buf_init(&b);
		validator_record_encode(&r, &b);
		rc = put_buf(l, key, &b);
		buf_put(&index, s1.v[i].pubkey, PUBKEY_LEN);
	}
	if (!rc) {
		/* the index in its legacy form (s1 is ascending, each key once),
		 * written whole once: the slots come with the first change */
		uint8_t key[HASH_LEN];
		state_meta_key(IDX_LEGACY, NULL, 0, key);
		rc = put_buf(l, key, &index);
	}
	buf_free(&index);
	if (!rc) {
		/* the members of s1, in order, with their powers */
		rc = set_next(&s1, s1.v, s1.n, &s2);
		if (!rc) {
			rc = set_put(l, 1, &s1);
			if (!rc)
				rc = set_put(l, 2, &s2);
			bft_valset_free(&s2);
		}
		if (rc)
			assay_fail(err, errlen, rc, "genesis validators: %s", assay_strerror(rc));
	}
	bft_valset_free(&s1);
	return rc;
}

int validators_amount_decode(const uint8_t *p, size_t n, uint64_t *amount)
{
	if (n != 8)
		return ASSAY_EDECODE;
	*amount = le64_get(p);
	return *amount ? 0 : ASSAY_EDECODE;
}

/* ---- the kinds ---- */

static void clear_missed(struct validator_record *r)
{
	r->missed_bytes = 0;
	memset(r->missed, 0, sizeof(r->missed));
}

/* Rule failure with a message: the transaction fails (protocol §5.2 step 3). */
#define RULE(code, ...) (snprintf(msg, msglen, __VA_ARGS__), (code))

int validators_apply_bond(const struct validators_ctx *vc, const uint8_t pk[PUBKEY_LEN],
			  const uint8_t sender_key[HASH_LEN], uint64_t amount, char *msg, size_t msglen)
{
	struct validator_record r;
	int rc = validators_get(vc->l, pk, &r);
	if (rc && rc != ASSAY_ENOTFOUND)
		return rc;
	uint64_t bond;
	if (amount_add(r.bond, amount, &bond))
		return RULE(ASSAY_EOVERFLOW, "bond overflows");
	if (!r.jailed && !record_active(&r) && bond < vc->params->min_validator_bond) {
		char has[LEDGER_AMOUNT_STR_MAX], min[LEDGER_AMOUNT_STR_MAX];
		ledger_amount_format(bond, has);
		ledger_amount_format(vc->params->min_validator_bond, min);
		return RULE(ASSAY_EINVALID, "bond of %s is below min_validator_bond %s", has, min);
	}
	if ((rc = ledger_debit_at(vc->l, sender_key, amount)) != 0)
		return assay_err_is_local(rc) ? rc : RULE(rc, "bond failed: %s", assay_strerror(rc));
	r.bond = bond;
	rc = record_put(vc, pk, &r, 1);
	return rc == ASSAY_EFULL ? RULE(rc, "too many validator records") : rc;
}

int validators_apply_unbond(const struct validators_ctx *vc, const uint8_t pk[PUBKEY_LEN], uint64_t amount,
			    char *msg, size_t msglen)
{
	struct validator_record r;
	int rc = validators_get(vc->l, pk, &r);
	if (rc == ASSAY_ENOTFOUND)
		return RULE(ASSAY_ENOTFOUND, "the sender has no validator bond");
	if (rc)
		return rc;
	if (amount > r.bond) {
		char has[LEDGER_AMOUNT_STR_MAX];
		ledger_amount_format(r.bond, has);
		return RULE(ASSAY_EBALANCE, "the bond is only %s", has);
	}
	uint64_t release = vc->height + vc->params->unbonding_period;
	uint32_t i;
	for (i = 0; i < r.nunbonding && r.unbonding[i].release_height != release; i++)
		;
	if (i == r.nunbonding) {
		if (r.nunbonding == VALIDATOR_MAX_UNBONDING)
			return RULE(ASSAY_ELIMIT, "already %u unbonding entries; wait for one to be released",
				    VALIDATOR_MAX_UNBONDING);
		r.unbonding[i].release_height = release;
		r.unbonding[i].amount = 0;
		r.nunbonding++;
	}
	r.unbonding[i].amount += amount; /* at most the bond: no overflow */
	int was_active = record_active(&r);
	r.bond -= amount;
	if ((rc = record_put(vc, pk, &r, 1)) != 0)
		return rc;
	uint64_t left;
	if (was_active && !record_active(&r)) {
		if ((rc = active_count(vc->l, &left)) != 0)
			return rc;
		if (left == 0)
			return RULE(ASSAY_EINVALID, "unbonding would leave no validator");
	}
	return 0;
}

int validators_apply_unjail(const struct validators_ctx *vc, const uint8_t pk[PUBKEY_LEN], char *msg,
			    size_t msglen)
{
	struct validator_record r;
	int rc = validators_get(vc->l, pk, &r);
	if (rc == ASSAY_ENOTFOUND)
		return RULE(ASSAY_ENOTFOUND, "the sender has no validator record");
	if (rc)
		return rc;
	if (!r.jailed)
		return RULE(ASSAY_EINVALID, "the validator is not jailed");
	if (vc->height < r.jailed_until)
		return RULE(ASSAY_EINVALID, "jailed until height %llu", (unsigned long long)r.jailed_until);
	if (r.bond < vc->params->min_validator_bond) {
		char has[LEDGER_AMOUNT_STR_MAX], min[LEDGER_AMOUNT_STR_MAX];
		ledger_amount_format(r.bond, has);
		ledger_amount_format(vc->params->min_validator_bond, min);
		return RULE(ASSAY_EINVALID, "bond of %s is below min_validator_bond %s", has, min);
	}
	r.jailed = 0;
	r.jailed_until = 0;
	clear_missed(&r);
	return record_put(vc, pk, &r, 1);
}

static void evidence_key(const uint8_t pk[PUBKEY_LEN], uint64_t height, uint8_t key[HASH_LEN])
{
	uint8_t id[sizeof(EVIDENCE_PREFIX) - 1 + PUBKEY_LEN + 8];
	memcpy(id, EVIDENCE_PREFIX, sizeof(EVIDENCE_PREFIX) - 1);
	memcpy(id + sizeof(EVIDENCE_PREFIX) - 1, pk, PUBKEY_LEN);
	le64_put(id + sizeof(EVIDENCE_PREFIX) - 1 + PUBKEY_LEN, height);
	state_key(NS_META, id, sizeof(id), key);
}

/* Jails r from this block (keeping a later release already set) unless
 * that would leave no active validator; writes r either way. *jailed: 1
 * if it was. */
static int jail(const struct validators_ctx *vc, const uint8_t pk[PUBKEY_LEN], struct validator_record *r,
		int *jailed)
{
	struct validator_record before = *r;
	uint64_t until = vc->height + vc->params->jail_blocks;
	*jailed = 0;
	r->jailed = 1;
	if (r->jailed_until < until)
		r->jailed_until = until;
	clear_missed(r);
	size_t snap = ledger_snapshot(vc->l);
	uint64_t left = 0;
	int rc = record_put(vc, pk, r, 1);
	if (!rc)
		rc = active_count(vc->l, &left);
	if (rc)
		return rc;
	if (left == 0) { /* never an empty set: it stays in, unjailed */
		ledger_revert(vc->l, snap);
		*r = before;
		return record_put(vc, pk, r, 1);
	}
	*jailed = 1;
	return 0;
}

static uint64_t slice_bps(uint64_t amount, uint32_t bps)
{
	return (uint64_t)((unsigned __int128)amount * bps / 10000);
}

int validators_apply_evidence(const struct validators_ctx *vc, const struct bft_evidence *ev, char *msg,
			      size_t msglen, char *note, size_t notelen)
{
	const uint8_t *pk = ev->a.validator;
	uint64_t h = ev->a.height;
	if (h == 0 || h > vc->height)
		return RULE(ASSAY_EINVALID, "evidence for height %llu, above this block's", (unsigned long long)h);
	if (vc->height - h > vc->params->evidence_max_age)
		return RULE(ASSAY_EINVALID, "evidence for height %llu is older than evidence_max_age (%u blocks)",
			    (unsigned long long)h, vc->params->evidence_max_age);
	if (bft_evidence_verify(vc->chain_id, ev) != 0)
		return RULE(ASSAY_ESIG, "evidence signatures do not verify");
	struct bft_valset vs;
	int rc = validators_set_at(vc->l, h, &vs);
	if (rc == ASSAY_ENOTFOUND)
		return RULE(ASSAY_EINVALID, "no validator set kept for height %llu", (unsigned long long)h);
	if (rc)
		return rc;
	int member = bft_valset_find(&vs, pk) >= 0;
	bft_valset_free(&vs);
	if (!member)
		return RULE(ASSAY_ENOTFOUND, "the offender was not a validator at height %llu", (unsigned long long)h);
	uint8_t key[HASH_LEN], *val;
	size_t len;
	evidence_key(pk, h, key);
	rc = ledger_get(vc->l, key, &val, &len);
	if (rc == 0) {
		free(val);
		return RULE(ASSAY_EEXISTS, "this validator was already punished for height %llu",
			    (unsigned long long)h);
	}
	if (rc != ASSAY_ENOTFOUND)
		return rc;
	static const uint8_t one = 1;
	if ((rc = ledger_put(vc->l, key, &one, 1)) != 0)
		return rc;
	struct validator_record r;
	rc = validators_get(vc->l, pk, &r);
	if (rc == ASSAY_ENOTFOUND) { /* nothing left to slash or jail */
		snprintf(note, notelen, "evidence accepted: the offender has no stake left");
		return 0;
	}
	if (rc)
		return rc;
	uint32_t bps = vc->params->evidence_slash_bps;
	uint64_t slashed = slice_bps(r.bond, bps);
	r.bond -= slashed;
	for (uint32_t i = 0; i < r.nunbonding; i++) {
		uint64_t s = slice_bps(r.unbonding[i].amount, bps);
		r.unbonding[i].amount -= s;
		slashed += s; /* at most the offender's stake: no overflow */
	}
	int jailed;
	if ((rc = jail(vc, pk, &r, &jailed)) != 0)
		return rc;
	uint8_t burn_key[HASH_LEN];
	state_key(NS_ACCOUNT, LEDGER_BURN_ADDR, ADDR_LEN, burn_key);
	if (slashed && (rc = ledger_credit_at(vc->l, burn_key, slashed)) != 0)
		return rc;
	char amt[LEDGER_AMOUNT_STR_MAX], hex[17];
	ledger_amount_format(slashed, amt);
	hex_encode(pk, 8, hex);
	snprintf(note, notelen, "validator %s... slashed %s (burned)%s", hex, amt,
		 jailed ? ", jailed" : ", not jailed: it is the last validator");
	return 0;
}

/* ---- end of block ---- */

static int commit_signed_by(const struct commit *c, const uint8_t pk[PUBKEY_LEN])
{
	for (uint32_t i = 0; i < c->nsigs; i++)
		if (memcmp(c->sigs[i].validator, pk, PUBKEY_LEN) == 0)
			return 1;
	return 0;
}

static uint32_t popcount_bytes(const uint8_t *p, uint32_t n)
{
	uint32_t c = 0;
	for (uint32_t i = 0; i < n; i++)
		c += (uint32_t)__builtin_popcount(p[i]);
	return c;
}

/* The signers of the commit for block h - 1 against the set of h - 1: each
 * member's bit for that height records whether it was missing; more than
 * downtime_max_missed bits set in the window jails it (docs §10.4). */
static int downtime(const struct validators_ctx *vc, const struct commit *last_commit)
{
	const struct chain_params *p = vc->params;
	uint64_t h = vc->height - 1;
	struct bft_valset vs;
	int rc = validators_set_at(vc->l, h, &vs);
	if (rc == ASSAY_ENOTFOUND)
		return 0;
	if (rc)
		return rc;
	uint32_t window = p->downtime_window, nbytes = (window + 7) / 8, bit = (uint32_t)(h % window);
	for (uint32_t i = 0; i < vs.n && !rc; i++) {
		struct validator_record r;
		const uint8_t *pk = vs.v[i].pubkey;
		int missed = !commit_signed_by(last_commit, pk);
		if ((rc = validators_get(vc->l, pk, &r)) == ASSAY_ENOTFOUND) {
			rc = 0;
			continue;
		}
		if (rc || r.jailed)
			continue;
		int was = r.missed_bytes == nbytes && (r.missed[bit / 8] >> (bit % 8) & 1);
		if (was == missed)
			continue; /* nothing to write */
		if (r.missed_bytes != nbytes) {
			memset(r.missed, 0, sizeof(r.missed));
			r.missed_bytes = nbytes;
		}
		if (missed)
			r.missed[bit / 8] |= (uint8_t)(1u << (bit % 8));
		else
			r.missed[bit / 8] &= (uint8_t)~(1u << (bit % 8));
		if (!popcount_bytes(r.missed, nbytes))
			clear_missed(&r);
		int jailed;
		if (missed && popcount_bytes(r.missed, r.missed_bytes) > p->downtime_max_missed)
			rc = jail(vc, pk, &r, &jailed);
		else
			rc = record_put(vc, pk, &r, 1);
	}
	bft_valset_free(&vs);
	return rc;
}

/* Unbonding entries due at this height go back to the validator's account;
 * a jailed record with no stake left is deleted once it could be unjailed
 * (it holds nothing a later bond would not set afresh, and kept for ever
 * such records would fill the index). Only the records filed under this
 * height (pks, n of them) can have either: see docs/protocol.md §10.4. */
static int release_unbonding(const struct validators_ctx *vc, const uint8_t *pks, size_t n)
{
	int rc = 0;
	for (size_t i = 0; i < n && !rc; i++) {
		struct validator_record r;
		const uint8_t *pk = pks + i * PUBKEY_LEN;
		if ((rc = validators_get(vc->l, pk, &r)) == ASSAY_ENOTFOUND) {
			rc = 0; /* an entry that no longer applies */
			continue;
		}
		if (rc)
			return rc;
		uint64_t due = 0;
		uint32_t kept = 0;
		for (uint32_t j = 0; j < r.nunbonding; j++) {
			if (r.unbonding[j].release_height <= vc->height)
				due += r.unbonding[j].amount; /* within the supply */
			else
				r.unbonding[kept++] = r.unbonding[j];
		}
		int spent = r.jailed && r.bond == 0 && kept == 0 && vc->height >= r.jailed_until;
		if (kept != r.nunbonding || spent) {
			r.nunbonding = kept;
			if (spent)
				r.jailed = 0; /* record_put deletes it */
			uint8_t addr[ADDR_LEN];
			address_from_pubkey(pk, addr);
			if (due && (rc = ledger_credit(vc->l, addr, due)) != 0)
				return rc;
			rc = record_put(vc, pk, &r, 0);
		}
	}
	return rc;
}

static int by_power_desc(const void *a, const void *b)
{
	const struct bft_validator *x = a, *y = b;
	if (x->power != y->power)
		return x->power > y->power ? -1 : 1;
	return memcmp(x->pubkey, y->pubkey, PUBKEY_LEN);
}

static int by_pubkey(const void *a, const void *b)
{
	return memcmp(((const struct bft_validator *)a)->pubkey, ((const struct bft_validator *)b)->pubkey,
		      PUBKEY_LEN);
}

/* W from candidates (protocol §10.1): the strongest BFT_MAX_VALIDATORS,
 * ties by pubkey, in pubkey order. */
static uint32_t wanted_cut(struct bft_validator *want, size_t k)
{
	if (k > BFT_MAX_VALIDATORS) {
		qsort(want, k, sizeof(*want), by_power_desc);
		k = BFT_MAX_VALIDATORS;
	}
	qsort(want, k, sizeof(*want), by_pubkey);
	return (uint32_t)k;
}

/* W by reading every record: what the shortcut of wanted() falls back on. */
static int wanted_scan(const struct ledger *l, struct bft_validator **want, uint32_t *k)
{
	uint8_t *pks;
	size_t n, m = 0;
	*want = NULL;
	*k = 0;
	int rc = validators_list(l, &pks, &n);
	if (rc)
		return rc;
	struct bft_validator *w = calloc(n ? n : 1, sizeof(*w));
	if (!w) {
		free(pks);
		return ASSAY_ENOMEM;
	}
	for (size_t i = 0; i < n && !rc; i++) {
		struct validator_record r;
		const uint8_t *pk = pks + i * PUBKEY_LEN;
		if ((rc = validators_get(l, pk, &r)) == ASSAY_ENOTFOUND)
			rc = ASSAY_ECORRUPT; /* indexed but absent */
		if (!rc && record_active(&r)) {
			memcpy(w[m].pubkey, pk, PUBKEY_LEN);
			w[m++].power = r.bond / VALIDATOR_POWER_UNIT;
		}
	}
	free(pks);
	if (rc) {
		free(w);
		return rc;
	}
	*want = w;
	*k = wanted_cut(w, m);
	return 0;
}

/* W after this block's releases (protocol §10.1), from cur = S_{h+1} and
 * the records filed under h (pks, n: a superset of those written in this
 * block). S_{h+1} is W of the block before (or, after an empty W, the set
 * kept; genesis: every record), and a record not written since has its
 * state from then, so the candidates are cur's unwritten members with
 * their powers and the active records of pks; the rest of the argument is
 * in docs/protocol.md §10.4. *want is malloc()ed; *k = 0: W is empty. */
static int wanted(const struct validators_ctx *vc, const struct bft_valset *cur, const uint8_t *pks, size_t n,
		  struct bft_validator **want, uint32_t *k)
{
	*want = NULL;
	*k = 0;
	struct bft_validator *w = calloc((size_t)cur->n + n, sizeof(*w));
	if (!w)
		return ASSAY_ENOMEM;
	if (n == 0) { /* nothing changed: W is cur's members and powers */
		memcpy(w, cur->v, cur->n * sizeof(*w));
		*want = w;
		*k = cur->n;
		return 0;
	}
	uint64_t active;
	int rc = active_count(vc->l, &active);
	if (rc || active == 0) {
		free(w);
		return rc;
	}
	size_t m = 0, above = 0;
	const struct bft_validator *weakest = NULL; /* cur's last by power, ties by pubkey */
	for (uint32_t i = 0; i < cur->n; i++) {
		if (!weakest || by_power_desc(&cur->v[i], weakest) > 0)
			weakest = &cur->v[i];
		int found;
		index_pos(pks, n, cur->v[i].pubkey, &found);
		if (!found) {
			w[m] = cur->v[i];
			w[m++].priority = 0;
		}
	}
	for (size_t i = 0; i < n && !rc; i++) {
		struct validator_record r;
		if ((rc = validators_get(vc->l, pks + i * PUBKEY_LEN, &r)) == ASSAY_ENOTFOUND) {
			rc = 0;
			continue;
		}
		if (!rc && record_active(&r)) {
			memcpy(w[m].pubkey, pks + i * PUBKEY_LEN, PUBKEY_LEN);
			w[m].priority = 0;
			w[m++].power = r.bond / VALIDATOR_POWER_UNIT;
		}
	}
	if (rc) {
		free(w);
		return rc;
	}
	for (size_t i = 0; i < m && weakest; i++)
		above += by_power_desc(&w[i], weakest) <= 0;
	/* m == active: the candidates are every active record. m < active: the
	 * others were below cur's weakest member and unwritten since, so they
	 * lose to any BFT_MAX_VALIDATORS candidates at or above it. */
	if (m == active || (m < active && above >= BFT_MAX_VALIDATORS)) {
		*want = w;
		*k = wanted_cut(w, m);
		return 0;
	}
	free(w);
	return wanted_scan(vc->l, want, k);
}

/* A validator entering the set (in next, not in cur) starts with a clean
 * downtime window: bits left from an earlier membership describe heights it
 * was not asked to sign since. Cleared on entry, not on bond, so that an
 * unbond and a bond in one block, which never leave the set, keep them. */
static int clear_entrants(const struct validators_ctx *vc, const struct bft_valset *cur,
			  const struct bft_valset *next)
{
	int rc = 0;
	for (uint32_t i = 0; i < next->n && !rc; i++) {
		const uint8_t *pk = next->v[i].pubkey;
		struct validator_record r;
		if (bft_valset_find(cur, pk) >= 0)
			continue;
		if ((rc = validators_get(vc->l, pk, &r)) != 0)
			return rc == ASSAY_ENOTFOUND ? ASSAY_ECORRUPT : rc;
		if (!r.missed_bytes)
			continue;
		clear_missed(&r);
		rc = record_put(vc, pk, &r, 0);
	}
	return rc;
}

int validators_end_block(const struct validators_ctx *vc, const struct commit *last_commit, char *err,
			 size_t errlen)
{
	int rc = 0;
	if (last_commit && vc->height >= 2 && (rc = downtime(vc, last_commit)) != 0)
		return assay_fail(err, errlen, rc, "validator downtime: %s", assay_strerror(rc));
	struct bft_valset cur, next;
	if ((rc = validators_set_at(vc->l, vc->height + 1, &cur)) == ASSAY_ENOTFOUND) {
		/* A ledger without validator state (unit tests of other modules
		 * execute blocks on one); a chain always has its genesis set. */
		uint8_t *pks;
		size_t n;
		rc = validators_list(vc->l, &pks, &n);
		free(pks);
		if (rc)
			return assay_fail(err, errlen, rc, "validator index: %s", assay_strerror(rc));
		if (n == 0)
			return 0;
		rc = ASSAY_ECORRUPT;
	}
	if (rc)
		return assay_fail(err, errlen, rc, "validator set of height %llu: %s",
				  (unsigned long long)vc->height + 1, assay_strerror(rc));
	uint8_t *due;
	size_t ndue;
	struct bft_validator *want = NULL;
	uint32_t k = 0;
	if ((rc = due_take(vc->l, vc->height, &due, &ndue)) == 0 && (rc = release_unbonding(vc, due, ndue)) == 0)
		rc = wanted(vc, &cur, due, ndue, &want, &k);
	free(due);
	if (rc) {
		bft_valset_free(&cur);
		return assay_fail(err, errlen, rc, "validator unbonding: %s", assay_strerror(rc));
	}
	/* k == 0: W is empty (a slash can leave the last validator below one
	 * unit, §10.1); the set stays as it is rather than halt the chain. */
	rc = k ? set_next(&cur, want, k, &next) : set_next(&cur, cur.v, cur.n, &next);
	free(want);
	if (!rc) {
		rc = clear_entrants(vc, &cur, &next);
		if (!rc)
			rc = set_put(vc->l, vc->height + 2, &next);
		bft_valset_free(&next);
	}
	bft_valset_free(&cur);
	/* the sets evidence and downtime can still ask for: from height + 1 -
	 * evidence_max_age on (the next block's window) */
	if (!rc && vc->height > vc->params->evidence_max_age) {
		uint8_t key[HASH_LEN];
		set_key(vc->height - vc->params->evidence_max_age, key);
		rc = ledger_del(vc->l, key);
		if (rc == ASSAY_ENOTFOUND)
			rc = 0;
	}
	if (rc)
		return assay_fail(err, errlen, rc, "validator set update: %s", assay_strerror(rc));
	return 0;
}
