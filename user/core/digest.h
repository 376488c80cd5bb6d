/* SPDX-License-Identifier: GPL-2.0 */
/* Apart from safefile.h: only the commands that hash files load libcrypto. */
#ifndef TUG_DIGEST_H
#define TUG_DIGEST_H

#include <stddef.h>

/* The SHA-256 of a file's content, as 64 hex digits. */
int file_sha256(const char *path, char hex[65]);
/* One file: its SHA-256; several: the SHA-256 of their hex digests, one a
 * line, in order. */
int files_sha256(const char *const *paths, size_t n, char hex[65]);

#endif
