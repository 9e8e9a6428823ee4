/* fuzz_tmpl.c - libFuzzer harness: probe_tmpl_parse on the input, then every render mode on a fixed scope. */
#include "probes/probe.h"

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Resolves ${env:PW} only; never reads the environment or a file. */
static int fake_resolve(const char *kind, const char *arg, char **value, struct probe_perr *err,
			void *ctx)
{
	(void)ctx;
	if (strcmp(kind, "env") == 0 && strcmp(arg, "PW") == 0) {
		*value = strdup("hunter2-secret");
		return *value != NULL ? 0 : -ENOMEM;
	}
	snprintf(err->msg, sizeof(err->msg), "no secret %s:%s", kind, arg);
	return -EINVAL;
}

static const struct probe_var vars[] = {
	{ "base", "http://127.0.0.1:8080", false },
	{ "user", "a b/c?d&e=f%", false },
	{ "pw", "hunter2-secret", true },
	{ "quote", "say \"hi\"\n\\{{x}}${env:PW}", false },
	{ "empty", "", false },
};

static const struct probe_var extracted[] = {
	{ "token", "tok-123", true },
	{ "user", "shadowed", false },
};

static int count_name(const char *name, size_t offset, void *ctx)
{
	(void)name;
	(void)offset;
	++*(size_t *)ctx;
	return 0;
}

/* Renders t in one mode, redacted or not. */
static void render(const struct probe_tmpl *t, enum probe_tmpl_mode mode, bool redact,
		   const struct probe_scope *scope)
{
	struct probe_perr err = { 0 };
	char *out = NULL;
	size_t len = 0;

	if (probe_tmpl_render(t, mode, scope, redact, &out, &len, &err) == 0 && strlen(out) > len)
		abort(); /* the length said must cover the string */
	free(out);
}

/* Parses exactly size bytes; a template that parses is rendered four ways with a fixed clock and uuid. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct probe_perr err = { 0 };
	struct probe_scope scope = {
		.vars = vars, .nvars = sizeof(vars) / sizeof(vars[0]),
		.extracted = extracted, .nextracted = sizeof(extracted) / sizeof(extracted[0]),
		.now_ms = 1700000000123, .uuid = "01234567-89ab-4def-8123-456789abcdef",
	};
	struct probe_tmpl *t = probe_tmpl_parse((const char *)data, size, fake_resolve, NULL, &err);
	size_t n = 0;

	if (t == NULL)
		return 0;
	(void)probe_tmpl_is_static(t);
	(void)probe_tmpl_has_secret(t);
	(void)probe_tmpl_foreach_name(t, count_name, &n);
	render(t, PROBE_TMPL_RAW, false, &scope);
	render(t, PROBE_TMPL_RAW, true, &scope);
	render(t, PROBE_TMPL_URL, false, &scope);
	render(t, PROBE_TMPL_URL, true, &scope);
	probe_tmpl_free(t);
	return 0;
}
