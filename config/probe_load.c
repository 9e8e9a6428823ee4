/* probe_load.c - loads one probe file: schedule, vars, tags, and its steps (or its single step). */
#include "config/config_int.h"

#include <ctype.h>
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_EVERY_MS 30000
#define DEFAULT_TIMEOUT_MS 10000
#define DEFAULT_MAX_BODY (1024 * 1024)

static const char *const probe_keys[] = {
	"name", "description", "every", "timeout", "tags", "vars", "steps", "reuse_connections",
	"max_body", "alert", "paused",
	/* a single-step probe's step keys */
	"url", "method", "headers", "json", "body", "expect", "extract", "follow_redirects", "insecure",
	NULL,
};

static const char *const single_step_keys[] = {
	"url", "method", "headers", "json", "body", "expect", "extract", "follow_redirects", "insecure", NULL,
};

/* Probe names become file names and log fields: keep them plain. */
static bool valid_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 128 || !isalnum((unsigned char)s[0]))
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("._-", *s))
			return false;
	return true;
}

static int parse_size(const char *s, int64_t *out)
{
	static const struct {
		const char *unit;
		int64_t mult;
	} units[] = { { "", 1 },	 { "B", 1 },	  { "KiB", 1024 }, { "MiB", 1024 * 1024 },
		      { "GiB", 1 << 30 }, { "kB", 1000 }, { "MB", 1000000 }, { "GB", 1000000000 } };
	char *end;
	long long n = strtoll(s, &end, 10);

	if (end == s || n <= 0)
		return -EINVAL;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strcmp(end, units[i].unit) == 0 && n <= INT64_MAX / units[i].mult) {
			*out = n * units[i].mult;
			return 0;
		}
	return -EINVAL;
}

static void load_max_body(struct cfg__file *f, json_t *v, int64_t *out)
{
	if (json_is_integer(v) && json_integer_value(v) > 0)
		*out = json_integer_value(v);
	else if (!json_is_string(v) || parse_size(json_string_value(v), out) < 0)
		cfg__err_at(f, "max_body", "\"max_body\" must be a size in bytes, such as 1048576 or \"1MiB\"");
}

static void load_tags(struct cfg__file *f, json_t *arr, struct probe_def *d)
{
	size_t i;
	json_t *v;

	if (!json_is_array(arr)) {
		cfg__err_at(f, "tags", "\"tags\" must be a list of strings");
		return;
	}
	d->tags = calloc(json_array_size(arr) + 1, sizeof(*d->tags));
	json_array_foreach(arr, i, v) {
		char path[32];
		snprintf(path, sizeof(path), "tags/%zu", i);
		if (!json_is_string(v) || !valid_name(json_string_value(v)))
			cfg__err_at(f, path, "a tag must be a word of letters, digits, '.', '_' or '-'");
		else if (d->tags)
			d->tags[d->ntags++] = strdup(json_string_value(v));
	}
}

/* Vars are resolved now: literal text and ${...} secrets, no placeholders. */
static void load_vars(struct cfg__file *f, json_t *obj, struct probe_def *d)
{
	static const struct probe_scope none;
	const char *key;
	json_t *v;

	if (!json_is_object(obj)) {
		cfg__err_at(f, "vars", "\"vars\" must be an object of strings");
		return;
	}
	d->vars = calloc(json_object_size(obj) + 1, sizeof(*d->vars));
	json_object_foreach(obj, key, v) {
		char *path = cfg__path_join("vars", key);
		struct probe_perr err = { 0 };
		struct probe_tmpl *t = NULL;
		char *text = json_is_string(v) ? strdup(json_string_value(v))
			     : (json_is_number(v) || json_is_boolean(v)) ? probe_value_text(v) : NULL;
		if (path == NULL || d->vars == NULL)
			goto next;
		if (text == NULL)
			cfg__err_at(f, path, "a var must be a string, a number or a boolean");
		else if (probe_tmpl_is_builtin(key))
			cfg__err_at(f, path, "\"%s\" would hide the built-in {{%s}}", key, key);
		else if ((t = probe_tmpl_parse(text, strlen(text), cfg__secret_resolve, f, &err)) == NULL) {
			cfg__err_in(f, path, err.offset, "%s", err.msg);
			/* Still declared, so that its uses are not reported as unknown too. */
			d->vars[d->nvars].name = strdup(key);
			d->vars[d->nvars].value = strdup("");
			d->vars[d->nvars++].secret = true;
		} else if (!probe_tmpl_is_static(t))
			cfg__err_at(f, path, "vars cannot hold placeholders");
		else {
			struct probe_var *pv = &d->vars[d->nvars++];
			pv->name = strdup(key);
			probe_tmpl_render(t, PROBE_TMPL_RAW, &none, false, &pv->value, NULL, NULL);
			pv->secret = probe_tmpl_has_secret(t);
		}
next:
		probe_tmpl_free(t);
		free(text);
		free(path);
	}
}

static void load_steps(struct cfg__file *f, json_t *root, struct probe_def *d)
{
	json_t *steps = json_object_get(root, "steps");
	struct cfg__probe_ctx ctx = { .f = f, .d = d };

	if (steps != NULL) {
		for (const char *const *k = single_step_keys; *k; k++)
			if (json_object_get(root, *k))
				cfg__err_at(f, *k, "\"%s\" belongs inside a step when \"steps\" is given", *k);
		if (!json_is_array(steps) || json_array_size(steps) == 0) {
			cfg__err_at(f, "steps", "\"steps\" must be a non-empty list of steps");
			return;
		}
		ctx.nsteps = json_array_size(steps);
	} else if (json_object_get(root, "url") == NULL) {
		cfg__err_at(f, "", "a probe needs \"steps\" or a \"url\"");
		return;
	} else
		ctx.nsteps = 1;
	ctx.steps = calloc(ctx.nsteps, sizeof(*ctx.steps));
	d->steps = calloc(ctx.nsteps, sizeof(*d->steps));
	if (ctx.steps == NULL || d->steps == NULL) {
		free(ctx.steps);
		cfg__err_at(f, "", "out of memory");
		return;
	}
	for (size_t i = 0; i < ctx.nsteps; i++)
		ctx.steps[i] = steps ? json_array_get(steps, i) : root;
	d->nsteps = ctx.nsteps;
	for (ctx.step = 0; ctx.step < ctx.nsteps; ctx.step++) {
		struct probe_step *s = &d->steps[ctx.step];
		char path[32] = "";
		if (steps)
			snprintf(path, sizeof(path), "steps/%zu", ctx.step);
		if (!json_is_object(ctx.steps[ctx.step])) {
			cfg__err_at(f, path, "a step must be an object");
			continue;
		}
		json_t *name = steps ? json_object_get(ctx.steps[ctx.step], "name") : NULL;
		if (json_is_string(name))
			s->name = strdup(json_string_value(name));
		else if (steps) {
			if (asprintf(&s->name, "step %zu", ctx.step + 1) < 0)
				s->name = NULL;
		} else
			s->name = strdup(d->name);
		for (size_t j = 0; j < ctx.step && s->name; j++)
			if (d->steps[j].name && strcmp(d->steps[j].name, s->name) == 0)
				cfg__err_at(f, path, "two steps are named \"%s\"", s->name);
		cfg__step_load(&ctx, ctx.steps[ctx.step], path, s);
	}
	free(ctx.steps);
}

static void load_schedule(struct cfg__file *f, json_t *root, const struct cfg *defaults, struct probe_def *d)
{
	json_t *v;

	d->every_ms = defaults ? defaults->every_ms : DEFAULT_EVERY_MS;
	d->timeout_ms = defaults ? defaults->timeout_ms : DEFAULT_TIMEOUT_MS;
	d->max_body = defaults ? defaults->max_body : DEFAULT_MAX_BODY;
	if ((v = json_object_get(root, "every")) != NULL &&
	    cfg__duration_max(f, v, "every", CFG__SCHEDULE_MAX_MS, &d->every_ms) == 0 && d->every_ms < CFG__EVERY_MIN_MS)
		cfg__err_at(f, "every", "\"every\" must be at least 100ms");
	if ((v = json_object_get(root, "timeout")) != NULL)
		cfg__duration_max(f, v, "timeout", CFG__SCHEDULE_MAX_MS, &d->timeout_ms);
	if ((v = json_object_get(root, "max_body")) != NULL)
		load_max_body(f, v, &d->max_body);
	if ((v = json_object_get(root, "paused")) != NULL) {
		if (json_is_boolean(v))
			d->paused = json_is_true(v);
		else
			cfg__err_at(f, "paused", "\"paused\" must be true or false");
	}
	if ((v = json_object_get(root, "reuse_connections")) != NULL) {
		if (json_is_boolean(v))
			d->reuse_connections = json_is_true(v);
		else
			cfg__err_at(f, "reuse_connections", "\"reuse_connections\" must be true or false");
	}
}

int cfg__probe_from_file(struct cfg__file *f, const char *name_hint, const struct cfg *defaults,
			 struct probe_def **out)
{
	json_t *root = f->root, *v;
	struct probe_def *d;
	int before = f->errors;

	if (!json_is_object(root)) {
		cfg__err_at(f, "", "a probe file must hold a JSON object");
		return -EINVAL;
	}
	d = probe_def_new();
	if (d == NULL)
		return -ENOMEM;
	cfg__check_keys(f, root, "", probe_keys);
	v = json_object_get(root, "name");
	if (v && (!json_is_string(v) || !valid_name(json_string_value(v))))
		cfg__err_at(f, "name", "\"name\" must be a word of letters, digits, '.', '_' or '-'");
	d->name = strdup(json_is_string(v) ? json_string_value(v) : name_hint);
	if (v == NULL && d->name && !valid_name(d->name))
		cfg__err_at(f, "", "the probe's name \"%s\" comes from its file name and is not valid: "
				   "rename the file or set \"name\"", d->name);
	d->file = strdup(f->name);
	if ((v = json_object_get(root, "description")) != NULL) {
		if (json_is_string(v))
			d->description = strdup(json_string_value(v));
		else
			cfg__err_at(f, "description", "\"description\" must be a string");
	}
	load_schedule(f, root, defaults, d);
	if ((v = json_object_get(root, "tags")) != NULL)
		load_tags(f, v, d);
	if ((v = json_object_get(root, "vars")) != NULL)
		load_vars(f, v, d);
	if (d->name)
		load_steps(f, root, d);
	/* Checked here, with positions; alerting reads it again from raw. */
	cfg__probe_alert(f, root, defaults);
	d->raw = json_incref(root);
	if (f->errors != before || d->name == NULL || probe_def_prepare(d) < 0) {
		if (f->errors == before)
			cfg__err_at(f, "", "out of memory");
		probe_def_unref(d);
		return -EINVAL;
	}
	*out = d;
	return 0;
}

/* Loads the probe of an open file (or one that failed to open: rc < 0), named after path when it has no "name". */
static int probe_from(struct cfg__file *f, int rc, const char *path, const struct cfg *defaults,
		      struct probe_def **out, struct cfg_diags *diags, size_t first)
{
	char *copy = strdup(path), *dir = strdup(path);

	if (rc == 0 && (copy == NULL || dir == NULL))
		rc = -ENOMEM;
	if (rc == 0) {
		char *base = basename(copy), *dot = strrchr(base, '.');
		if (dot && strcmp(dot, ".json") == 0)
			*dot = '\0';
		f->dir = dirname(dir);
		f->flags = defaults ? defaults->flags : 0;
		rc = cfg__probe_from_file(f, base, defaults, out);
	}
	cfg__file_close(f);
	cfg__diags_sort_from(diags, first);
	free(copy);
	free(dir);
	return rc;
}

int cfg_load_probe(const char *path, const struct cfg *defaults, struct probe_def **out,
		   struct cfg_diags *diags)
{
	struct cfg__file f;
	size_t first = diags->n;
	int rc = cfg__file_open(&f, path, diags);

	return probe_from(&f, rc, path, defaults, out, diags, first);
}

int cfg_parse_probe(const char *display, const char *text, size_t len, const struct cfg *defaults,
		    struct probe_def **out, struct cfg_diags *diags)
{
	struct cfg__file f = { 0 };
	size_t first = diags->n;
	char *copy = malloc(len + 1);
	int rc;

	if (copy == NULL)
		return -ENOMEM;
	memcpy(copy, text, len);
	copy[len] = '\0';
	rc = cfg__file_parse(&f, display, copy, len, diags);
	return probe_from(&f, rc, display, defaults, out, diags, first);
}
