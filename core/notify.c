/* Service-manager notification (see notify.h). With libsystemd (configure
 * found it) this is its sd_notify; without it, the same protocol by hand:
 * one datagram on the AF_UNIX socket whose path is $NOTIFY_SOCKET ('@'
 * first: Linux's abstract namespace), so no build needs the library. */
#ifdef HAVE_CONFIG_H
#include <config.h> /* HAVE_LIBSYSTEMD; builds without configure (the fuzz drivers) send by hand */
#endif

#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#ifdef HAVE_LIBSYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "core/error.h"
#include "core/notify.h"

int notify_service(const char *state)
{
#ifdef HAVE_LIBSYSTEMD
	int rc = sd_notify(0, state);
	return rc > 0 ? 1 : rc == 0 ? 0 : ASSAY_EIO;
#else
	const char *path = getenv("NOTIFY_SOCKET");
	if (!path || !*path)
		return 0;
	struct sockaddr_un sa;
	size_t len = strlen(path);
	if ((path[0] != '/' && path[0] != '@') || len >= sizeof(sa.sun_path))
		return ASSAY_EIO;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, len);
	if (path[0] == '@')
		sa.sun_path[0] = 0;
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return ASSAY_EIO;
	socklen_t salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
	ssize_t sent = sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&sa, salen);
	close(fd);
	return sent == (ssize_t)strlen(state) ? 1 : ASSAY_EIO;
#endif
}
