/* config_int.h - what only the config loader's files share: positions, diagnostics, secrets. */
#ifndef CANARY_CONFIG_INT_H
#define CANARY_CONFIG_INT_H

#include "config/config.h"

#include <stdbool.h>

/*
 * Where each value of a JSON text stands, found by a scan of the raw text
 * (jansson reports positions for syntax errors only). Paths are JSON pointers
 * without the leading slash: "steps/0/expect/1".
 */
struct cfg__pos_entry {
	char *path;      /* owned */
	size_t key_off;  /* the member's key, or SIZE_MAX for an array element or the root */
	size_t val_off;  /* the value */
};

struct cfg__pos {
	const char *text; /* borrowed: the raw file */
	size_t len;
	struct cfg__pos_entry *v;
	size_t n;
	size_t cap;
};

/* Indexes text, which jansson has already accepted. Returns 0 or -ENOMEM. */
int cfg__pos_build(struct cfg__pos *p, const char *text, size_t len);
void cfg__pos_free(struct cfg__pos *p);
/* Line and column (1-based, in characters) of byte offset off. */
void cfg__pos_linecol(const struct cfg__pos *p, size_t off, int *line, int *col);
/* Byte offset of the key of path (or its value when it has no key); 0 when unknown. */
size_t cfg__pos_key(const struct cfg__pos *p, const char *path);
/* Byte offset in the raw text of byte i of the decoded string value at path. */
size_t cfg__pos_in_string(const struct cfg__pos *p, const char *path, size_t i);

/* Appends a diagnostic; line 0 means no position. Returns 0 or -ENOMEM. */
int cfg__diag(struct cfg_diags *d, const char *file, int line, int col, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

/* Sorts the diagnostics from index start on (one file's) by line and column. */
void cfg__diags_sort_from(struct cfg_diags *d, size_t start);

/* A file being loaded: its name, text, index and where its problems go. */
struct cfg__file {
	const char *name;     /* borrowed */
	char *text;           /* owned */
	size_t len;
	json_t *root;         /* owned */
	struct cfg__pos pos;
	struct cfg_diags *diags; /* borrowed */
	const char *dir;      /* the directory relative secret files are read from; borrowed */
	unsigned flags;       /* CFG_* */
	int errors;
};

/* Reads and parses name; syntax errors become diagnostics. Returns 0 or a negative error. */
int cfg__file_open(struct cfg__file *f, const char *name, struct cfg_diags *diags);
/* Parses text (len bytes, stolen) as the file name. Returns 0 or a negative error. */
int cfg__file_parse(struct cfg__file *f, const char *name, char *text, size_t len, struct cfg_diags *diags);
void cfg__file_close(struct cfg__file *f);
/* Reports a problem at the key of path (or the file's start). */
void cfg__err_at(struct cfg__file *f, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Reports a problem at byte i of the string value at path. */
void cfg__err_in(struct cfg__file *f, const char *path, size_t i, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Reports each key of obj (at path, "" for the root) not in the NULL-terminated list known. */
void cfg__check_keys(struct cfg__file *f, json_t *obj, const char *path, const char *const *known);
/* Reads a duration value; reports and returns -EINVAL when it is not one. */
int cfg__duration(struct cfg__file *f, json_t *v, const char *path, int64_t *ms);

/*
 * The longest "every" and "timeout": a year. Longer is a typo ("3000d" for
 * "30d"), and the daemon turns both into nanoseconds on a clock that counts
 * from boot, where a deadline past 2^64 ns would wrap into the past.
 */
#define CFG__SCHEDULE_MAX_MS (365LL * 86400000)
/* The shortest "every". */
#define CFG__EVERY_MIN_MS 100
/* As cfg__duration, and also reports and returns -EINVAL above max_ms (a whole number of days). */
int cfg__duration_max(struct cfg__file *f, json_t *v, const char *path, int64_t max_ms, int64_t *ms);

/* probe_secret_fn for ${env:..}, ${file:..} and ${cred:..}; ctx is the struct cfg__file being loaded. */
int cfg__secret_resolve(const char *kind, const char *arg, char **value, struct probe_perr *err,
			void *ctx);

/* What the step loader needs to know of the probe around it. */
struct cfg__probe_ctx {
	struct cfg__file *f;
	struct probe_def *d;     /* vars are loaded before steps */
	json_t **steps;          /* borrowed: each step's object, to find what earlier steps extract */
	size_t nsteps;
	size_t step;             /* the step being loaded */
};

/* Loads step ctx->step from obj (whose path is path, "" for a single-step probe) into out. */
int cfg__step_load(struct cfg__probe_ctx *ctx, json_t *obj, const char *path, struct probe_step *out);

/* Joins path and key as a JSON pointer ("steps/0" + "url"); returns a new string or NULL. */
char *cfg__path_join(const char *path, const char *key);

/* Loads the probe in an open file; name_hint is used when it has no "name". */
int cfg__probe_from_file(struct cfg__file *f, const char *name_hint, const struct cfg *defaults,
			 struct probe_def **out);

/* channels.c: the main file's "channels" into c->channels (c->channels is always set after). */
void cfg__load_channels(struct cfg__file *f, struct cfg *c);
/* channels.c: "defaults"/"alert" (obj may be NULL) into c->alert. */
void cfg__load_alert_defaults(struct cfg__file *f, struct cfg *c, json_t *obj);
/* Reports each channel of p (whose "alert" object is at base) that c does not define. */
void cfg__check_alert_channels(struct cfg__file *f, const struct cfg *c, const struct alert_policy *p,
			       const char *base);
/* Checks a probe file's "alert" over defaults' (NULL: the built-ins). Returns 0 or -EINVAL (reported). */
int cfg__probe_alert(struct cfg__file *f, json_t *root, const struct cfg *defaults);

#endif
