/* Ed25519 through libsodium and account addresses (see keys.h). */
#include <string.h>

#include <sodium.h>

#include "core/bech32.h"
#include "core/error.h"
#include "core/keys.h"
#include "core/network.h"
#include "core/sha256.h"

int keys_init(void)
{
	return sodium_init() < 0 ? ASSAY_EINVALID : 0;
}

void key_generate(uint8_t pk[PUBKEY_LEN], uint8_t sk[SECKEY_LEN])
{
	crypto_sign_keypair(pk, sk);
}

void key_from_seed(const uint8_t seed[SEED_LEN], uint8_t pk[PUBKEY_LEN], uint8_t sk[SECKEY_LEN])
{
	crypto_sign_seed_keypair(pk, sk, seed);
}

void sig_sign(const uint8_t sk[SECKEY_LEN], const void *msg, size_t n, uint8_t sig[SIG_LEN])
{
	crypto_sign_detached(sig, NULL, msg, n, sk);
}

int sig_verify(const uint8_t pk[PUBKEY_LEN], const void *msg, size_t n, const uint8_t sig[SIG_LEN])
{
	return crypto_sign_verify_detached(sig, msg, n, pk) == 0 ? 0 : ASSAY_ESIG;
}

const char *network_hrp(enum network net)
{
	return network_of_family(net)->hrp;
}

void address_from_pubkey(const uint8_t pk[PUBKEY_LEN], uint8_t addr[ADDR_LEN])
{
	uint8_t h[HASH_LEN];
	sha256(pk, PUBKEY_LEN, h);
	memcpy(addr, h, ADDR_LEN);
}

void address_encode(enum network net, const uint8_t addr[ADDR_LEN], char out[ADDR_STR_MAX])
{
	if (bech32m_encode(network_hrp(net), addr, ADDR_LEN, out, ADDR_STR_MAX) < 0)
		out[0] = 0;
}

int address_decode(const char *text, enum network *net, uint8_t addr[ADDR_LEN])
{
	char hrp[16];
	size_t n;
	if (bech32m_decode(text, hrp, sizeof(hrp), addr, ADDR_LEN, &n) < 0 || n != ADDR_LEN)
		return ASSAY_EDECODE;
	for (int i = NET_MAIN; i <= NET_DEV; i++) {
		if (strcmp(hrp, network_hrp((enum network)i)) == 0) {
			*net = (enum network)i;
			return 0;
		}
	}
	return ASSAY_EDECODE;
}
