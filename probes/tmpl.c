/* tmpl.c - templates: {{name}} placeholders and ${kind:arg} secrets, parsed once, rendered per run. */
#include "probes/probe.h"
#include "probes/probe_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

enum tok_kind { TOK_LIT, TOK_VAR, TOK_SECRET };

struct tok {
	enum tok_kind kind;
	char *text;       /* literal text, variable name or secret value; owned */
	size_t len;
	size_t offset;    /* where it starts in the parsed text */
};

struct probe_tmpl {
	struct tok *toks;
	size_t ntoks;
	bool has_var;
	bool has_secret;
};

static int add_tok(struct probe_tmpl *t, enum tok_kind kind, const char *s, size_t len, size_t offset)
{
	struct tok *n = realloc(t->toks, (t->ntoks + 1) * sizeof(*n));

	if (n == NULL)
		return -ENOMEM;
	t->toks = n;
	char *copy = malloc(len + 1);
	if (copy == NULL)
		return -ENOMEM;
	memcpy(copy, s, len);
	copy[len] = '\0';
	t->toks[t->ntoks++] = (struct tok){ kind, copy, len, offset };
	if (kind == TOK_VAR)
		t->has_var = true;
	if (kind == TOK_SECRET)
		t->has_secret = true;
	return 0;
}

static bool name_char(char c, bool first)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_')
		return true;
	return !first && ((c >= '0' && c <= '9') || c == '.' || c == '-');
}

static void perr(struct probe_perr *err, size_t offset, const char *fmt, const char *arg)
{
	if (err == NULL)
		return;
	err->offset = offset;
	snprintf(err->msg, sizeof(err->msg), fmt, arg);
}

/* Parses "{{ name }}" at text+i; returns the length consumed, or 0 with err set. */
static size_t parse_var(struct probe_tmpl *t, const char *text, size_t len, size_t i,
			struct probe_perr *err)
{
	const char *end = memmem(text + i + 2, len - i - 2, "}}", 2);

	if (end == NULL) {
		perr(err, i, "unclosed placeholder: \"{{\" without \"}}\"%s", "");
		return 0;
	}
	const char *a = text + i + 2, *b = end;
	while (a < b && (*a == ' ' || *a == '\t'))
		a++;
	while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
		b--;
	if (a == b) {
		perr(err, i, "empty placeholder \"{{}}\"%s", "");
		return 0;
	}
	for (const char *p = a; p < b; p++) {
		if (!name_char(*p, p == a)) {
			char name[64];
			snprintf(name, sizeof(name), "%.*s", (int)(b - a), a);
			perr(err, (size_t)(p - text), "invalid placeholder name \"%s\"", name);
			return 0;
		}
	}
	if (add_tok(t, TOK_VAR, a, (size_t)(b - a), i) < 0) {
		perr(err, i, "out of memory%s", "");
		return 0;
	}
	return (size_t)(end + 2 - (text + i));
}

/* Parses "${kind:arg}" at text+i and resolves it; returns the length consumed, or 0. */
static size_t parse_secret(struct probe_tmpl *t, const char *text, size_t len, size_t i,
			   probe_secret_fn resolve, void *ctx, struct probe_perr *err)
{
	const char *end = memchr(text + i + 2, '}', len - i - 2);
	char ref[512];

	if (end == NULL) {
		perr(err, i, "unclosed secret reference: \"${\" without \"}\"%s", "");
		return 0;
	}
	size_t rlen = (size_t)(end - (text + i + 2));
	if (rlen >= sizeof(ref)) {
		perr(err, i, "secret reference too long%s", "");
		return 0;
	}
	memcpy(ref, text + i + 2, rlen);
	ref[rlen] = '\0';
	char *colon = strchr(ref, ':');
	if (colon == NULL || colon[1] == '\0') {
		perr(err, i, "malformed secret reference \"${%.100s}\": use ${env:NAME}, ${file:/path} or ${cred:NAME}", ref);
		return 0;
	}
	*colon = '\0';
	if (strcmp(ref, "env") != 0 && strcmp(ref, "file") != 0 && strcmp(ref, "cred") != 0) {
		perr(err, i, "unknown secret source \"%.100s\": use env, file or cred", ref);
		return 0;
	}
	if (resolve == NULL) {
		perr(err, i, "secret references are not allowed here%s", "");
		return 0;
	}
	char *value = NULL;
	if (resolve(ref, colon + 1, &value, err, ctx) < 0) {
		if (err)
			err->offset = i;
		return 0;
	}
	int rc = add_tok(t, TOK_SECRET, value, strlen(value), i);
	/* The resolved value is a secret: do not leave copies lying in freed memory. */
	explicit_bzero(value, strlen(value));
	free(value);
	if (rc < 0) {
		perr(err, i, "out of memory%s", "");
		return 0;
	}
	return rlen + 3;
}

struct probe_tmpl *probe_tmpl_parse(const char *text, size_t len, probe_secret_fn resolve,
				    void *ctx, struct probe_perr *err)
{
	struct probe_tmpl *t = calloc(1, sizeof(*t));
	size_t lit = 0, i = 0;

	if (t == NULL) {
		perr(err, 0, "out of memory%s", "");
		return NULL;
	}
	while (i < len) {
		bool var = i + 1 < len && text[i] == '{' && text[i + 1] == '{';
		bool secret = i + 1 < len && text[i] == '$' && text[i + 1] == '{';
		if (!var && !secret) {
			i++;
			continue;
		}
		if (i > lit && add_tok(t, TOK_LIT, text + lit, i - lit, lit) < 0) {
			perr(err, lit, "out of memory%s", "");
			goto fail;
		}
		size_t used = var ? parse_var(t, text, len, i, err)
				  : parse_secret(t, text, len, i, resolve, ctx, err);
		if (used == 0)
			goto fail;
		i += used;
		lit = i;
	}
	if (i > lit && add_tok(t, TOK_LIT, text + lit, i - lit, lit) < 0) {
		perr(err, lit, "out of memory%s", "");
		goto fail;
	}
	return t;
fail:
	probe_tmpl_free(t);
	return NULL;
}

void probe_tmpl_free(struct probe_tmpl *t)
{
	if (t == NULL)
		return;
	for (size_t i = 0; i < t->ntoks; i++) {
		if (t->toks[i].kind == TOK_SECRET)
			explicit_bzero(t->toks[i].text, t->toks[i].len);
		free(t->toks[i].text);
	}
	free(t->toks);
	free(t);
}

bool probe_tmpl_is_static(const struct probe_tmpl *t)
{
	return !t->has_var;
}

bool probe_tmpl_has_secret(const struct probe_tmpl *t)
{
	return t->has_secret;
}

int probe_tmpl_foreach_name(const struct probe_tmpl *t,
			    int (*fn)(const char *name, size_t offset, void *ctx), void *ctx)
{
	for (size_t i = 0; i < t->ntoks; i++) {
		if (t->toks[i].kind != TOK_VAR)
			continue;
		int rc = fn(t->toks[i].text, t->toks[i].offset, ctx);
		if (rc != 0)
			return rc;
	}
	return 0;
}

void probe__tmpl_foreach_secret(const struct probe_tmpl *t, void (*fn)(const char *value, void *ctx),
				void *ctx)
{
	for (size_t i = 0; i < t->ntoks; i++)
		if (t->toks[i].kind == TOK_SECRET)
			fn(t->toks[i].text, ctx);
}

bool probe_tmpl_is_builtin(const char *name)
{
	return strcmp(name, "now") == 0 || strcmp(name, "now_ms") == 0 || strcmp(name, "uuid") == 0;
}

void probe_scope_init_builtins(struct probe_scope *scope)
{
	scope->now_ms = probe_now_ms();
	scope->uuid[0] = '\0';
}

/*
 * The run's {{uuid}}, drawn on first use: most probes never ask for one, and
 * the random bytes cost a syscall. scope is const for the renderers, but the
 * uuid is a cache that no caller sees change, so it is filled in place.
 */
static const char *scope_uuid(const struct probe_scope *scope)
{
	char *uuid = ((struct probe_scope *)scope)->uuid;
	uint8_t b[16] = { 0 };

	if (uuid[0] != '\0')
		return uuid;
	/* GRND_NONBLOCK: never stall the loop; the fallback only matters before boot entropy. */
	if (getrandom(b, sizeof(b), GRND_NONBLOCK) != (ssize_t)sizeof(b)) {
		uint64_t x = uv_hrtime() ^ ((uint64_t)scope->now_ms << 20) ^ (uintptr_t)scope;
		for (size_t i = 0; i < sizeof(b); i++, x = x * 6364136223846793005ULL + 1442695040888963407ULL)
			b[i] = (uint8_t)(x >> 56);
	}
	b[6] = (b[6] & 0x0f) | 0x40; /* version 4 */
	b[8] = (b[8] & 0x3f) | 0x80; /* RFC 4122 variant */
	snprintf(uuid, sizeof(scope->uuid),
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
		 b[13], b[14], b[15]);
	return uuid;
}

/* Finds name: this run's extracts (latest first), then vars. NULL when neither has it. */
static const struct probe_var *lookup(const struct probe_scope *s, const char *name)
{
	for (size_t i = s->nextracted; i-- > 0;)
		if (strcmp(s->extracted[i].name, name) == 0)
			return &s->extracted[i];
	for (size_t i = 0; i < s->nvars; i++)
		if (strcmp(s->vars[i].name, name) == 0)
			return &s->vars[i];
	return NULL;
}

/* A substitution is in the path or query once the authority has ended: "://" then '/', '?' or '#'. */
static bool past_authority(const struct probe__buf *b)
{
	const char *sep = b->data ? strstr(b->data, "://") : NULL;

	return sep != NULL && strpbrk(sep + 3, "/?#") != NULL;
}

static int append_encoded(struct probe__buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		char enc[3] = { '%', hex[c >> 4], hex[c & 15] };
		bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			    c == '-' || c == '.' || c == '_' || c == '~';
		int rc = keep ? probe__buf_append(b, (const char *)&s[i], 1) : probe__buf_append(b, enc, 3);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int append_value(struct probe__buf *b, enum probe_tmpl_mode mode, const char *s, size_t n,
			bool secret, bool redact)
{
	if (secret && redact)
		return probe__buf_append(b, PROBE__REDACTED, sizeof(PROBE__REDACTED) - 1);
	if (mode == PROBE_TMPL_URL && past_authority(b))
		return append_encoded(b, s, n);
	return probe__buf_append(b, s, n);
}

static int render_var(struct probe__buf *b, const struct tok *tk, enum probe_tmpl_mode mode,
		      const struct probe_scope *scope, bool redact, struct probe_perr *err)
{
	const struct probe_var *v = lookup(scope, tk->text);
	char num[32];

	if (v != NULL)
		return append_value(b, mode, v->value, strlen(v->value), v->secret, redact);
	if (strcmp(tk->text, "now") == 0)
		snprintf(num, sizeof(num), "%" PRId64, scope->now_ms / 1000);
	else if (strcmp(tk->text, "now_ms") == 0)
		snprintf(num, sizeof(num), "%" PRId64, scope->now_ms);
	else if (strcmp(tk->text, "uuid") == 0) {
		const char *uuid = scope_uuid(scope);
		return append_value(b, mode, uuid, strlen(uuid), false, redact);
	}
	else {
		perr(err, tk->offset, "unknown variable \"%s\"", tk->text);
		return -ENOENT;
	}
	return append_value(b, mode, num, strlen(num), false, redact);
}

int probe_tmpl_render(const struct probe_tmpl *t, enum probe_tmpl_mode mode,
		      const struct probe_scope *scope, bool redact, char **out, size_t *len,
		      struct probe_perr *err)
{
	struct probe__buf b = { 0 };
	int rc = probe__buf_append(&b, "", 0);

	for (size_t i = 0; rc == 0 && i < t->ntoks; i++) {
		const struct tok *tk = &t->toks[i];
		switch (tk->kind) {
		case TOK_LIT:
			rc = probe__buf_append(&b, tk->text, tk->len);
			break;
		case TOK_SECRET:
			rc = append_value(&b, mode, tk->text, tk->len, true, redact);
			break;
		case TOK_VAR:
			rc = render_var(&b, tk, mode, scope, redact, err);
			break;
		}
	}
	if (rc < 0) {
		if (rc == -ENOMEM)
			perr(err, 0, "out of memory%s", "");
		probe__buf_free(&b);
		return rc;
	}
	if (len)
		*len = b.len;
	*out = probe__buf_steal(&b);
	return *out ? 0 : -ENOMEM;
}
