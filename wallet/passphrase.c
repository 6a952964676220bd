/* Passphrase sources (see passphrase.h). The terminal is opened as /dev/tty,
 * not stdin, so piping data into the CLI cannot answer the prompt by accident;
 * echo is restored before returning on every path. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <sodium.h>

#include "core/error.h"
#include "wallet/passphrase.h"

/* Byte at a time: a passphrase is short, and reading past the newline
 * would swallow input that is not ours. */
int passphrase_read_line(int fd, char *out)
{
	size_t n = 0;
	for (;;) {
		char c;
		ssize_t r = read(fd, &c, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return ASSAY_EIO;
		if (r == 0 || c == '\n')
			break;
		if (n == PASSPHRASE_MAX) {
			sodium_memzero(out, PASSPHRASE_MAX + 1);
			return ASSAY_ELIMIT;
		}
		out[n++] = c;
	}
	if (n > 0 && out[n - 1] == '\r')
		n--;
	out[n] = 0;
	return 0;
}

/* What a Ctrl-C (or a hang-up, a quit, a kill) during the prompt must put
 * back before the process dies. */
static struct termios prompt_saved;
static int prompt_tty = -1;

static void restore_and_die(int sig)
{
	if (prompt_tty >= 0) {
		tcsetattr(prompt_tty, TCSAFLUSH, &prompt_saved);
		if (write(prompt_tty, "\n", 1) < 0) {
			/* dying anyway */
		}
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

/* The signals whose default action ends the process while the terminal has
 * echo off; SIGTSTP (Ctrl-Z), which stops it, has restore_and_stop. */
static const int prompt_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
#define N_PROMPT_SIGNALS (sizeof(prompt_signals) / sizeof(prompt_signals[0]))

static struct termios prompt_quiet; /* the prompt's settings, put back on SIGCONT */

/* Ctrl-Z at the prompt: the shell gets its terminal back as it was, and the
 * prompt's settings (echo off) return when the process is continued. */
static void restore_and_stop(int sig)
{
	int saved_errno = errno;
	struct sigaction dfl = {.sa_handler = SIG_DFL}, again = {.sa_handler = restore_and_stop};
	sigset_t only;
	if (prompt_tty >= 0)
		tcsetattr(prompt_tty, TCSAFLUSH, &prompt_saved);
	sigemptyset(&dfl.sa_mask);
	sigemptyset(&again.sa_mask);
	sigaction(sig, &dfl, NULL);
	sigemptyset(&only);
	sigaddset(&only, sig);
	sigprocmask(SIG_UNBLOCK, &only, NULL);
	raise(sig); /* stops here until SIGCONT */
	sigaction(sig, &again, NULL);
	if (prompt_tty >= 0)
		tcsetattr(prompt_tty, TCSAFLUSH, &prompt_quiet);
	errno = saved_errno;
}

/* Asks on tty; echo off unless echo is set (a typed confirmation). */
static int ask_tty(int tty, const char *prompt, int echo, char *out)
{
	struct termios saved, quiet;
	struct sigaction on_signal = {.sa_handler = restore_and_die}, on_stop = {.sa_handler = restore_and_stop},
			 old[N_PROMPT_SIGNALS], old_stop;
	int have_termios = tcgetattr(tty, &saved) == 0;
	if (have_termios) {
		prompt_saved = saved;
		prompt_tty = tty;
		sigemptyset(&on_signal.sa_mask);
		quiet = saved;
		if (!echo)
			quiet.c_lflag &= (tcflag_t) ~(ECHO | ECHONL);
		quiet.c_lflag |= ICANON;
		prompt_quiet = quiet;
		for (size_t i = 0; i < N_PROMPT_SIGNALS; i++)
			sigaction(prompt_signals[i], &on_signal, &old[i]);
		sigemptyset(&on_stop.sa_mask);
		sigaction(SIGTSTP, &on_stop, &old_stop);
		tcsetattr(tty, TCSAFLUSH, &quiet);
	}
	if (write(tty, prompt, strlen(prompt)) < 0) {
		/* the prompt is a courtesy; reading still works */
	}
	int rc = passphrase_read_line(tty, out);
	if (have_termios) {
		tcsetattr(tty, TCSAFLUSH, &saved);
		for (size_t i = 0; i < N_PROMPT_SIGNALS; i++)
			sigaction(prompt_signals[i], &old[i], NULL);
		sigaction(SIGTSTP, &old_stop, NULL);
		prompt_tty = -1;
	}
	if (!echo && write(tty, "\n", 1) < 0) {
		/* as above */
	}
	return rc;
}

int passphrase_get(const char *file, const char *prompt, int confirm, char *out, char *err,
		   size_t errlen)
{
	return passphrase_get_from(file, PASSPHRASE_ENV, prompt, confirm, out, err, errlen);
}

int passphrase_get_from(const char *file, const char *env_name, const char *prompt, int confirm,
			char *out, char *err, size_t errlen)
{
	int rc;
	out[0] = 0;
	(void)sodium_mlock(out, PASSPHRASE_MAX + 1); /* best effort, as for keys (keystore.h) */
	if (file && *file) {
		int fd = open(file, O_RDONLY);
		if (fd < 0)
			return assay_fail(err, errlen, ASSAY_EIO, "cannot read passphrase file %s: %s", file,
				    strerror(errno));
		struct stat st;
		if (fstat(fd, &st) != 0) {
			close(fd);
			return assay_fail(err, errlen, ASSAY_EIO, "cannot read passphrase file %s: %s", file,
					  strerror(errno));
		}
		/* As ssh with a private key: a file others may read has likely
		 * been read, so it is refused rather than used. Pipes and
		 * terminals (a FIFO, /dev/stdin) are the caller's to guard. */
		if (S_ISREG(st.st_mode) && (st.st_mode & PASSPHRASE_FILE_FORBIDDEN_MODE)) {
			close(fd);
			return assay_fail(err, errlen, ASSAY_EAUTH,
					  "passphrase file %s has mode %04o: group or others may use it; "
					  "refused (chmod 600 %s)",
					  file, (unsigned)(st.st_mode & 07777), file);
		}
		rc = passphrase_read_line(fd, out);
		close(fd);
		if (rc == ASSAY_ELIMIT)
			return assay_fail(err, errlen, rc, "passphrase in %s is longer than %d bytes", file,
				    PASSPHRASE_MAX);
		if (rc)
			return assay_fail(err, errlen, rc, "cannot read passphrase file %s", file);
	} else if (getenv(env_name)) {
		const char *env = getenv(env_name);
		if (strlen(env) > PASSPHRASE_MAX)
			return assay_fail(err, errlen, ASSAY_ELIMIT, "%s is longer than %d bytes",
				    env_name, PASSPHRASE_MAX);
		memcpy(out, env, strlen(env) + 1);
	} else {
		int tty = open("/dev/tty", O_RDWR | O_NOCTTY);
		if (tty < 0)
			return assay_fail(err, errlen, ASSAY_EIO,
				    "no passphrase: there is no terminal to ask on; use %s or set %s",
				    strcmp(env_name, PASSPHRASE_NEW_ENV) == 0
					    ? "--new-passphrase-file FILE"
					    : "--passphrase-file FILE",
				    env_name);
		rc = ask_tty(tty, prompt, 0, out);
		if (!rc && confirm) {
			char again[PASSPHRASE_MAX + 1];
			(void)sodium_mlock(again, sizeof(again));
			rc = ask_tty(tty, "Repeat passphrase: ", 0, again);
			if (!rc && strcmp(again, out) != 0)
				rc = ASSAY_EARG;
			sodium_memzero(again, sizeof(again));
		}
		close(tty);
		if (rc) {
			sodium_memzero(out, PASSPHRASE_MAX + 1);
			return assay_fail(err, errlen, rc,
				    rc == ASSAY_EARG     ? "passphrases do not match"
				    : rc == ASSAY_ELIMIT ? "passphrase too long"
							 : "cannot read the passphrase from the terminal");
		}
	}
	if (confirm && !out[0])
		return assay_fail(err, errlen, ASSAY_EARG, "an empty passphrase is not allowed");
	return 0;
}

int passphrase_ask_terminal(const char *prompt, int echo, char *out, char *err, size_t errlen)
{
	out[0] = 0;
	(void)sodium_mlock(out, PASSPHRASE_MAX + 1);
	int tty = open("/dev/tty", O_RDWR | O_NOCTTY);
	if (tty < 0)
		return assay_fail(err, errlen, ASSAY_EIO, "there is no terminal to ask on");
	int rc = ask_tty(tty, prompt, echo, out);
	close(tty);
	if (rc) {
		sodium_memzero(out, PASSPHRASE_MAX + 1);
		if (rc == ASSAY_ELIMIT)
			return assay_fail(err, errlen, rc, "the answer is longer than %d bytes",
					  PASSPHRASE_MAX);
		return assay_fail(err, errlen, rc, "cannot read from the terminal");
	}
	return 0;
}
