/* Merkle tree with kept levels (see outtree.h). Built bottom-up: level l+1
 * pairs the nodes of level l and promotes a lone last node unchanged, which
 * gives exactly RFC 6962's tree (split at the largest power of two below n)
 * and lets a proof be read off one sibling per level. */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "worker/outtree.h"

struct outtree {
	size_t nlevels;
	size_t size[MERKLE_MAX_DEPTH + 1];            /* nodes on each level; level 0 = leaves */
	uint8_t (*level[MERKLE_MAX_DEPTH + 1])[HASH_LEN]; /* malloc()ed; level 0 is the leaves */
};

outtree_t *outtree_build(uint8_t (*leaves)[HASH_LEN], size_t n)
{
	outtree_t *t = n ? calloc(1, sizeof(*t)) : NULL;
	if (!t) {
		free(leaves);
		return NULL;
	}
	t->level[0] = leaves;
	t->size[0] = n;
	t->nlevels = 1;
	while (t->size[t->nlevels - 1] > 1) {
		size_t below = t->size[t->nlevels - 1], up = (below + 1) / 2;
		uint8_t (*src)[HASH_LEN] = t->level[t->nlevels - 1];
		uint8_t (*dst)[HASH_LEN] = malloc(up * HASH_LEN);
		if (!dst) {
			outtree_destroy(t);
			return NULL;
		}
		merkle_level_up((const uint8_t(*)[HASH_LEN])src, below, dst);
		t->level[t->nlevels] = dst;
		t->size[t->nlevels] = up;
		t->nlevels++;
	}
	return t;
}

void outtree_destroy(outtree_t *t)
{
	if (!t)
		return;
	for (size_t l = 0; l < t->nlevels; l++)
		free(t->level[l]);
	free(t);
}

size_t outtree_leaves(const outtree_t *t) { return t->size[0]; }

void outtree_root(const outtree_t *t, uint8_t root[HASH_LEN])
{
	memcpy(root, t->level[t->nlevels - 1][0], HASH_LEN);
}

int outtree_proof(const outtree_t *t, size_t i, uint8_t (*path)[HASH_LEN], size_t *depth)
{
	if (i >= t->size[0])
		return ASSAY_EARG;
	*depth = 0;
	for (size_t l = 0; l + 1 < t->nlevels; l++, i >>= 1) {
		size_t sib = i ^ 1;
		if (sib < t->size[l])
			memcpy(path[(*depth)++], t->level[l][sib], HASH_LEN);
	}
	return 0;
}

void outtree_subtree(void *tree, size_t start, size_t size, uint8_t out[HASH_LEN])
{
	const outtree_t *t = tree;
	size_t d = 0;
	while (((size_t)1 << d) < size)
		d++;
	memcpy(out, t->level[d][start >> d], HASH_LEN);
}
