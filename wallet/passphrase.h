/* Where a wallet passphrase comes from, in order: a file named on the command
 * line (its first line), the ASSAY_PASSPHRASE environment variable, else the
 * controlling terminal with echo off. Not for: deriving keys (keystore.h). */
#ifndef ASSAY_WALLET_PASSPHRASE_H
#define ASSAY_WALLET_PASSPHRASE_H

#include <stddef.h>

#define PASSPHRASE_MAX 1024 /* bytes, without the NUL */
#define PASSPHRASE_ENV "ASSAY_PASSPHRASE"

/* Fills out (PASSPHRASE_MAX + 1 bytes) from the first source that exists;
 * file may be NULL. With confirm set, a terminal is asked twice and the two
 * answers must agree, and an empty passphrase is refused from any source.
 * 0; ASSAY_EIO (file unreadable, or no terminal and no other source),
 * ASSAY_ELIMIT (too long), ASSAY_EARG (mismatch or empty); err says which.
 * The caller wipes out when done (sodium_memzero). */
int passphrase_get(const char *file, const char *prompt, int confirm, char *out, char *err,
		   size_t errlen);

#endif
