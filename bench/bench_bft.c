/* Signed transfers for bench/bench_bft.py, which drives real assayd
 * validators over RPC and cannot sign fast enough in Python. Keys are
 * bench_keys_make's (seed = the index in its first bytes), so the two
 * commands agree without sharing files:
 *   bench_bft addresses N          the bech32m (dev/local) address of keys 0..N-1, one a line
 *   bench_bft transfers CHAIN S T [FIRST]
 *                                  S*T transfers of 1 base unit (fee 1000) in hex, one a line:
 *                                  line i from key FIRST + i % S (FIRST default 0), nonce
 *                                  i / S, to the next of those S keys; CHAIN is the genesis
 *                                  hash (64 hex digits)
 * Not a benchmark itself: it prints what the Python driver submits. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench_util.h"
#include "core/buf.h"
#include "core/keys.h"
#include "core/tx.h"

static int usage(void)
{
	fprintf(stderr, "usage: bench_bft addresses N | bench_bft transfers CHAIN_ID_HEX SENDERS PER_SENDER [FIRST]\n");
	return 2;
}

static int print_addresses(size_t n)
{
	struct bench_keys keys;
	bench_keys_make(&keys, n);
	for (size_t i = 0; i < n; i++) {
		char text[ADDR_STR_MAX];
		address_encode(NET_DEV, keys.addr[i], text);
		printf("%s\n", text);
	}
	return 0;
}

static int print_transfers(const char *chain_hex, size_t senders, size_t per_sender, size_t first)
{
	uint8_t chain_id[HASH_LEN];
	if (senders == 0 || strlen(chain_hex) != 2 * HASH_LEN ||
	    hex_decode(chain_hex, chain_id, HASH_LEN) != HASH_LEN)
		return usage();
	struct bench_keys keys;
	bench_keys_make(&keys, first + senders);
	char *hex = NULL;
	size_t hex_cap = 0;
	for (size_t i = 0; i < senders * per_sender; i++) {
		size_t s = first + i % senders;
		struct transfer_payload tp;
		struct tx t;
		struct buf b;
		memset(&t, 0, sizeof(t));
		memcpy(tp.to, keys.addr[first + (i % senders + 1) % senders], ADDR_LEN);
		tp.amount = 1;
		buf_init(&b);
		transfer_encode(&tp, &b);
		memcpy(t.chain_id, chain_id, HASH_LEN);
		t.nonce = i / senders;
		memcpy(t.sender, keys.pk[s], PUBKEY_LEN);
		t.fee = 1000;
		tx_set_payload(&t, b.data, b.len);
		tx_sign(&t, keys.sk[s]);
		buf_reset(&b);
		tx_encode(&t, &b);
		if (b.oom || 2 * b.len + 1 > hex_cap) {
			hex_cap = 2 * b.len + 1;
			free(hex);
			hex = malloc(hex_cap);
			if (b.oom || !hex) {
				fprintf(stderr, "bench_bft: out of memory\n");
				return 1;
			}
		}
		hex_encode(b.data, b.len, hex);
		printf("%s\n", hex);
		buf_free(&b);
		tx_free(&t);
	}
	free(hex);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "addresses") == 0)
		return print_addresses(strtoull(argv[2], NULL, 10));
	if ((argc == 5 || argc == 6) && strcmp(argv[1], "transfers") == 0)
		return print_transfers(argv[2], strtoull(argv[3], NULL, 10), strtoull(argv[4], NULL, 10),
				       argc == 6 ? strtoull(argv[5], NULL, 10) : 0);
	return usage();
}
