/* Parsing getchainparams (see client_chain.h). The field list mirrors
 * struct chain_params; a field the node leaves out is an error rather than a
 * zero, since a zero fee floor would be silently wrong. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

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
