/* Ed25519 keys and signatures through libsodium (one verifier for every node,
 * docs/protocol.md §2), and account addresses: the first 20 bytes of SHA256(pubkey),
 * shown as bech32m with the network's HRP. Not for: key storage (wallet/). */
#ifndef ASSAY_CORE_KEYS_H
#define ASSAY_CORE_KEYS_H

#include <stddef.h>
#include <stdint.h>

#define PUBKEY_LEN 32
#define SECKEY_LEN 64 /* libsodium layout: seed || pubkey */
#define SEED_LEN 32
#define SIG_LEN 64
#define ADDR_LEN 20
#define ADDR_STR_MAX 96 /* bech32m text, with NUL */

/* Must be called once before any other function here (idempotent). */
int keys_init(void);
void key_generate(uint8_t pk[PUBKEY_LEN], uint8_t sk[SECKEY_LEN]);
void key_from_seed(const uint8_t seed[SEED_LEN], uint8_t pk[PUBKEY_LEN], uint8_t sk[SECKEY_LEN]);
void sig_sign(const uint8_t sk[SECKEY_LEN], const void *msg, size_t n, uint8_t sig[SIG_LEN]);
/* 0 if valid, ASSAY_ESIG if not. */
int sig_verify(const uint8_t pk[PUBKEY_LEN], const void *msg, size_t n, const uint8_t sig[SIG_LEN]);

enum network {
	NET_MAIN = 0, /* HRP "assay" */
	NET_TEST = 1, /* "tassay" */
	NET_DEV = 2,  /* "dassay": dev and local chains */
};

const char *network_hrp(enum network net);
void address_from_pubkey(const uint8_t pk[PUBKEY_LEN], uint8_t addr[ADDR_LEN]);
/* Writes the bech32m text of addr for net into out (ADDR_STR_MAX bytes). */
void address_encode(enum network net, const uint8_t addr[ADDR_LEN], char out[ADDR_STR_MAX]);
/* Parses bech32m text; 0 ok and *net set, else ASSAY_EDECODE. */
int address_decode(const char *text, enum network *net, uint8_t addr[ADDR_LEN]);

#endif
