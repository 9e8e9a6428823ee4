/* secret.c - resolves ${env:NAME}, ${file:PATH} and ${cred:NAME} once, at load; never prints a value. */
#include "config/config_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SECRET_MAX (64 * 1024)

static int fail(struct probe_perr *err, const char *fmt, const char *a, const char *b)
{
	snprintf(err->msg, sizeof(err->msg), fmt, a, b);
	return -EINVAL;
}

/* Reads a whole secret file, dropping one trailing newline (as editors add one). */
static int read_secret(const char *path, char **value, struct probe_perr *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	char *buf = NULL;
	ssize_t n, total = 0;

	if (fd < 0)
		return fail(err, "cannot read secret file %s: %s", path, strerror(errno));
	buf = malloc(SECRET_MAX + 1);
	if (buf == NULL) {
		close(fd);
		return fail(err, "%s%s", "out of memory", "");
	}
	while ((n = read(fd, buf + total, (size_t)(SECRET_MAX + 1 - total))) > 0)
		total += n;
	int saved = errno;
	close(fd);
	if (n < 0 || total > SECRET_MAX) {
		explicit_bzero(buf, (size_t)total);
		free(buf);
		return fail(err, "cannot read secret file %s: %s", path,
			    n < 0 ? strerror(saved) : "larger than 64 KiB");
	}
	if (total > 0 && buf[total - 1] == '\n')
		total--;
	if (total > 0 && buf[total - 1] == '\r')
		total--;
	buf[total] = '\0';
	*value = buf;
	return 0;
}

static bool plain_name(const char *s)
{
	return *s && strchr(s, '/') == NULL && strcmp(s, ".") != 0 && strcmp(s, "..") != 0;
}

int cfg__secret_resolve(const char *kind, const char *arg, char **value, struct probe_perr *err,
			void *ctx)
{
	const struct cfg__file *f = ctx;
	const char *dir = f->dir;
	char path[4096];

	if (f->flags & CFG_SKIP_SECRETS) {
		*value = strdup("");
		return *value ? 0 : fail(err, "%s%s", "out of memory", "");
	}
	if (strcmp(kind, "env") == 0) {
		const char *v = getenv(arg);
		if (v == NULL)
			return fail(err, "environment variable %s is not set%s", arg, "");
		*value = strdup(v);
		return *value ? 0 : fail(err, "%s%s", "out of memory", "");
	}
	if (strcmp(kind, "file") == 0) {
		if (arg[0] != '/' && dir != NULL)
			snprintf(path, sizeof(path), "%s/%s", dir, arg);
		else
			snprintf(path, sizeof(path), "%s", arg);
		return read_secret(path, value, err);
	}
	if (strcmp(kind, "cred") == 0) {
		const char *cd = getenv("CREDENTIALS_DIRECTORY");
		if (!plain_name(arg))
			return fail(err, "credential name \"%s\" must be a plain file name%s", arg, "");
		if (cd == NULL)
			return fail(err,
				    "${cred:%s} needs $CREDENTIALS_DIRECTORY, which systemd sets for LoadCredential=%s",
				    arg, "");
		snprintf(path, sizeof(path), "%s/%s", cd, arg);
		return read_secret(path, value, err);
	}
	return fail(err, "unknown secret source \"%s\"%s", kind, "");
}
