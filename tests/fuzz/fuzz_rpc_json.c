/* libFuzzer target for the JSON-RPC server's body parser (node/rpc_json.c):
 * on any bytes, rpc_json_parse answers exactly as json_loadb(.., JSON_REJECT_DUPLICATES, ..)
 * does: the same tree with its keys in the same order, or a failure with
 * the same error text; and what the direct scan accepts, jansson accepts
 * as the same tree. Built with -DFUZZ_DRIVER, a main() feeds it mutations
 * of request bodies so that `make check` runs it.
 * fuzz-sources: node/rpc_json.c
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "node/rpc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Equal trees, key order included: compared through one canonical dump. */
static int same_tree(const json_t *a, const json_t *b)
{
	char *x = json_dumps(a, JSON_PRESERVE_ORDER | JSON_ENCODE_ANY),
	     *y = json_dumps(b, JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
	int same = x && y && strcmp(x, y) == 0 && json_equal(a, b);
	free(x);
	free(y);
	return same;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	json_error_t want_err, got_err;
	json_t *want = json_loadb(text, size, JSON_REJECT_DUPLICATES, &want_err);
	json_t *scanned = rpc_json_scan(text, size);
	if (scanned && (!want || !same_tree(scanned, want)))
		abort(); /* the scan took a body jansson reads otherwise */
	json_t *got = rpc_json_parse(text, size, &got_err);
	if (!want != !got)
		abort();
	if (want && !same_tree(got, want))
		abort();
	if (!want && strcmp(want_err.text, got_err.text) != 0)
		abort();
	json_decref(want);
	json_decref(scanned);
	json_decref(got);
	return 0;
}

#ifdef FUZZ_DRIVER
#include "tests/fuzz/fuzz_mutate.h"

/* Seeds: bodies a client sends, then random byte mutations of them. */
int main(void)
{
	static const char *const seeds[] = {
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"sendrawtransactions\",\"params\":[[\"0a0b\","
		"\"ffee00\"]]}",
		"[{\"id\":1,\"method\":\"getblockcount\",\"params\":[]},{\"id\":2,\"method\":\"getblock\","
		"\"params\":[12,true]}]",
		"{\"method\":\"getaccount\",\"params\":{\"address\":\"dassay1qq\"},\"id\":null}",
		"{\"a\":\"\\u00e9\",\"b\":-1.5e3,\"a\":false}",
	};
	fuzz_mutate_text(seeds, sizeof(seeds) / sizeof(seeds[0]), 3000, "{}[]\":,0-9e.\\ ", "fuzz_rpc_json");
	return 0;
}
#endif
