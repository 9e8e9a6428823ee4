/* check_tmpl.c - templates: placeholders, secrets, escaping rules, redaction, and scrubbing. */
#include "tests/tests.h"
#include "probes/probe.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int fake_resolve(const char *kind, const char *arg, char **value, struct probe_perr *err, void *ctx)
{
	(void)ctx;
	if (strcmp(kind, "env") == 0 && strcmp(arg, "PW") == 0) {
		*value = strdup("hunter2-secret");
		return 0;
	}
	snprintf(err->msg, sizeof(err->msg), "no secret %s:%s", kind, arg);
	return -EINVAL;
}

static struct probe_var vars[] = {
	{ "base", "http://127.0.0.1:8080", false },
	{ "user", "a b/c?d&e=f", false },
	{ "pw", "hunter2-secret", true },
	{ "quote", "say \"hi\"\n\\", false },
};

static char *render(const char *text, enum probe_tmpl_mode mode, bool redact, const struct probe_var *ex,
		    size_t nex)
{
	struct probe_perr err = { 0 };
	struct probe_tmpl *t = probe_tmpl_parse(text, strlen(text), fake_resolve, NULL, &err);
	struct probe_scope scope = { .vars = vars, .nvars = 4, .extracted = ex, .nextracted = nex };
	char *out = NULL;

	ck_assert_msg(t != NULL, "parse \"%s\": %s", text, err.msg);
	probe_scope_init_builtins(&scope);
	ck_assert_int_eq(probe_tmpl_render(t, mode, &scope, redact, &out, NULL, &err), 0);
	probe_tmpl_free(t);
	return out;
}

START_TEST(literal_and_placeholders)
{
	char *s = render("plain text", PROBE_TMPL_RAW, false, NULL, 0);
	ck_assert_str_eq(s, "plain text");
	free(s);
	s = render("{{ base }}/x/{{user}}", PROBE_TMPL_RAW, false, NULL, 0);
	ck_assert_str_eq(s, "http://127.0.0.1:8080/x/a b/c?d&e=f");
	free(s);
}
END_TEST

START_TEST(url_mode_encodes_path_and_query_only)
{
	char *s = render("{{base}}/users/{{user}}?q={{user}}", PROBE_TMPL_URL, false, NULL, 0);

	/* The base before the path stays raw; values in the path and query are percent-encoded. */
	ck_assert_str_eq(s, "http://127.0.0.1:8080/users/a%20b%2Fc%3Fd%26e%3Df?q=a%20b%2Fc%3Fd%26e%3Df");
	free(s);
}
END_TEST

START_TEST(builtins)
{
	char *s = render("{{now}} {{now_ms}} {{uuid}}", PROBE_TMPL_RAW, false, NULL, 0);
	long long now = 0, now_ms = 0;
	char uuid[64] = "";

	ck_assert_int_eq(sscanf(s, "%lld %lld %63s", &now, &now_ms, uuid), 3);
	ck_assert_int_gt(now, 1700000000);
	ck_assert_int_eq(now, now_ms / 1000);
	ck_assert_int_eq(strlen(uuid), 36);
	ck_assert_int_eq(uuid[14], '4'); /* version 4 */
	free(s);
}
END_TEST

/* One uuid per run: every template of the run renders the same one, the next run a new one. */
START_TEST(uuid_is_one_per_run)
{
	struct probe_perr err = { 0 };
	struct probe_tmpl *a = probe_tmpl_parse("{{uuid}}", 8, fake_resolve, NULL, &err);
	struct probe_tmpl *b = probe_tmpl_parse("id={{uuid}}", 11, fake_resolve, NULL, &err);
	struct probe_scope scope = { 0 };
	char *s1 = NULL, *s2 = NULL, *s3 = NULL;

	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	probe_scope_init_builtins(&scope);
	ck_assert_int_eq(probe_tmpl_render(a, PROBE_TMPL_RAW, &scope, false, &s1, NULL, &err), 0);
	ck_assert_int_eq(probe_tmpl_render(b, PROBE_TMPL_RAW, &scope, false, &s2, NULL, &err), 0);
	ck_assert_int_eq(strlen(s1), 36);
	ck_assert_str_eq(s2 + 3, s1);
	probe_scope_init_builtins(&scope);
	ck_assert_int_eq(probe_tmpl_render(a, PROBE_TMPL_RAW, &scope, false, &s3, NULL, &err), 0);
	ck_assert_int_eq(strlen(s3), 36);
	ck_assert_str_ne(s3, s1);
	free(s1);
	free(s2);
	free(s3);
	probe_tmpl_free(a);
	probe_tmpl_free(b);
}
END_TEST

START_TEST(secrets_are_resolved_and_redacted)
{
	struct probe_perr err = { 0 };
	struct probe_tmpl *t = probe_tmpl_parse("Bearer ${env:PW}", 16, fake_resolve, NULL, &err);

	ck_assert_ptr_nonnull(t);
	ck_assert(probe_tmpl_has_secret(t));
	ck_assert(probe_tmpl_is_static(t));
	probe_tmpl_free(t);

	char *s = render("Bearer ${env:PW}", PROBE_TMPL_RAW, false, NULL, 0);
	ck_assert_str_eq(s, "Bearer hunter2-secret");
	free(s);
	s = render("Bearer ${env:PW} {{pw}}", PROBE_TMPL_RAW, true, NULL, 0);
	ck_assert_str_eq(s, "Bearer [redacted] [redacted]");
	free(s);

	struct probe_var ex[] = { { "token", "tok-123456", true } };
	s = render("{{base}}/t/{{token}}", PROBE_TMPL_URL, true, ex, 1);
	ck_assert_str_eq(s, "http://127.0.0.1:8080/t/[redacted]");
	free(s);
	s = render("{{base}}/t/{{token}}", PROBE_TMPL_URL, false, ex, 1);
	ck_assert_str_eq(s, "http://127.0.0.1:8080/t/tok-123456");
	free(s);
}
END_TEST

START_TEST(extracted_shadow_vars_latest_first)
{
	struct probe_var ex[] = { { "user", "first", true }, { "user", "second", true } };
	char *s = render("{{user}}", PROBE_TMPL_RAW, false, ex, 2);

	ck_assert_str_eq(s, "second");
	free(s);
}
END_TEST

START_TEST(unknown_name_fails_render)
{
	struct probe_perr err = { 0 };
	struct probe_tmpl *t = probe_tmpl_parse("x{{nope}}", 9, NULL, NULL, &err);
	struct probe_scope scope = { 0 };
	char *out = NULL;

	ck_assert_ptr_nonnull(t);
	ck_assert_int_eq(probe_tmpl_render(t, PROBE_TMPL_RAW, &scope, false, &out, NULL, &err), -ENOENT);
	ck_assert_ptr_null(out);
	ck_assert_ptr_nonnull(strstr(err.msg, "nope"));
	ck_assert_int_eq(err.offset, 1);
	probe_tmpl_free(t);
}
END_TEST

static const struct {
	const char *text;
	size_t offset;
	const char *msg;
} bad[] = {
	{ "abc {{name", 4, "unclosed" },
	{ "{{}}", 0, "empty" },
	{ "x{{bad name}}", 6, "invalid placeholder name" },
	{ "{{1abc}}", 2, "invalid placeholder name" },
	{ "pw=${nope:x}", 3, "unknown secret source" },
	{ "${env:PW", 0, "unclosed secret" },
	{ "${envPW}", 0, "malformed secret" },
	{ "${env:MISSING}", 0, "no secret env:MISSING" },
};

START_TEST(parse_errors_have_offsets)
{
	struct probe_perr err = { 0 };
	struct probe_tmpl *t = probe_tmpl_parse(bad[_i].text, strlen(bad[_i].text), fake_resolve, NULL, &err);

	ck_assert_ptr_null(t);
	ck_assert_msg(err.offset == bad[_i].offset, "\"%s\": offset %zu, want %zu", bad[_i].text, err.offset,
		      bad[_i].offset);
	ck_assert_msg(strstr(err.msg, bad[_i].msg) != NULL, "\"%s\": message \"%s\"", bad[_i].text, err.msg);
}
END_TEST

START_TEST(secret_without_resolver_is_refused)
{
	struct probe_perr err = { 0 };

	ck_assert_ptr_null(probe_tmpl_parse("${env:PW}", 9, NULL, NULL, &err));
	ck_assert_ptr_nonnull(strstr(err.msg, "not allowed"));
}
END_TEST

static int count_names(const char *name, size_t off, void *ctx)
{
	size_t *seen = ctx;

	if (*seen == 0) {
		ck_assert_str_eq(name, "x");
		ck_assert_int_eq(off, 1);
	} else {
		ck_assert_str_eq(name, "y");
		ck_assert_int_eq(off, 8);
	}
	(*seen)++;
	return 0;
}

START_TEST(names_are_listed_with_offsets)
{
	struct probe_perr err = { 0 };
	struct probe_tmpl *t = probe_tmpl_parse("a{{x}}bb{{ y }}", 15, NULL, NULL, &err);
	size_t seen = 0;

	ck_assert_ptr_nonnull(t);
	ck_assert(!probe_tmpl_is_static(t));
	ck_assert_int_eq(probe_tmpl_foreach_name(t, count_names, &seen), 0);
	ck_assert_int_eq(seen, 2);
	probe_tmpl_free(t);
}
END_TEST

START_TEST(scrub_replaces_secrets_in_messages)
{
	struct probe_def def = { .name = "p" };
	char *secrets[] = { "hunter2-secret", "abc" };
	struct probe_var ex[] = { { "token", "tok-999", true } };

	def.secrets = secrets;
	def.nsecrets = 2;
	char *s = probe_scrub(strdup("got \"hunter2-secret\" and tok-999, abc stays"), &def, ex, 1);
	ck_assert_str_eq(s, "got \"[redacted]\" and [redacted], abc stays");
	free(s);
	ck_assert_ptr_null(probe_scrub(NULL, &def, NULL, 0));
}
END_TEST

Suite *tmpl_suite(void)
{
	Suite *s = suite_create("tmpl");
	TCase *tc = tcase_create("render");

	tcase_add_test(tc, literal_and_placeholders);
	tcase_add_test(tc, url_mode_encodes_path_and_query_only);
	tcase_add_test(tc, builtins);
	tcase_add_test(tc, uuid_is_one_per_run);
	tcase_add_test(tc, secrets_are_resolved_and_redacted);
	tcase_add_test(tc, extracted_shadow_vars_latest_first);
	tcase_add_test(tc, unknown_name_fails_render);
	tcase_add_test(tc, scrub_replaces_secrets_in_messages);
	suite_add_tcase(s, tc);
	tc = tcase_create("parse");
	tcase_add_loop_test(tc, parse_errors_have_offsets, 0, sizeof(bad) / sizeof(bad[0]));
	tcase_add_test(tc, secret_without_resolver_is_refused);
	tcase_add_test(tc, names_are_listed_with_offsets);
	suite_add_tcase(s, tc);
	return s;
}
