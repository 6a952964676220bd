/* libFuzzer target for the parsing the clients still do themselves once
 * evhttp has framed a reply: the JSON-RPC envelope (rpc_client_parse_reply)
 * and the readers of getchainparams, of a job record and of a blob
 * (client_chain_parse, client_job_parse, client_blob_parse), on bodies from
 * a node or anything posing as one. No input may crash them, each answer is
 * one of the documented codes, a failure always leaves a NUL-terminated
 * message, and a job record that parses has a shape a client may size
 * buffers and loops by. The first input byte picks the HTTP status. Built
 * with -DFUZZ_DRIVER, a main() feeds it mutations of valid replies so that
 * `make check` runs it.
 * fuzz-sources: wallet/rpc_client.c wallet/client_chain.c core/buf.c core/error.c
 * fuzz-sources: core/network.c core/keys.c core/bech32.c core/sha256.c
 * fuzz-sources: consensus/compute/compute_codec.c consensus/compute/kernels.c
 * fuzz-sources: consensus/compute/mlp.c consensus/compute/field.c core/merkle.c core/chacha.c
 * fuzz-libs: -levent -lcrypto
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "consensus/compute/kernels.h"
#include "core/error.h"
#include "wallet/client_chain.h"
#include "wallet/rpc_client.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int statuses[] = {200, 401, 403, 404, 500, 502, 0, 302};
	if (size < 1)
		return 0;
	int status = statuses[data[0] % 8];
	json_t *result = NULL;
	struct rpc_failure fail;
	memset(&fail, 0x55, sizeof(fail));
	int rc = rpc_client_parse_reply(status, (const char *)data + 1, size - 1, &result, &fail);
	if (rc == 0) {
		if (!result || status != 200)
			abort();
		struct client_chain chain;
		char err[256];
		memset(err, 0x55, sizeof(err));
		int crc = client_chain_parse(result, &chain, err, sizeof(err));
		if (crc != 0 && (crc != ASSAY_EDECODE || !memchr(err, 0, sizeof(err))))
			abort();
		if (crc == 0 && !chain.network)
			abort();
		struct job_record rec;
		memset(err, 0x55, sizeof(err));
		int jrc = client_job_parse(result, &rec, err, sizeof(err));
		if (jrc != 0 && (jrc != ASSAY_EDECODE || !memchr(err, 0, sizeof(err))))
			abort();
		if (jrc == 0 && (kernel_tile_count(&rec.spec.shape) == 0 ||
				 kernel_output_bytes(&rec.spec.shape) > COMPUTE_OUTPUT_BYTES_CAP ||
				 rec.spec.samples == 0 || rec.spec.samples > JOB_MAX_SAMPLES))
			abort();
		uint8_t name[HASH_LEN], *blob = NULL;
		const char *hex = json_string_value(json_object_get(result, "data"));
		size_t want = hex ? strlen(hex) / 2 : 0;
		sha256((const uint8_t *)"", 0, name); /* the one blob a short fuzz run may well find */
		memset(err, 0x55, sizeof(err));
		int brc = client_blob_parse(result, name, want, &blob, err, sizeof(err));
		if (brc != 0 && ((brc != ASSAY_EDECODE && brc != ASSAY_ENOMEM) || blob || !memchr(err, 0, sizeof(err))))
			abort();
		if (brc == 0 && (!blob || want != 0))
			abort();
		free(blob);
		json_decref(result);
	} else {
		if (result || !memchr(fail.message, 0, sizeof(fail.message)))
			abort();
		if (rc != ASSAY_EAUTH && rc != ASSAY_EINVALID && rc != ASSAY_EDECODE)
			abort();
	}
	return 0;
}

#ifdef FUZZ_DRIVER
#include "tests/fuzz/fuzz_mutate.h"

/* Seeds: replies a node gives, then random byte mutations of them. */
int main(void)
{
	static const char *const seeds[] = {
		"\x08{\"result\":{\"chain\":\"assay-dev\",\"network\":\"dev\",\"hrp\":\"dassay\",\"chain_"
		"id\":"
		"\"e40870f82c71578eebc8fba18f9481a92f151976f74fe1a2804be8b4713e039a\",\"block_time_ms\":500,"
		"\"max_block_txs\":5000,\"max_block_bytes\":4194304,\"max_tx_bytes\":1048576,"
		"\"max_block_gas\":100000000,\"min_fee\":1000,\"gas_price\":1,\"max_future_ms\":15000},"
		"\"error\":null,\"id\":1}",
		"\x04{\"result\":null,\"error\":{\"code\":-26,\"message\":\"fee too low\"},\"id\":1}",
		"\x08{\"result\":[1,2,{\"a\":\"b\"}],\"id\":1}",
		/* a getjob result: a 64x64x64 matmul in 8x8 tiles, k = 66, one slot */
		"\x08{\"result\":{\"record\":\""
		"00000000000000000000000000000000000000000000000000000000000000000000000000000000"
		"00000000000000000000000001400000004000000040000000080000000800000000000000000000"
		"00000000000000000000000000000000000000000000000000004200000001e80300000000000000"
		"00000000000000000000000000000000000000000000000000000000000000000000000000000000"
		"00000000000000000000000000000000000000000000000000000000000000000000000000000000"
		"00000000000000000000000000000000000000000000000000000000000000000000000000000000"
		"00000000000000000000000000000000000000000000000000000000000000000000000000000000"
		"00000000000000000000000000000000000000000000000000000000000000000000000000000000"
		"00000000000000000000000000000000000000000000000000000000000000000000000000000000"
		"00000000000000000000000000000000000000000000000000000000000000000000000000000000"
		"00000000000000000000000000000000000000000000000000000000000000000000000000000000"
		"00000000000000"
		"\"},\"id\":1}",
		"\x08{\"result\":{\"hash\":\"e3b0\",\"data\":\"\"},\"id\":1}",
		"\x01",
	};
	/* byte 0: 8 and 0 pick status 200, 4 picks 500 */
	fuzz_mutate_text(seeds, sizeof(seeds) / sizeof(seeds[0]), 3000, "{}[]\":,0-9", "fuzz_rpc_reply");
	return 0;
}
#endif
