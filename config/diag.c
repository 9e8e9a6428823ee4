/* diag.c - config diagnostics: collected per file, positioned, printed as FILE:LINE:COL: message. */
#include "config/config_int.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_FILE_SIZE (4 * 1024 * 1024)

static int vdiag(struct cfg_diags *d, const char *file, int line, int col, const char *fmt, va_list ap)
{
	struct cfg_diag g = { .line = line, .col = col };

	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 8;
		struct cfg_diag *n = realloc(d->v, cap * sizeof(*n));
		if (n == NULL)
			return -ENOMEM;
		d->v = n;
		d->cap = cap;
	}
	g.file = strdup(file);
	if (g.file == NULL || vasprintf(&g.msg, fmt, ap) < 0) {
		free(g.file);
		return -ENOMEM;
	}
	d->v[d->n++] = g;
	return 0;
}

int cfg__diag(struct cfg_diags *d, const char *file, int line, int col, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	int rc = vdiag(d, file, line, col, fmt, ap);
	va_end(ap);
	return rc;
}

void cfg_diags_print(const struct cfg_diags *d, FILE *out)
{
	for (size_t i = 0; i < d->n; i++) {
		const struct cfg_diag *g = &d->v[i];
		if (g->line > 0)
			fprintf(out, "%s:%d:%d: %s\n", g->file, g->line, g->col, g->msg);
		else
			fprintf(out, "%s: %s\n", g->file, g->msg);
	}
}

static int by_position(const void *a, const void *b)
{
	const struct cfg_diag *x = a, *y = b;

	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	return x->col < y->col ? -1 : x->col > y->col;
}

void cfg__diags_sort_from(struct cfg_diags *d, size_t start)
{
	/* Entries from start on belong to one file; report them top to bottom. */
	if (start < d->n)
		qsort(d->v + start, d->n - start, sizeof(d->v[0]), by_position);
}

void cfg_diags_free(struct cfg_diags *d)
{
	for (size_t i = 0; i < d->n; i++) {
		free(d->v[i].file);
		free(d->v[i].msg);
	}
	free(d->v);
	*d = (struct cfg_diags){ 0 };
}

static int read_all(const char *name, char **text, size_t *len)
{
	FILE *fp = fopen(name, "rb");
	char *buf = NULL;
	size_t n = 0;
	int rc = 0;

	if (fp == NULL)
		return -errno;
	buf = malloc(MAX_FILE_SIZE + 1);
	if (buf == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	n = fread(buf, 1, MAX_FILE_SIZE + 1, fp);
	if (ferror(fp))
		rc = -EIO;
	else if (n > MAX_FILE_SIZE)
		rc = -EFBIG;
out:
	fclose(fp);
	if (rc < 0) {
		free(buf);
		return rc;
	}
	buf[n] = '\0';
	*text = buf;
	*len = n;
	return 0;
}

int cfg__file_open(struct cfg__file *f, const char *name, struct cfg_diags *diags)
{
	char *text = NULL;
	size_t len = 0;
	int rc = read_all(name, &text, &len);

	if (rc < 0) {
		*f = (struct cfg__file){ .name = name, .diags = diags };
		cfg__diag(diags, name, 0, 0, "cannot read: %s",
			  rc == -EFBIG ? "larger than 4 MiB" : strerror(-rc));
		f->errors++;
		return rc;
	}
	return cfg__file_parse(f, name, text, len, diags);
}

int cfg__file_parse(struct cfg__file *f, const char *name, char *text, size_t len, struct cfg_diags *diags)
{
	json_error_t jerr;
	int rc;

	*f = (struct cfg__file){ .name = name, .diags = diags, .text = text, .len = len };
	/* A NUL byte is never valid JSON text; say where it is rather than what a parser makes of it. */
	const char *nul = memchr(text, '\0', len);
	if (nul != NULL) {
		int line = 1, col = 1;
		for (const char *c = text; c < nul; c++, col++)
			if (*c == '\n') {
				line++;
				col = 0;
			}
		cfg__diag(diags, name, line, col, "a NUL byte: this is not a text file");
		f->errors++;
		return -EINVAL;
	}
	/* Duplicate keys are refused: the second would silently win. */
	f->root = json_loadb(f->text, f->len, JSON_REJECT_DUPLICATES, &jerr);
	if (f->root == NULL) {
		cfg__diag(diags, name, jerr.line > 0 ? jerr.line : 1, jerr.column > 0 ? jerr.column : 1,
			  "%s", jerr.text);
		f->errors++;
		return -EINVAL;
	}
	rc = cfg__pos_build(&f->pos, f->text, f->len);
	if (rc < 0) {
		cfg__diag(diags, name, 0, 0, "out of memory");
		f->errors++;
	}
	return rc;
}

void cfg__file_close(struct cfg__file *f)
{
	json_decref(f->root);
	free(f->text);
	cfg__pos_free(&f->pos);
	f->root = NULL;
	f->text = NULL;
}

static void verr(struct cfg__file *f, size_t off, const char *fmt, va_list ap)
{
	int line = 1, col = 1;

	cfg__pos_linecol(&f->pos, off, &line, &col);
	vdiag(f->diags, f->name, line, col, fmt, ap);
	f->errors++;
}

void cfg__err_at(struct cfg__file *f, const char *path, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verr(f, cfg__pos_key(&f->pos, path), fmt, ap);
	va_end(ap);
}

void cfg__err_in(struct cfg__file *f, const char *path, size_t i, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verr(f, cfg__pos_in_string(&f->pos, path, i), fmt, ap);
	va_end(ap);
}


void cfg__check_keys(struct cfg__file *f, json_t *obj, const char *path, const char *const *known)
{
	const char *key;
	json_t *v;

	json_object_foreach(obj, key, v) {
		bool ok = false;
		for (const char *const *k = known; *k && !ok; k++)
			ok = strcmp(*k, key) == 0;
		if (ok)
			continue;
		const char *near = probe_nearest(key, known, NULL);
		char *sub = NULL;
		if (asprintf(&sub, "%s%s%s", path, *path ? "/" : "", key) < 0)
			continue;
		if (near)
			cfg__err_at(f, sub, "unknown key \"%s\" (did you mean \"%s\"?)", key, near);
		else
			cfg__err_at(f, sub, "unknown key \"%s\"", key);
		free(sub);
	}
}

int cfg__duration(struct cfg__file *f, json_t *v, const char *path, int64_t *ms)
{
	if (!json_is_string(v) || probe_duration_parse(json_string_value(v), ms) < 0 || *ms <= 0) {
		const char *key = strrchr(path, '/');
		cfg__err_at(f, path, "\"%s\": expected a duration such as \"250ms\", \"30s\", \"5m\", \"1h\" or \"1d\"",
			    key ? key + 1 : path);
		return -EINVAL;
	}
	return 0;
}

int cfg__duration_max(struct cfg__file *f, json_t *v, const char *path, int64_t max_ms, int64_t *ms)
{
	const char *key = strrchr(path, '/');
	int64_t got = 0;

	if (cfg__duration(f, v, path, &got) < 0)
		return -EINVAL;
	if (got > max_ms) {
		cfg__err_at(f, path, "\"%s\" must be at most %lldd", key ? key + 1 : path,
			    (long long)(max_ms / 86400000));
		return -EINVAL;
	}
	*ms = got;
	return 0;
}
