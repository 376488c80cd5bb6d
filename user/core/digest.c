// SPDX-License-Identifier: GPL-2.0
/* SHA-256 of files, with libcrypto; see digest.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
#include <openssl/evp.h>

#include "digest.h"

int file_sha256(const char *path, char hex[65])
{
	unsigned char md[EVP_MAX_MD_SIZE], buf[65536];
	unsigned int mdlen = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int fd = -1, err = 0;
	ssize_t n;

	if (!ctx)
		return -ENOMEM;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		goto out;
	}
	if (!EVP_DigestInit_ex(ctx, EVP_sha256(), NULL)) {
		err = -EIO;
		goto out;
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		if (!EVP_DigestUpdate(ctx, buf, n)) {
			err = -EIO;
			goto out;
		}
	if (n < 0 || !EVP_DigestFinal_ex(ctx, md, &mdlen)) {
		err = n < 0 ? -errno : -EIO;
		goto out;
	}
	for (unsigned int i = 0; i < mdlen && i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
out:
	if (fd >= 0)
		close(fd);
	EVP_MD_CTX_free(ctx);
	return err;
}

int files_sha256(const char *const *paths, size_t n, char hex[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	EVP_MD_CTX *ctx;
	int err = 0;

	if (n == 1)
		return file_sha256(paths[0], hex);
	ctx = EVP_MD_CTX_new();
	if (!ctx)
		return -ENOMEM;
	if (!EVP_DigestInit_ex(ctx, EVP_sha256(), NULL)) {
		err = -EIO;
		goto out;
	}
	for (size_t i = 0; i < n && !err; i++) {
		char one[65];

		err = file_sha256(paths[i], one);
		if (!err && (!EVP_DigestUpdate(ctx, one, 64) || !EVP_DigestUpdate(ctx, "\n", 1)))
			err = -EIO;
	}
	if (!err && !EVP_DigestFinal_ex(ctx, md, &mdlen))
		err = -EIO;
	for (unsigned int i = 0; !err && i < mdlen && i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
out:
	EVP_MD_CTX_free(ctx);
	return err;
}
