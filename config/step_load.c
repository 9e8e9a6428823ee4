/* step_load.c - loads one step of a probe: request templates, assertions and extracts, with positions. */
#include "config/config_int.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const step_keys[] = {
	"name", "method", "url", "headers", "json", "body", "expect", "extract",
	"timeout", "follow_redirects", "insecure", NULL,
};

/* Whether an earlier step extracts name; *later gets the name of a later step that does. */
static bool extracted_before(const struct cfg__probe_ctx *ctx, const char *name, const char **later)
{
	*later = NULL;
	for (size_t j = 0; j < ctx->nsteps; j++) {
		json_t *ex = json_object_get(ctx->steps[j], "extract");
		if (!json_is_object(ex) || json_object_get(ex, name) == NULL)
			continue;
		if (j < ctx->step)
			return true;
		if (*later == NULL) {
			json_t *n = json_object_get(ctx->steps[j], "name");
			*later = json_is_string(n) ? json_string_value(n) : "a later step";
		}
	}
	return false;
}

struct name_check {
	struct cfg__probe_ctx *ctx;
	const char *path;
	bool allow;   /* placeholders allowed at all */
};

static int check_name(const char *name, size_t offset, void *arg)
{
	struct name_check *nc = arg;
	struct cfg__probe_ctx *ctx = nc->ctx;
	const char *later;

	if (!nc->allow) {
		cfg__err_in(ctx->f, nc->path, offset, "placeholders are not allowed here");
		return 0;
	}
	for (size_t i = 0; i < ctx->d->nvars; i++)
		if (strcmp(ctx->d->vars[i].name, name) == 0)
			return 0;
	if (probe_tmpl_is_builtin(name) || extracted_before(ctx, name, &later))
		return 0;
	if (later)
		cfg__err_in(ctx->f, nc->path, offset,
			    "\"%s\" is extracted by step \"%s\", which runs later", name, later);
	else
		cfg__err_in(ctx->f, nc->path, offset,
			    "unknown variable \"%s\" (not in vars, not extracted by an earlier step)", name);
	return 0;
}

/* Parses the string at path as a template; reports and returns NULL on error. */
static struct probe_tmpl *load_tmpl(struct cfg__probe_ctx *ctx, json_t *v, const char *path, bool allow)
{
	struct probe_perr err = { 0 };
	struct name_check nc = { ctx, path, allow };
	int before = ctx->f->errors;

	if (!json_is_string(v)) {
		cfg__err_at(ctx->f, path, "expected a string");
		return NULL;
	}
	struct probe_tmpl *t = probe_tmpl_parse(json_string_value(v), json_string_length(v),
						cfg__secret_resolve, ctx->f, &err);
	if (t == NULL) {
		cfg__err_in(ctx->f, path, err.offset, "%s", err.msg);
		return NULL;
	}
	probe_tmpl_foreach_name(t, check_name, &nc);
	if (ctx->f->errors != before) {
		probe_tmpl_free(t);
		return NULL;
	}
	return t;
}

/* The URL must be http(s) and well formed once placeholders hold plausible values. */
static void check_url(struct cfg__probe_ctx *ctx, const struct probe_tmpl *t, const char *path)
{
	struct probe_var dummy[64];
	struct probe_scope scope = { .vars = ctx->d->vars, .nvars = ctx->d->nvars };
	size_t n = 0;
	char *url = NULL;

	for (size_t j = 0; j < ctx->step && n < 64; j++) {
		const char *key;
		json_t *v;
		json_object_foreach(json_object_get(ctx->steps[j], "extract"), key, v)
			if (n < 64)
				dummy[n++] = (struct probe_var){ (char *)key, "x", false };
	}
	scope.extracted = dummy;
	scope.nextracted = n;
	probe_scope_init_builtins(&scope);
	if (probe_tmpl_render(t, PROBE_TMPL_URL, &scope, false, &url, NULL, NULL) < 0)
		return;
	if (strncasecmp(url, "http://", 7) != 0 && strncasecmp(url, "https://", 8) != 0) {
		cfg__err_at(ctx->f, path, "url must start with http:// or https://");
	} else {
		CURLU *h = curl_url();
		if (h && curl_url_set(h, CURLUPART_URL, url, 0) != CURLUE_OK)
			cfg__err_at(ctx->f, path, "url is not a valid URL");
		curl_url_cleanup(h);
	}
	explicit_bzero(url, strlen(url));
	free(url);
}

static bool token_chars(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("!#$%&'*+-.^_`|~", *s))
			return false;
	return true;
}

static void load_headers(struct cfg__probe_ctx *ctx, json_t *obj, const char *path, struct probe_step *s)
{
	const char *key;
	json_t *v;

	if (!json_is_object(obj)) {
		cfg__err_at(ctx->f, path, "\"headers\" must be an object of strings");
		return;
	}
	s->headers = calloc(json_object_size(obj) + 1, sizeof(*s->headers));
	json_object_foreach(obj, key, v) {
		char *sub = cfg__path_join(path, key);
		if (!token_chars(key))
			cfg__err_at(ctx->f, sub, "invalid header name \"%s\"", key);
		struct probe_tmpl *t = load_tmpl(ctx, v, sub, true);
		if (t && s->headers) {
			s->headers[s->nheaders].name = strdup(key);
			s->headers[s->nheaders++].value = t;
		} else
			probe_tmpl_free(t);
		free(sub);
	}
}

/* Every string value of the json body holding a placeholder or secret becomes a slot. */
static void load_json_slots(struct cfg__probe_ctx *ctx, json_t *v, const char *path, struct probe_step *s)
{
	if (json_is_string(v)) {
		const char *str = json_string_value(v);
		if (strstr(str, "{{") == NULL && strstr(str, "${") == NULL)
			return;
		struct probe_tmpl *t = load_tmpl(ctx, v, path, true);
		struct probe_json_slot *n = t ? realloc(s->slots, (s->nslots + 1) * sizeof(*n)) : NULL;
		if (n == NULL) {
			probe_tmpl_free(t);
			return;
		}
		s->slots = n;
		s->slots[s->nslots++] = (struct probe_json_slot){ v, t };
	} else if (json_is_object(v)) {
		const char *key;
		json_t *m;
		json_object_foreach(v, key, m) {
			char *sub = cfg__path_join(path, key);
			if (sub)
				load_json_slots(ctx, m, sub, s);
			free(sub);
		}
	} else if (json_is_array(v)) {
		size_t i;
		json_t *m;
		json_array_foreach(v, i, m) {
			char idx[24], *sub;
			snprintf(idx, sizeof(idx), "%zu", i);
			sub = cfg__path_join(path, idx);
			if (sub)
				load_json_slots(ctx, m, sub, s);
			free(sub);
		}
	}
}

static void load_expect(struct cfg__probe_ctx *ctx, json_t *arr, const char *path, struct probe_step *s)
{
	size_t i;
	json_t *v;

	if (json_is_string(arr)) {
		/* One assertion may be written without the list around it. */
		s->asserts = calloc(1, sizeof(*s->asserts));
		struct probe_perr err = { 0 };
		if (s->asserts && probe_assert_parse(json_string_value(arr), &s->asserts[0], &err) == 0)
			s->nasserts = 1;
		else if (s->asserts)
			cfg__err_in(ctx->f, path, err.offset, "%s", err.msg);
		return;
	}
	if (!json_is_array(arr)) {
		cfg__err_at(ctx->f, path, "\"expect\" must be a list of assertions");
		return;
	}
	s->asserts = calloc(json_array_size(arr) + 1, sizeof(*s->asserts));
	json_array_foreach(arr, i, v) {
		char idx[24], *sub;
		struct probe_perr err = { 0 };
		snprintf(idx, sizeof(idx), "%zu", i);
		sub = cfg__path_join(path, idx);
		if (!json_is_string(v))
			cfg__err_at(ctx->f, sub, "an assertion must be a string");
		else if (s->asserts && probe_assert_parse(json_string_value(v), &s->asserts[s->nasserts], &err) == 0)
			s->nasserts++;
		else
			cfg__err_in(ctx->f, sub, err.offset, "%s", err.msg);
		free(sub);
	}
}

static bool var_name(const char *s)
{
	if (!isalpha((unsigned char)*s) && *s != '_')
		return false;
	for (s++; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("_.-", *s))
			return false;
	return true;
}

static void load_extract(struct cfg__probe_ctx *ctx, json_t *obj, const char *path, struct probe_step *s)
{
	const char *key;
	json_t *v;

	if (!json_is_object(obj)) {
		cfg__err_at(ctx->f, path, "\"extract\" must be an object of NAME: SUBJECT");
		return;
	}
	s->extracts = calloc(json_object_size(obj) + 1, sizeof(*s->extracts));
	json_object_foreach(obj, key, v) {
		char *sub = cfg__path_join(path, key);
		struct probe_perr err = { 0 };
		struct probe_subject subj = { 0 };
		if (!var_name(key))
			cfg__err_at(ctx->f, sub, "invalid variable name \"%s\"", key);
		else if (!json_is_string(v))
			cfg__err_at(ctx->f, sub, "expected a subject such as \"json.token\"");
		else if (probe_subject_parse(json_string_value(v), json_string_length(v), &subj, &err) < 0)
			cfg__err_in(ctx->f, sub, err.offset, "%s", err.msg);
		else if (s->extracts) {
			s->extracts[s->nextracts].name = strdup(key);
			s->extracts[s->nextracts++].subj = subj;
		} else
			probe_subject_clear(&subj);
		free(sub);
	}
}

static void load_bool(struct cfg__probe_ctx *ctx, json_t *obj, const char *path, const char *key, bool *out)
{
	json_t *v = json_object_get(obj, key);

	if (v == NULL)
		return;
	if (!json_is_boolean(v)) {
		char *sub = cfg__path_join(path, key);
		cfg__err_at(ctx->f, sub ? sub : path, "\"%s\" must be true or false", key);
		free(sub);
		return;
	}
	*out = json_is_true(v);
}

static void load_method(struct cfg__probe_ctx *ctx, json_t *v, const char *path, struct probe_step *s)
{
	if (v == NULL) {
		s->method = strdup("GET");
		return;
	}
	if (!json_is_string(v) || !token_chars(json_string_value(v))) {
		cfg__err_at(ctx->f, path, "\"method\" must be an HTTP method such as \"GET\" or \"POST\"");
		return;
	}
	s->method = strdup(json_string_value(v));
	for (char *c = s->method; c && *c; c++)
		*c = (char)toupper((unsigned char)*c);
}

/* Formats the path of a step's own key into buf (step paths are short: "steps/12"). */
static const char *at(char *buf, size_t size, const char *path, const char *key)
{
	snprintf(buf, size, "%s%s%s", path, *path ? "/" : "", key);
	return buf;
}

static void load_body(struct cfg__probe_ctx *ctx, json_t *obj, const char *path, struct probe_step *s)
{
	json_t *body = json_object_get(obj, "body"), *js = json_object_get(obj, "json");
	char p[256];

	if (body && js) {
		cfg__err_at(ctx->f, at(p, sizeof(p), path, "body"), "a step has \"json\" or \"body\", not both");
	} else if (body) {
		s->body = load_tmpl(ctx, body, at(p, sizeof(p), path, "body"), true);
	} else if (js) {
		/* A copy: the step fills placeholders into it on every run. */
		s->json = json_deep_copy(js);
		load_json_slots(ctx, s->json, at(p, sizeof(p), path, "json"), s);
	}
}

int cfg__step_load(struct cfg__probe_ctx *ctx, json_t *obj, const char *path, struct probe_step *s)
{
	struct cfg__file *f = ctx->f;
	int before = f->errors;
	char p[256];
	json_t *v;

	if (*path) {
		cfg__check_keys(f, obj, path, step_keys);
		v = json_object_get(obj, "name");
		if (v && (!json_is_string(v) || json_string_length(v) == 0))
			cfg__err_at(f, at(p, sizeof(p), path, "name"), "\"name\" must be a non-empty string");
		if ((v = json_object_get(obj, "timeout")) != NULL)
			cfg__duration(f, v, at(p, sizeof(p), path, "timeout"), &s->timeout_ms);
	}
	if ((v = json_object_get(obj, "url")) == NULL)
		cfg__err_at(f, path, "a step needs a \"url\"");
	else if ((s->url = load_tmpl(ctx, v, at(p, sizeof(p), path, "url"), true)) != NULL)
		check_url(ctx, s->url, p);
	load_method(ctx, json_object_get(obj, "method"), at(p, sizeof(p), path, "method"), s);
	if ((v = json_object_get(obj, "headers")) != NULL)
		load_headers(ctx, v, at(p, sizeof(p), path, "headers"), s);
	load_body(ctx, obj, path, s);
	if ((v = json_object_get(obj, "expect")) != NULL)
		load_expect(ctx, v, at(p, sizeof(p), path, "expect"), s);
	if ((v = json_object_get(obj, "extract")) != NULL)
		load_extract(ctx, v, at(p, sizeof(p), path, "extract"), s);
	load_bool(ctx, obj, path, "follow_redirects", &s->follow_redirects);
	load_bool(ctx, obj, path, "insecure", &s->insecure);
	return f->errors == before ? 0 : -EINVAL;
}
