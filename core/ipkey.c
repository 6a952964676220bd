/* Per-client limit keys (see ipkey.h). */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/ipkey.h"

void ipkey_client(const char *ip, char *out, size_t cap)
{
	static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	uint8_t a[16];
	char text[INET6_ADDRSTRLEN];
	snprintf(out, cap, "%s", ip);
	if (inet_pton(AF_INET6, ip, a) != 1)
		return; /* IPv4, or not an address: as it is */
	if (memcmp(a, v4mapped, sizeof(v4mapped)) == 0) {
		if (inet_ntop(AF_INET, a + 12, text, sizeof(text)))
			snprintf(out, cap, "%s", text);
		return;
	}
	memset(a + 8, 0, 8);
	if (inet_ntop(AF_INET6, a, text, sizeof(text)))
		snprintf(out, cap, "%s/64", text);
}
