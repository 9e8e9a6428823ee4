/* load.c - loads the main config file and every probe file in its probes_dir. */
#include "config/config_int.h"

#include <dirent.h>
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_MAX_PENDING 100000
#define MAX_MAX_PENDING 10000000

static const char *const main_keys[] = { "state_dir", "probes_dir", "defaults", "channels", "control_socket",
					 "retention", "storage", NULL };
static const char *const retention_keys[] = { "raw", "hourly", NULL };
static const char *const storage_keys[] = { "max_pending", NULL };
static const char *const default_keys[] = { "every", "timeout", "max_body", "alert", NULL };

/* Resolves p against dir unless it is absolute. Returns a new string. */
static char *resolve(const char *dir, const char *p)
{
	char *out = NULL;

	if (p[0] == '/')
		return strdup(p);
	if (asprintf(&out, "%s/%s", dir, p) < 0)
		return NULL;
	return out;
}

static char *string_key(struct cfg__file *f, const char *key, const char *def)
{
	json_t *v = json_object_get(f->root, key);

	if (v == NULL)
		return resolve(f->dir, def);
	if (!json_is_string(v) || json_string_length(v) == 0) {
		cfg__err_at(f, key, "\"%s\" must be a non-empty path", key);
		return NULL;
	}
	return resolve(f->dir, json_string_value(v));
}

static void load_defaults(struct cfg__file *f, struct cfg *c)
{
	/* The built-ins, then what "defaults" overrides. */
	json_t *d = json_object_get(f->root, "defaults"), *v;

	c->every_ms = 30000;
	c->timeout_ms = 10000;
	c->max_body = 1024 * 1024;
	if (d != NULL && !json_is_object(d)) {
		cfg__err_at(f, "defaults", "\"defaults\" must be an object");
		d = NULL;
	}
	cfg__load_alert_defaults(f, c, d ? json_object_get(d, "alert") : NULL);
	if (d == NULL)
		return;
	cfg__check_keys(f, d, "defaults", default_keys);
	/* Probes inherit these unchecked: the same bounds as in a probe file. */
	if ((v = json_object_get(d, "every")) != NULL &&
	    cfg__duration_max(f, v, "defaults/every", CFG__SCHEDULE_MAX_MS, &c->every_ms) == 0 &&
	    c->every_ms < CFG__EVERY_MIN_MS)
		cfg__err_at(f, "defaults/every", "\"every\" must be at least 100ms");
	if ((v = json_object_get(d, "timeout")) != NULL)
		cfg__duration_max(f, v, "defaults/timeout", CFG__SCHEDULE_MAX_MS, &c->timeout_ms);
	if ((v = json_object_get(d, "max_body")) != NULL) {
		if (json_is_integer(v) && json_integer_value(v) > 0)
			c->max_body = json_integer_value(v);
		else
			cfg__err_at(f, "defaults/max_body", "\"max_body\" must be a number of bytes");
	}
}

/* "retention": how long raw runs, then their hourly rollups, are kept. */
static void load_retention(struct cfg__file *f, struct cfg *c)
{
	json_t *r = json_object_get(f->root, "retention"), *v;

	c->retention_raw_ms = 30LL * 86400000;
	c->retention_hourly_ms = 400LL * 86400000;
	if (r == NULL)
		return;
	if (!json_is_object(r)) {
		cfg__err_at(f, "retention", "\"retention\" must be an object such as {\"raw\": \"30d\", \"hourly\": \"400d\"}");
		return;
	}
	cfg__check_keys(f, r, "retention", retention_keys);
	if ((v = json_object_get(r, "raw")) != NULL && cfg__duration(f, v, "retention/raw", &c->retention_raw_ms) == 0 &&
	    c->retention_raw_ms < 3600000)
		cfg__err_at(f, "retention/raw", "\"raw\" must be at least 1h");
	if ((v = json_object_get(r, "hourly")) != NULL)
		cfg__duration(f, v, "retention/hourly", &c->retention_hourly_ms);
	if (c->retention_hourly_ms < c->retention_raw_ms)
		cfg__err_at(f, json_object_get(r, "hourly") ? "retention/hourly" : "retention",
			    "\"hourly\" must be at least as long as \"raw\"");
}

/*
 * "storage": how many results may wait in memory while the database cannot
 * be written; beyond that each new one is dropped (and counted). Read once,
 * when the daemon opens the database.
 */
static void load_storage(struct cfg__file *f, struct cfg *c)
{
	json_t *st = json_object_get(f->root, "storage"), *v;

	c->storage_max_pending = DEFAULT_MAX_PENDING;
	if (st == NULL)
		return;
	if (!json_is_object(st)) {
		cfg__err_at(f, "storage", "\"storage\" must be an object such as {\"max_pending\": 100000}");
		return;
	}
	cfg__check_keys(f, st, "storage", storage_keys);
	if ((v = json_object_get(st, "max_pending")) == NULL)
		return;
	if (json_is_integer(v) && json_integer_value(v) >= 1 && json_integer_value(v) <= MAX_MAX_PENDING)
		c->storage_max_pending = json_integer_value(v);
	else
		cfg__err_at(f, "storage/max_pending", "\"max_pending\" must be a whole number of results from 1 to %d",
			    MAX_MAX_PENDING);
}

static int add_probe(struct cfg *c, struct probe_def *d)
{
	struct probe_def **n = realloc(c->probes, (c->nprobes + 1) * sizeof(*n));

	if (n == NULL)
		return -ENOMEM;
	c->probes = n;
	c->probes[c->nprobes++] = d;
	return 0;
}

static int json_file(const struct dirent *e)
{
	size_t n = strlen(e->d_name);

	/* Hidden files are editors' and tools' scratch copies, not probes. */
	return e->d_name[0] != '.' && n > 5 && strcmp(e->d_name + n - 5, ".json") == 0;
}

static void load_probes(struct cfg__file *mf, struct cfg *c)
{
	struct dirent **list = NULL;
	int n = scandir(c->probes_dir, &list, json_file, alphasort);

	if (n < 0) {
		cfg__err_at(mf, json_object_get(mf->root, "probes_dir") ? "probes_dir" : "",
			    "cannot read probes_dir %s: %s", c->probes_dir, strerror(errno));
		return;
	}
	/* Names seen so far, each to its index in c->probes: a scan per file made 10,000 probes take 0.3 s. */
	json_t *seen = json_object();
	for (int i = 0; i < n; i++) {
		char *path = NULL;
		struct probe_def *d = NULL;
		json_t *prev;
		if (asprintf(&path, "%s/%s", c->probes_dir, list[i]->d_name) >= 0) {
			struct cfg_diags *diags = mf->diags;
			if (cfg_load_probe(path, c, &d, diags) < 0)
				mf->errors++;
			else if ((prev = json_object_get(seen, d->name)) != NULL) {
				cfg__diag(diags, path, 1, 1, "a probe named \"%s\" is already defined in %s",
					  d->name, c->probes[json_integer_value(prev)]->file);
				mf->errors++;
				probe_def_unref(d);
			} else if (seen == NULL || add_probe(c, d) < 0 ||
				   json_object_set_new(seen, d->name, json_integer((json_int_t)c->nprobes - 1)) < 0) {
				/* Out of memory: the load fails, whatever was added is freed with c. */
				if (c->nprobes == 0 || c->probes[c->nprobes - 1] != d)
					probe_def_unref(d);
				mf->errors++;
			}
		}
		free(path);
		free(list[i]);
	}
	json_decref(seen);
	free(list);
}

static int by_name(const void *a, const void *b)
{
	return strcmp((*(struct probe_def *const *)a)->name, (*(struct probe_def *const *)b)->name);
}

int cfg_load(const char *path, unsigned flags, struct cfg **out, struct cfg_diags *diags)
{
	struct cfg__file f;
	struct cfg *c = calloc(1, sizeof(*c));
	char *dircopy = strdup(path);
	size_t first = diags->n;
	int rc;

	if (c == NULL || dircopy == NULL) {
		free(c);
		free(dircopy);
		return -ENOMEM;
	}
	c->flags = flags;
	alert_policy_init(&c->alert);
	c->path = strdup(path);
	c->dir = strdup(dirname(dircopy));
	free(dircopy);
	rc = cfg__file_open(&f, path, diags);
	if (rc < 0)
		goto out;
	f.dir = c->dir;
	f.flags = flags;
	if (!json_is_object(f.root)) {
		cfg__err_at(&f, "", "the config file must hold a JSON object");
		goto out;
	}
	cfg__check_keys(&f, f.root, "", main_keys);
	c->state_dir = string_key(&f, "state_dir", "/var/lib/canary");
	c->probes_dir = string_key(&f, "probes_dir", "probes.d");
	c->control_socket = string_key(&f, "control_socket", CFG_DEFAULT_SOCKET);
	load_retention(&f, c);
	load_storage(&f, c);
	if (c->state_dir && asprintf(&c->db_path, "%s/canary.db", c->state_dir) < 0)
		c->db_path = NULL;
	cfg__load_channels(&f, c);
	load_defaults(&f, c);
	cfg__diags_sort_from(diags, first);
	if (c->probes_dir)
		load_probes(&f, c);
	if (c->nprobes > 1)
		qsort(c->probes, c->nprobes, sizeof(*c->probes), by_name);
out:
	if (rc == 0 && f.errors > 0)
		rc = -EINVAL;
	cfg__file_close(&f);
	if (rc < 0) {
		cfg_free(c);
		return rc;
	}
	*out = c;
	return 0;
}

struct probe_def *cfg_find_probe(const struct cfg *c, const char *name)
{
	for (size_t i = 0; i < c->nprobes; i++)
		if (strcmp(c->probes[i]->name, name) == 0)
			return c->probes[i];
	return NULL;
}

void cfg_free(struct cfg *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < c->nprobes; i++)
		probe_def_unref(c->probes[i]);
	free(c->probes);
	json_decref(c->channels);
	for (size_t i = 0; i < c->nchannel_secrets; i++) {
		explicit_bzero(c->channel_secrets[i], strlen(c->channel_secrets[i]));
		free(c->channel_secrets[i]);
	}
	free(c->channel_secrets);
	alert_policy_clear(&c->alert);
	free(c->path);
	free(c->dir);
	free(c->state_dir);
	free(c->probes_dir);
	free(c->db_path);
	free(c->control_socket);
	free(c);
}
