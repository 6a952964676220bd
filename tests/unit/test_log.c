/* Unit tests for core/log.c and core/notify.c: -debug category parsing, a
 * category's lines written only when it is on, debug.log reopened by name
 * after a rename (what SIGHUP does for logrotate), and the sd_notify
 * datagram reaching $NOTIFY_SOCKET (a path and an abstract name), and the
 * rate limit for lines others can cause (log_rate_allow). */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/error.h"
#include "core/log.h"
#include "core/notify.h"
#include "test.h"

static char *slurp(const char *path)
{
	static char text[8192];
	FILE *f = fopen(path, "r");
	size_t n = f ? fread(text, 1, sizeof(text) - 1, f) : 0;
	text[n] = 0;
	if (f)
		fclose(f);
	return text;
}

static void test_categories(void)
{
	unsigned mask = 0;
	char err[256];
	CHECK(log_parse_categories("net,rpc", &mask, err, sizeof(err)) == 0);
	CHECK_EQ_U64(mask, LOG_CAT_NET | LOG_CAT_RPC);
	CHECK(log_parse_categories("compute", &mask, err, sizeof(err)) == 0);
	CHECK_EQ_U64(mask, LOG_CAT_NET | LOG_CAT_RPC | LOG_CAT_COMPUTE);
	CHECK(log_parse_categories("0", &mask, err, sizeof(err)) == 0 && mask == 0);
	CHECK(log_parse_categories("all", &mask, err, sizeof(err)) == 0 && mask == LOG_CAT_ALL);
	mask = 0;
	CHECK(log_parse_categories("1", &mask, err, sizeof(err)) == 0 && mask == LOG_CAT_ALL);
	CHECK(log_parse_categories("network", &mask, err, sizeof(err)) == ASSAY_EARG);
	CHECK(strstr(err, "unknown category \"network\"") != NULL);
	CHECK(log_parse_categories("debug", &mask, err, sizeof(err)) == ASSAY_EARG);
	CHECK(strstr(err, "-loglevel=debug") != NULL); /* the old -debug=LEVEL */
	CHECK(log_parse_categories("", &mask, err, sizeof(err)) == ASSAY_EARG);
	CHECK(log_parse_categories("net,,rpc", &mask, err, sizeof(err)) == ASSAY_EARG);
}

static void test_gating_and_reopen(void)
{
	char dir[] = "/tmp/assay-log-XXXXXX";
	CHECK(mkdtemp(dir) != NULL);
	char path[128], rotated[128];
	snprintf(path, sizeof(path), "%s/debug.log", dir);
	snprintf(rotated, sizeof(rotated), "%s/debug.log.1", dir);
	log_set_stderr(0);
	log_set_level(LOG_INFO);
	log_set_categories(LOG_CAT_NET);
	CHECK(log_open_file(path) == 0);
	log_debugc(LOG_CAT_NET, "net line %d", 1);
	log_debugc(LOG_CAT_RPC, "rpc line %d", 1);
	log_debug("plain debug line");
	log_info("before the rename");
	CHECK(strstr(slurp(path), "[debug] net line 1") != NULL);
	CHECK(strstr(slurp(path), "rpc line") == NULL);
	CHECK(strstr(slurp(path), "plain debug line") == NULL);
	/* logrotate renames; lines still go to the open (renamed) file */
	CHECK(rename(path, rotated) == 0);
	log_info("after the rename");
	CHECK(access(path, F_OK) != 0);
	CHECK(log_reopen() == 0);
	log_info("after the reopen");
	CHECK(strstr(slurp(rotated), "after the rename") != NULL);
	CHECK(strstr(slurp(rotated), "after the reopen") == NULL);
	CHECK(strstr(slurp(path), "after the reopen") != NULL);
	/* -loglevel=debug: every category and plain debug lines */
	log_set_level(LOG_DEBUG);
	log_debugc(LOG_CAT_RPC, "rpc line %d", 2);
	CHECK(strstr(slurp(path), "rpc line 2") != NULL);
	log_close_file();
	CHECK(log_reopen() == 0); /* no file: nothing to do */
	log_set_level(LOG_INFO);
	log_set_categories(0);
	unlink(path);
	unlink(rotated);
	rmdir(dir);
}

static void test_notify(void)
{
	unsetenv("NOTIFY_SOCKET");
	CHECK(notify_service("READY=1") == 0); /* not under a service manager */
	char dir[] = "/tmp/assay-notify-XXXXXX";
	CHECK(mkdtemp(dir) != NULL);
	char path[128], buf[64];
	snprintf(path, sizeof(path), "%s/notify.sock", dir);
	int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	CHECK(fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	setenv("NOTIFY_SOCKET", path, 1);
	CHECK(notify_service("READY=1\nSTATUS=running") == 1);
	ssize_t n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
	CHECK(n == (ssize_t)strlen("READY=1\nSTATUS=running"));
	buf[n > 0 ? n : 0] = 0;
	CHECK(strcmp(buf, "READY=1\nSTATUS=running") == 0);
	close(fd);
	unlink(path);
	rmdir(dir);
	/* abstract namespace: '@' stands for the leading NUL */
	char name[64];
	snprintf(name, sizeof(name), "@assay-notify-test-%ld", (long)getpid());
	fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path + 1, name + 1, strlen(name) - 1);
	socklen_t salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(name));
	CHECK(fd >= 0 && bind(fd, (struct sockaddr *)&sa, salen) == 0);
	setenv("NOTIFY_SOCKET", name, 1);
	CHECK(notify_service("STOPPING=1") == 1);
	n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
	CHECK(n == 10 && memcmp(buf, "STOPPING=1", 10) == 0);
	close(fd);
	/* a socket nobody listens on: an error for the caller to log, no crash */
	setenv("NOTIFY_SOCKET", "/nonexistent/notify.sock", 1);
	CHECK(notify_service("READY=1") < 0);
	unsetenv("NOTIFY_SOCKET");
}

static void test_rate(void)
{
	struct log_rate rl = {0};
	unsigned dropped = 99;
	CHECK(log_rate_allow(&rl, 5000, 1000, &dropped) == 1 && dropped == 0);
	int allowed = 0;
	for (uint64_t t = 5001; t < 6000; t++)
		allowed += log_rate_allow(&rl, t, 1000, &dropped);
	CHECK(allowed == 0);
	CHECK(log_rate_allow(&rl, 6000, 1000, &dropped) == 1 && dropped == 999);
	CHECK(log_rate_allow(&rl, 9000, 1000, &dropped) == 1 && dropped == 0);
	/* A clock at 0 still starts the interval. */
	struct log_rate z = {0};
	CHECK(log_rate_allow(&z, 0, 1000, &dropped) == 1);
	CHECK(log_rate_allow(&z, 10, 1000, &dropped) == 0);
}

int main(void)
{
	RUN(test_categories);
	RUN(test_gating_and_reopen);
	RUN(test_notify);
	RUN(test_rate);
	return test_report("test_log");
}
