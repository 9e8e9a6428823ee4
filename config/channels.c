/* channels.c - the main file's "channels" (secrets resolved, each checked by its alerting type) and alert settings. */
#include "config/config_int.h"

#include <stdlib.h>
#include <string.h>

/* Where an alerting validation error lands: under base (a JSON pointer) in f. */
struct err_ctx {
	struct cfg__file *f;
	const char *base;
};

static void on_alert_err(const char *path, const char *msg, void *arg)
{
	struct err_ctx *e = arg;
	char *full = path[0] ? NULL : strdup(e->base);

	if (path[0]) {
		/* path is already a JSON pointer relative to base: join without escaping it again. */
		if (asprintf(&full, "%s%s%s", e->base, e->base[0] ? "/" : "", path) < 0)
			full = NULL;
	}
	/* A missing key ("is required") has no position of its own: point at its object. */
	if (full != NULL && cfg__pos_key(&e->f->pos, full) == 0) {
		free(full);
		full = NULL;
	}
	cfg__err_at(e->f, full ? full : e->base, "%s", msg);
	free(full);
}

static int add_secret(struct cfg *c, const char *value)
{
	char **n;

	if (value[0] == '\0')
		return 0;
	n = realloc(c->channel_secrets, (c->nchannel_secrets + 1) * sizeof(*n));
	if (n == NULL)
		return -ENOMEM;
	c->channel_secrets = n;
	if ((n[c->nchannel_secrets] = strdup(value)) == NULL)
		return -ENOMEM;
	c->nchannel_secrets++;
	return 0;
}

/*
 * Resolves the ${env|file|cred:..} references of the string v at path into a
 * new string (*out), recording resolved secrets in c. Returns 0 or -EINVAL
 * (reported).
 */
static int resolve_string(struct cfg__file *f, struct cfg *c, json_t *v, const char *path, char **out)
{
	struct probe_perr err = { 0 };
	struct probe_scope scope = { 0 };
	struct probe_tmpl *t = probe_tmpl_parse(json_string_value(v), json_string_length(v),
						 cfg__secret_resolve, f, &err);
	int rc = 0;

	*out = NULL;
	if (t == NULL) {
		cfg__err_in(f, path, err.offset, "%s", err.msg);
		return -EINVAL;
	}
	if (!probe_tmpl_is_static(t)) {
		cfg__err_at(f, path, "channel settings cannot hold {{...}} placeholders");
		rc = -EINVAL;
	} else if (probe_tmpl_render(t, PROBE_TMPL_RAW, &scope, false, out, NULL, &err) < 0) {
		cfg__err_at(f, path, "%s", err.msg);
		rc = -EINVAL;
	} else if (probe_tmpl_has_secret(t) && add_secret(c, *out) < 0) {
		rc = -ENOMEM;
	}
	probe_tmpl_free(t);
	return rc;
}

static int resolve_tree(struct cfg__file *f, struct cfg *c, json_t *v, const char *path);

/* resolve_tree for member key of the value at path. */
static int resolve_member(struct cfg__file *f, struct cfg *c, json_t *m, const char *path, const char *key)
{
	char *sub = cfg__path_join(path, key);
	int bad = sub ? resolve_tree(f, c, m, sub) : 1;

	free(sub);
	return bad;
}

/* Replaces, in place, every string in v (at path) by its resolved value. Returns the errors seen. */
static int resolve_tree(struct cfg__file *f, struct cfg *c, json_t *v, const char *path)
{
	const char *key;
	char *s = NULL, idx[32];
	json_t *m;
	size_t i;
	int bad = 0;

	if (json_is_string(v)) {
		bad = resolve_string(f, c, v, path, &s) < 0;
		if (!bad)
			json_string_set(v, s);
		free(s);
	} else if (json_is_object(v)) {
		json_object_foreach(v, key, m)
			bad += resolve_member(f, c, m, path, key);
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, m) {
			snprintf(idx, sizeof(idx), "%zu", i);
			bad += resolve_member(f, c, m, path, idx);
		}
	}
	return bad;
}

static bool valid_channel_name(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s; s++)
		if (!(*s >= 'a' && *s <= 'z') && !(*s >= 'A' && *s <= 'Z') && !(*s >= '0' && *s <= '9') &&
		    *s != '-' && *s != '_' && *s != '.')
			return false;
	return true;
}

void cfg__load_channels(struct cfg__file *f, struct cfg *c)
{
	json_t *v = json_object_get(f->root, "channels"), *conf;
	const char *name;

	c->channels = json_object();
	if (v == NULL || c->channels == NULL)
		return;
	if (!json_is_object(v)) {
		cfg__err_at(f, "channels", "\"channels\" must be an object of named channels");
		return;
	}
	json_object_foreach(v, name, conf) {
		char *path = cfg__path_join("channels", name);
		json_t *copy = NULL;
		if (path == NULL)
			return;
		if (!valid_channel_name(name)) {
			cfg__err_at(f, path, "a channel name must be a word of letters, digits, '.', '_' or '-'");
		} else if (!json_is_object(conf)) {
			cfg__err_at(f, path, "channel \"%s\" must be an object with a \"type\"", name);
		} else if ((copy = json_deep_copy(conf)) != NULL && resolve_tree(f, c, copy, path) == 0) {
			struct err_ctx ectx = { f, path };
			/* Without secrets the values are blanks: only the daemon and `alert test` check them. */
			if (!(f->flags & CFG_SKIP_SECRETS))
				alert_channel_check(copy, on_alert_err, &ectx);
			json_object_set(c->channels, name, copy);
		}
		json_decref(copy);
		free(path);
	}
}

void cfg__load_alert_defaults(struct cfg__file *f, struct cfg *c, json_t *obj)
{
	struct err_ctx ectx = { f, "defaults/alert" };

	alert_policy_clear(&c->alert);
	if (alert_policy_parse(obj, NULL, &c->alert, on_alert_err, &ectx) == -ENOMEM)
		cfg__err_at(f, "defaults/alert", "out of memory");
	cfg__check_alert_channels(f, c, &c->alert, "defaults/alert");
}

void cfg__check_alert_channels(struct cfg__file *f, const struct cfg *c, const struct alert_policy *p,
			       const char *base)
{
	for (size_t i = 0; c != NULL && c->channels != NULL && i < p->nchannels; i++) {
		char path[64];
		if (json_object_get(c->channels, p->channels[i]) != NULL)
			continue;
		snprintf(path, sizeof(path), "%s/channels/%zu", base, i);
		/* Only when the probe (or defaults) named channels itself is the position exact. */
		cfg__err_at(f, cfg__pos_key(&f->pos, path) ? path : base,
			    "no channel named \"%s\" in \"channels\"", p->channels[i]);
	}
}

int cfg__probe_alert(struct cfg__file *f, json_t *root, const struct cfg *defaults)
{
	json_t *obj = json_object_get(root, "alert");
	struct err_ctx ectx = { f, "alert" };
	struct alert_policy p;
	int rc;

	if (obj == NULL)
		return 0;
	rc = alert_policy_parse(obj, defaults ? &defaults->alert : NULL, &p, on_alert_err, &ectx);
	if (rc != -ENOMEM && json_is_object(obj) && json_object_get(obj, "channels") != NULL)
		cfg__check_alert_channels(f, defaults, &p, "alert");
	alert_policy_clear(&p);
	return rc;
}
