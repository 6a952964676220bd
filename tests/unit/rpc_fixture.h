/* Loopback helpers of the RPC server's unit tests (test_rpc_defer,
 * test_rpc_offload): a free port, one raw POST with the tests' credentials
 * ("u:p"), and turning the server's event loop until a reply arrives. */
#ifndef ASSAY_TESTS_UNIT_RPC_FIXTURE_H
#define ASSAY_TESTS_UNIT_RPC_FIXTURE_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#define AUTH "Authorization: Basic dTpw\r\n" /* "u:p" */

static inline void nap_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
	nanosleep(&ts, NULL);
}

static inline uint64_t ms_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* A loopback port nobody listens on, or -1. */
static inline int free_port(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &len) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return ntohs(a.sin_port);
}

/* Connects and sends one POST with body; the socket, or -1. */
static inline int send_request(int port, const char *body)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_port = htons((uint16_t)port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	size_t blen = strlen(body);
	char *req = malloc(blen + 256);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (!req || fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		free(req);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	int n = snprintf(req, blen + 256,
			 "POST / HTTP/1.1\r\nHost: t\r\n" AUTH "Content-Length: %zu\r\n\r\n%s", blen, body);
	ssize_t sent = send(fd, req, (size_t)n, MSG_NOSIGNAL);
	free(req);
	if (sent != n) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Turns the loop until fd has a whole reply (a body ending in "}\n" or
 * "]\n") or ms pass; the bytes read so far are in out. 1: a reply. */
static inline int spin_for_reply(struct event_base *base, int fd, char *out, size_t cap, uint64_t ms)
{
	size_t len = 0;
	uint64_t end = ms_now() + ms;
	out[0] = 0;
	while (ms_now() < end) {
		event_base_loop(base, EVLOOP_NONBLOCK);
		ssize_t n = recv(fd, out + len, cap - 1 - len, MSG_DONTWAIT);
		if (n > 0) {
			len += (size_t)n;
			out[len] = 0;
			if (strstr(out, "\r\n\r\n") && len >= 2 &&
			    (strcmp(out + len - 2, "}\n") == 0 || strcmp(out + len - 2, "]\n") == 0))
				return 1;
		} else if (n == 0) {
			return 0;
		} else {
			nap_ms(1);
		}
	}
	return 0;
}

/* Turns the loop for ms. */
static inline void spin(struct event_base *base, uint64_t ms)
{
	uint64_t end = ms_now() + ms;
	while (ms_now() < end) {
		event_base_loop(base, EVLOOP_NONBLOCK);
		nap_ms(1);
	}
}

#endif
