/* The network table (see network.h). Adding a network is one row here; its
 * magic must share no byte position with the others (network.h). The
 * compiled genesis and seeds of a network are data in docs/testnet/NAME/,
 * embedded by the build (network_data.c); here only their lookup and the
 * seed list reader. Not for: anything a genesis decides. */
#include <stddef.h>
#include <string.h>

#include "core/network.h"

static const struct network_info networks[] = {
	/* name       family    hrp       rpc    p2p    magic */
	{"dev", NET_DEV, "dassay", 29443, 29444, NET_MAGIC_DEV},
	{"local", NET_DEV, "dassay", 29443, 29444, NET_MAGIC_LOCAL},
	{"testnet", NET_TEST, "tassay", 19443, 19444, NET_MAGIC_TESTNET},
	{"main", NET_MAIN, "assay", 9443, 9444, NET_MAGIC_MAIN},
};

#define NETWORK_COUNT (sizeof(networks) / sizeof(networks[0]))

const struct network_info *network_find(const char *name)
{
	for (size_t i = 0; name && i < NETWORK_COUNT; i++)
		if (strcmp(networks[i].name, name) == 0)
			return &networks[i];
	return NULL;
}

const struct network_info *network_at(unsigned i)
{
	return i < NETWORK_COUNT ? &networks[i] : NULL;
}

const struct network_info *network_of_family(enum network family)
{
	for (size_t i = 0; i < NETWORK_COUNT; i++)
		if (networks[i].family == family)
			return &networks[i];
	return &networks[0];
}

static const struct network_chain chains[] = {
	{"testnet", "assay-testnet-1", "d07c590aa95b88e956f9defd8637f21ff146fef277c44485ae0a520652e63fb4"},
};

const struct network_chain *network_chain_at(unsigned i)
{
	return i < sizeof(chains) / sizeof(chains[0]) ? &chains[i] : NULL;
}

const struct network_builtin *network_builtin(const char *name)
{
	for (unsigned i = 0; name && i < network_builtin_count; i++)
		if (strcmp(network_builtins[i].name, name) == 0)
			return &network_builtins[i];
	return NULL;
}

int network_seed_next(const char **cursor, char *out, size_t outlen)
{
	const char *p = *cursor;
	while (p && *p) {
		const char *end = strchr(p, '\n');
		const char *next = end ? end + 1 : p + strlen(p);
		if (!end)
			end = next;
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		const char *last = end;
		while (last > p && (last[-1] == ' ' || last[-1] == '\t' || last[-1] == '\r'))
			last--;
		size_t len = (size_t)(last - p);
		if (len && *p != '#' && len < outlen) {
			memcpy(out, p, len);
			out[len] = 0;
			*cursor = next;
			return 1;
		}
		p = next;
	}
	*cursor = p;
	return 0;
}
