/* Where a wallet passphrase comes from, in order: a file named on the command
 * line (its first line), the ASSAY_PASSPHRASE environment variable, else the
 * controlling terminal with echo off. Not for: deriving keys (keystore.h). */
#ifndef ASSAY_WALLET_PASSPHRASE_H
#define ASSAY_WALLET_PASSPHRASE_H

#include <stddef.h>

#define PASSPHRASE_MAX 1024 /* bytes, without the NUL */
#define PASSPHRASE_ENV "ASSAY_PASSPHRASE"
/* The new passphrase of `wallet passphrase` when not asked on a terminal. */
#define PASSPHRASE_NEW_ENV "ASSAY_NEW_PASSPHRASE"
/* Permission bits a regular passphrase file must not have: any access by
 * group or others (ssh's rule for private keys). */
#define PASSPHRASE_FILE_FORBIDDEN_MODE 0077

/* Fills out (PASSPHRASE_MAX + 1 bytes, mlock()ed where RLIMIT_MEMLOCK
 * allows, best effort) from the first source that exists;
 * file may be NULL. With confirm set, a terminal is asked twice and the two
 * answers must agree, and an empty passphrase is refused from any source.
 * 0; ASSAY_EIO (file unreadable, or no terminal and no other source),
 * ASSAY_EAUTH (a regular file with PASSPHRASE_FILE_FORBIDDEN_MODE bits),
 * ASSAY_ELIMIT (too long), ASSAY_EARG (mismatch or empty); err says which.
 * The caller wipes out when done (sodium_memzero). */
int passphrase_get(const char *file, const char *prompt, int confirm, char *out, char *err,
		   size_t errlen);

/* The same with another environment variable in place of ASSAY_PASSPHRASE:
 * a new passphrase must not come from where the old one did. */
int passphrase_get_from(const char *file, const char *env_name, const char *prompt, int confirm,
			char *out, char *err, size_t errlen);

/* Reads one line from fd into out (PASSPHRASE_MAX + 1 bytes), without its
 * "\n" or "\r\n" and nothing past it; end of input ends the line. 0;
 * ASSAY_EIO, ASSAY_ELIMIT (longer than PASSPHRASE_MAX, out wiped). The
 * caller wipes out. */
int passphrase_read_line(int fd, char *out);

/* Asks one line on the controlling terminal (never stdin): echo off for
 * secrets such as backup words, on for a typed confirmation. out holds
 * PASSPHRASE_MAX + 1 bytes; the caller wipes it. 0; ASSAY_EIO (no terminal,
 * err says so), ASSAY_ELIMIT. */
int passphrase_ask_terminal(const char *prompt, int echo, char *out, char *err, size_t errlen);

#endif
