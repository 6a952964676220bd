/* Service-manager readiness notification (the sd_notify protocol): one
 * datagram "READY=1", "STOPPING=1", "STATUS=..." to the socket systemd names
 * in $NOTIFY_SOCKET for a Type=notify unit. Without that variable nothing
 * is sent, so a program started by hand is unaffected. Not for logging. */
#ifndef ASSAY_CORE_NOTIFY_H
#define ASSAY_CORE_NOTIFY_H

/* Sends state (lines of NAME=VALUE) when $NOTIFY_SOCKET is set. 1 sent, 0 no
 * socket named, ASSAY_EIO when the send failed (the caller logs; it is
 * never a reason to stop). */
int notify_service(const char *state);

#endif
