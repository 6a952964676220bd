/* assayd: the Assay full node's program. main() reads the configuration,
 * the genesis and the validator key, takes the data directory's lock, opens
 * the node (node.c), runs its event loop in the foreground (a systemd
 * Type=notify service: READY=1 once open, STOPPING=1 on the way out) and
 * closes it on SIGINT/SIGTERM, the stop RPC or an abort. Exit status: 0 after
 * a clean stop, 2 for a setting refused before anything starts (a service
 * manager must not restart it: the same setting would be refused again), 1
 * for any other failure. Not for: anything the node does once open (node
 * library). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include <config.h>
#include "core/error.h"
#include "core/log.h"
#include "core/notify.h"
#include "node/node.h"

static int load_key_file(struct node *n, const char *path, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *root = json_load_file(path, 0, &jerr);
	uint8_t seed[SEED_LEN];
	if (!root) {
		snprintf(err, errlen, "cannot read validator key %s: %s", path, jerr.text);
		return ASSAY_EIO;
	}
	json_t *s = json_object_get(root, "seed");
	if (!json_is_string(s) || hex_decode(json_string_value(s), seed, SEED_LEN) != SEED_LEN) {
		json_decref(root);
		snprintf(err, errlen, "validator key %s: \"seed\" must be 64 hex digits", path);
		return ASSAY_EDECODE;
	}
	json_decref(root);
	key_from_seed(seed, n->key_pk, n->key_sk);
	sodium_memzero(seed, sizeof(seed));
	n->has_key = 1;
	return 0;
}

/* Warns (and goes on) when path is open to more than its owner beyond the
 * mode bits in allowed: the datadir holds the RPC cookie and the wallets,
 * the key file the validator's seed. An operator may share on purpose (a
 * group that reads the logs), so a start is not refused. */
static void warn_if_exposed(const char *what, const char *path, mode_t allowed, const char *fix)
{
	struct stat st;
	if (stat(path, &st) < 0)
		return; /* the caller reports what it cannot read */
	mode_t exposed = st.st_mode & (S_IRWXG | S_IRWXO) & ~allowed;
	if (exposed)
		log_warn("%s %s is open to group or others (mode %04o): %s", what, path,
			 (unsigned)(st.st_mode & 07777), fix);
}

/* Creates path and its missing parents (mode 0700); path is not empty
 * (config.c refuses -datadir=). */
static int make_dir(const char *path)
{
	char tmp[1024];
	if (!path[0]) {
		errno = ENOENT;
		return -1;
	}
	snprintf(tmp, sizeof(tmp), "%s", path);
	for (char *p = tmp + 1; *p; p++) {
		if (*p == '/') {
			*p = 0;
			if (mkdir(tmp, 0700) < 0 && errno != EEXIST)
				return -1;
			*p = '/';
		}
	}
	return mkdir(tmp, 0700) < 0 && errno != EEXIST ? -1 : 0;
}

/* DATADIR/assayd.pid: this process's id while it runs (docs/storage.md),
 * for scripts that stop a node. Written after the datadir lock is held, so
 * a file left by a killed node is simply replaced; written whole to
 * assayd.pid.tmp and renamed, so a reader never sees it empty or cut
 * short; removed at exit while the lock is still held, so a node started
 * next keeps its own. */
static char pidfile_path[1200];

static void pidfile_remove(void)
{
	if (pidfile_path[0])
		unlink(pidfile_path);
	pidfile_path[0] = 0;
}

static void pidfile_write(const char *datadir)
{
	char tmp_path[sizeof(pidfile_path) + 8], line[32];
	snprintf(pidfile_path, sizeof(pidfile_path), "%s/assayd.pid", datadir);
	snprintf(tmp_path, sizeof(tmp_path), "%s.tmp", pidfile_path);
	int len = snprintf(line, sizeof(line), "%ld\n", (long)getpid());
	unlink(tmp_path); /* a killed node's */
	int fd = open(tmp_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	int ok = fd >= 0 && write(fd, line, (size_t)len) == len;
	int saved = errno;
	if (fd >= 0 && close(fd) != 0 && ok) {
		ok = 0;
		saved = errno;
	}
	if (ok && rename(tmp_path, pidfile_path) != 0) {
		ok = 0;
		saved = errno;
	}
	if (!ok) {
		/* No file rather than one that names another process: the lock
		 * says no node of ours runs here but this one. */
		unlink(tmp_path);
		unlink(pidfile_path);
		log_warn("cannot write %s: %s", pidfile_path, strerror(saved ? saved : EIO));
		pidfile_path[0] = 0;
		return;
	}
	atexit(pidfile_remove);
}

enum {
	ASSAYD_EXIT_FAILURE = 1, /* an abort, or a start that failed at run time */
	ASSAYD_EXIT_SETTING = 2, /* a setting refused: restarting will not help */
};

static int fail(const char *msg)
{
	fprintf(stderr, "assayd: error: %s\n", msg);
	log_set_stderr(0); /* said above already */
	log_error("%s", msg);
	return ASSAYD_EXIT_FAILURE;
}

/* Before debug.log is ours (no lock yet): stderr only, so a second assayd
 * on a datadir never writes into the running node's log. */
static int fail_early(const char *msg)
{
	fprintf(stderr, "assayd: error: %s\n", msg);
	return ASSAYD_EXIT_FAILURE;
}

/* A setting refused (command line or assay.conf), before the lock, so
 * stderr only; the status tells a service manager not to restart. */
static int fail_setting(const char *msg)
{
	fprintf(stderr, "assayd: error: %s\n", msg);
	return ASSAYD_EXIT_SETTING;
}

int main(int argc, char **argv)
{
	struct node node;
	struct node *n = &node;
	char err[2400], path[1200];
	memset(n, 0, sizeof(*n));
	config_defaults(&n->cfg);
	if (config_parse_args(&n->cfg, argc, argv, err, sizeof(err)) < 0) {
		fprintf(stderr, "assayd: %s\n", err);
		return ASSAYD_EXIT_SETTING;
	}
	if (n->cfg.help) {
		config_print_help("assayd");
		return 0;
	}
	if (n->cfg.version) {
		printf("assayd %s\n", PACKAGE_VERSION);
		return 0;
	}
	enum log_level level;
	if (log_parse_level(n->cfg.loglevel, &level) < 0) {
		fprintf(stderr, "assayd: invalid value for -loglevel: %s (debug, info, warn or error)\n",
			n->cfg.loglevel);
		return ASSAYD_EXIT_SETTING;
	}
	if (keys_init() < 0)
		return fail_early("libsodium failed to initialize");
	if (make_dir(n->cfg.datadir) < 0) {
		snprintf(err, sizeof(err), "cannot create data directory %s: %s", n->cfg.datadir, strerror(errno));
		return fail_early(err);
	}
	snprintf(path, sizeof(path), "%s/assay.conf", n->cfg.datadir);
	if (config_read_file(&n->cfg, path, err, sizeof(err)) < 0)
		return fail_setting(err);
	if (log_parse_level(n->cfg.loglevel, &level) < 0) {
		snprintf(err, sizeof(err), "%s: invalid loglevel \"%s\" (debug, info, warn or error)", path,
			 n->cfg.loglevel);
		return fail_setting(err);
	}
	if (strcmp(n->cfg.network, "dev") != 0 && strcmp(n->cfg.network, "local") != 0 &&
	    strcmp(n->cfg.network, "testnet") != 0) {
		snprintf(err, sizeof(err), "unknown network \"%s\" (dev, local or testnet)", n->cfg.network);
		return fail_setting(err);
	}
	config_finish(&n->cfg);
	if (n->cfg.listen && n->cfg.port == n->cfg.rpcport) {
		snprintf(err, sizeof(err), "-port and -rpcport are both %d: give them different ports", n->cfg.port);
		return fail_setting(err);
	}
	struct rpc_allow allow[CONFIG_MAX_MULTI];
	if (config_rpc_allow(&n->cfg, allow, err, sizeof(err)) < 0)
		return fail_setting(err);

	/* One node per data directory: the lock comes before debug.log is
	 * opened, so a second assayd leaves the running node's log alone. */
	snprintf(path, sizeof(path), "%s/.lock", n->cfg.datadir);
	int lockfd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (lockfd < 0) { /* a read-only or unwritable datadir, not a second node */
		snprintf(err, sizeof(err), "cannot open %s: %s", path, strerror(errno));
		return fail_early(err);
	}
	if (flock(lockfd, LOCK_EX | LOCK_NB) < 0) {
		if (errno == EWOULDBLOCK)
			snprintf(err, sizeof(err), "cannot lock %s: is another assayd using this data directory?",
				 n->cfg.datadir);
		else
			snprintf(err, sizeof(err), "cannot lock %s: %s", path, strerror(errno));
		return fail_early(err);
	}
	/* SIGHUP reopens debug.log once the event loop runs (node.c); until
	 * then it must not end the process as its default action would. */
	signal(SIGHUP, SIG_IGN);
	log_set_stderr(n->cfg.printtoconsole);
	log_set_level(level);
	log_set_categories(n->cfg.debug);
	snprintf(path, sizeof(path), "%s/debug.log", n->cfg.datadir);
	if (log_open_file(path) < 0)
		fprintf(stderr, "assayd: warning: cannot open %s\n", path);
	pidfile_write(n->cfg.datadir);
	/* group search (x) alone lets a group reach files it is given, as the
	 * systemd unit's StateDirectoryMode=0710 does; reading the directory
	 * or anything for others is what the warning is about */
	warn_if_exposed("data directory", n->cfg.datadir, S_IXGRP, "chmod 700 it (or 710)");
	if (config_from_args("rpcpassword"))
		log_warn("-rpcpassword on the command line can be read by every local user (ps, "
			 "/proc/PID/cmdline): put rpcpassword= in %s/assay.conf (mode 0600) instead",
			 n->cfg.datadir);

	char genesis_source[1200];
	if (genesis_select(&n->genesis, n->cfg.network, n->cfg.genesis, n->cfg.datadir, genesis_source,
			   sizeof(genesis_source), err, sizeof(err)) < 0)
		return fail(err);
	n->blocktime_ms = n->cfg.blocktime ? n->cfg.blocktime : n->genesis.params.block_time_ms;

	if (!n->cfg.novalidator) {
		if (n->cfg.validator[0]) {
			if (load_key_file(n, n->cfg.validator, err, sizeof(err)) < 0)
				return fail(err);
			warn_if_exposed("validator key", n->cfg.validator, 0, "chmod 600 it");
		} else if (strcmp(n->cfg.network, "dev") == 0) {
			genesis_dev_key(n->key_pk, n->key_sk);
			n->has_key = 1;
		}
	}

	log_info("assayd %s starting: network %s, chain %s (genesis: %s), data directory %s", PACKAGE_VERSION,
		 n->cfg.network, n->genesis.chain, genesis_source, n->cfg.datadir);
	int rc = node_open(n, err, sizeof(err));
	if (rc < 0) {
		genesis_free(&n->genesis);
		sodium_memzero(n->key_sk, sizeof(n->key_sk));
		if (rc == ASSAY_ECANCELED) { /* a signal stopped the reindex: resumed at the next start */
			log_close_file();
			return 0;
		}
		return fail(err);
	}
	if (notify_service("READY=1\nSTATUS=running") < 0)
		log_warn("cannot notify the service manager ($NOTIFY_SOCKET)");
	int status = node_run(n);

	notify_service("STOPPING=1");
	log_info("shutting down");
	node_close(n);
	genesis_free(&n->genesis);
	sodium_memzero(n->key_sk, sizeof(n->key_sk));
	log_info(status ? "shutdown complete after an abort" : "shutdown complete");
	pidfile_remove(); /* before the lock goes: a node started next writes its own */
	log_close_file();
	close(lockfd);
	return status;
}
