/* check_config.c - config loading: every error reported with its FILE:LINE:COL, and what valid files give. */
#include "tests/tests.h"
#include "config/config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static char *dir;

static void setup(void)
{
	dir = t_tmpdir();
}

static void teardown(void)
{
	t_rmrf(dir);
	free(dir);
}

/* Loads dir/name as a probe; returns the printed diagnostics (new) and sets *def. */
static char *load_probe(const char *name, struct probe_def **def)
{
	char path[4096], *out = NULL;
	size_t len = 0;
	struct cfg_diags d = { 0 };
	FILE *f = open_memstream(&out, &len);

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	*def = NULL;
	if (cfg_load_probe(path, NULL, def, &d) < 0)
		*def = NULL;
	cfg_diags_print(&d, f);
	fclose(f);
	cfg_diags_free(&d);
	return out;
}

static char *load_main(struct cfg **c)
{
	char path[4096], *out = NULL;
	size_t len = 0;
	struct cfg_diags d = { 0 };
	FILE *f = open_memstream(&out, &len);

	snprintf(path, sizeof(path), "%s/canary.json", dir);
	*c = NULL;
	if (cfg_load(path, 0, c, &d) < 0)
		*c = NULL;
	cfg_diags_print(&d, f);
	fclose(f);
	cfg_diags_free(&d);
	return out;
}

/* Asserts that out holds "DIR/name:LINE:COL: ..." containing fragment. */
static void has_diag(const char *out, const char *name, int line, int col, const char *fragment)
{
	char want[4096];

	snprintf(want, sizeof(want), "%s/%s:%d:%d: ", dir, name, line, col);
	const char *at = strstr(out, want);
	ck_assert_msg(at != NULL, "no \"%s\" in:\n%s", want, out);
	const char *eol = strchr(at, '\n');
	ck_assert_msg(eol && memmem(at, (size_t)(eol - at), fragment, strlen(fragment)),
		      "\"%s\" lacks \"%s\" in:\n%s", want, fragment, out);
}

/* Writes text as the main file and expects the load to fail; returns what it printed (free it). */
static char *refused_main(const char *text)
{
	struct cfg *c;

	t_writef(dir, "canary.json", "%s", text);
	char *out = load_main(&c);
	ck_assert_msg(c == NULL, "accepted:\n%s", text);
	return out;
}

START_TEST(semantic_errors_point_at_keys_and_columns)
{
	struct probe_def *def;

	t_writef(dir, "bad.json",
		 "{\n"
		 "  \"every\": \"30x\",\n"
		 "  \"url\": \"http://127.0.0.1:1/{{nope}}\",\n"
		 "  \"expect\": [\"status => 200\"],\n"
		 "  \"tmeout\": \"1s\"\n"
		 "}\n");
	char *out = load_probe("bad.json", &def);
	ck_assert_ptr_null(def);
	has_diag(out, "bad.json", 2, 3, "\"every\": expected a duration");
	has_diag(out, "bad.json", 3, 30, "unknown variable \"nope\"");
	has_diag(out, "bad.json", 4, 22, "unknown operator");
	has_diag(out, "bad.json", 5, 3, "unknown key \"tmeout\" (did you mean \"timeout\"?)");
	/* Reported top to bottom. */
	ck_assert(strstr(out, ":2:3:") < strstr(out, ":5:3:"));
	free(out);
}
END_TEST

START_TEST(syntax_error_uses_jansson_position)
{
	struct probe_def *def;

	t_writef(dir, "syntax.json", "{\n  \"url\": \"http://127.0.0.1:1/\",\n}\n");
	char *out = load_probe("syntax.json", &def);
	ck_assert_ptr_null(def);
	has_diag(out, "syntax.json", 3, 1, "");
	free(out);
}
END_TEST

START_TEST(steps_errors)
{
	struct probe_def *def;

	t_writef(dir, "flow.json",
		 "{ \"url\": \"http://x/\",\n"
		 "  \"steps\": [\n"
		 "    { \"name\": \"a\", \"url\": \"http://127.0.0.1:1/{{token}}\" },\n"
		 "    { \"name\": \"b\", \"url\": \"ftp://127.0.0.1/\", \"extract\": { \"token\": \"json.token\" } },\n"
		 "    { \"name\": \"b\", \"url\": \"http://127.0.0.1/\", \"json\": {}, \"body\": \"x\" }\n"
		 "  ] }\n");
	char *out = load_probe("flow.json", &def);
	ck_assert_ptr_null(def);
	has_diag(out, "flow.json", 1, 3, "\"url\" belongs inside a step");
	has_diag(out, "flow.json", 3, 47, "extracted by step \"b\", which runs later");
	has_diag(out, "flow.json", 4, 20, "url must start with http:// or https://");
	has_diag(out, "flow.json", 5, 5, "two steps are named \"b\"");
	has_diag(out, "flow.json", 5, 60, "not both");
	free(out);
}
END_TEST

START_TEST(missing_env_secret_is_an_error_at_its_position)
{
	struct probe_def *def;

	unsetenv("CANARY_TEST_MISSING");
	t_writef(dir, "sec.json",
		 "{ \"url\": \"http://127.0.0.1/\",\n"
		 "  \"headers\": { \"X-Key\": \"k=${env:CANARY_TEST_MISSING}\" } }\n");
	char *out = load_probe("sec.json", &def);
	ck_assert_ptr_null(def);
	has_diag(out, "sec.json", 2, 28, "environment variable CANARY_TEST_MISSING is not set");
	free(out);
}
END_TEST

START_TEST(deep_nesting_is_indexed_without_hanging)
{
	/* Deeper than the position index goes: it must skip, not spin, and keep later positions right. */
	char text[2048];
	int n = snprintf(text, sizeof(text), "{ \"url\": \"http://127.0.0.1:1/\", \"json\": ");
	for (int i = 0; i < 200; i++)
		text[n++] = '[';
	n += snprintf(text + n, sizeof(text) - (size_t)n, "{\"a\": \"]\"}");
	for (int i = 0; i < 200; i++)
		text[n++] = ']';
	snprintf(text + n, sizeof(text) - (size_t)n, ",\n  \"tmeout\": 1 }\n");
	t_writef(dir, "deep.json", "%s", text);
	struct probe_def *def;
	char *out = load_probe("deep.json", &def);
	ck_assert_ptr_null(def);
	has_diag(out, "deep.json", 2, 3, "unknown key \"tmeout\"");
	free(out);
}
END_TEST

START_TEST(valid_flow_loads)
{
	struct probe_def *def;

	setenv("CANARY_TEST_PW", "pa55-word", 1);
	t_writef(dir, "pw.txt", "from-file-secret\n");
	t_writef(dir, "vitals.json",
		 "{ \"every\": \"5s\", \"timeout\": \"2s\", \"tags\": [\"vitals\"],\n"
		 "  \"vars\": { \"base\": \"http://127.0.0.1:1\", \"pw\": \"${env:CANARY_TEST_PW}\",\n"
		 "            \"pw2\": \"${file:pw.txt}\", \"n\": 5 },\n"
		 "  \"steps\": [\n"
		 "    { \"name\": \"login\", \"method\": \"post\", \"url\": \"{{base}}/v1/login\",\n"
		 "      \"json\": { \"password\": \"{{pw}}\", \"static\": 1 },\n"
		 "      \"expect\": [\"status == 200\", \"json.token exists\"],\n"
		 "      \"extract\": { \"token\": \"json.token\" } },\n"
		 "    { \"url\": \"{{base}}/v1/m\", \"headers\": { \"Authorization\": \"Bearer {{token}}\" },\n"
		 "      \"expect\": \"status == 201\", \"timeout\": \"500ms\" } ] }\n");
	char *out = load_probe("vitals.json", &def);
	ck_assert_msg(def != NULL, "%s", out);
	ck_assert_str_eq(out, "");
	ck_assert_str_eq(def->name, "vitals");
	ck_assert_int_eq(def->every_ms, 5000);
	ck_assert_int_eq(def->timeout_ms, 2000);
	ck_assert_int_eq(def->max_body, 1024 * 1024);
	ck_assert_int_eq(def->ntags, 1);
	ck_assert_int_eq(def->nsteps, 2);
	ck_assert_str_eq(def->steps[0].method, "POST");
	ck_assert_str_eq(def->steps[1].name, "step 2");
	ck_assert_str_eq(def->steps[1].method, "GET");
	ck_assert_int_eq(def->steps[1].timeout_ms, 500);
	ck_assert_int_eq(def->steps[1].nasserts, 1);
	ck_assert_int_eq(def->steps[0].nslots, 1);
	ck_assert(def->steps[0].needs & PROBE_NEED_BODY);
	/* Secrets are known, for scrubbing; the file secret lost its trailing newline. */
	int found = 0;
	for (size_t i = 0; i < def->nsecrets; i++)
		found += strcmp(def->secrets[i], "pa55-word") == 0 || strcmp(def->secrets[i], "from-file-secret") == 0;
	ck_assert_int_eq(found, 2);
	for (size_t i = 0; i < def->nvars; i++)
		if (strcmp(def->vars[i].name, "n") == 0)
			ck_assert_str_eq(def->vars[i].value, "5");
	probe_def_unref(def);
	free(out);
}
END_TEST

START_TEST(single_step_probe_is_named_after_its_file)
{
	struct probe_def *def;

	t_writef(dir, "health.json", "{ \"url\": \"http://127.0.0.1:1/health\", \"body\": \"ping\" }\n");
	char *out = load_probe("health.json", &def);
	ck_assert_msg(def != NULL, "%s", out);
	ck_assert_str_eq(def->name, "health");
	ck_assert_int_eq(def->nsteps, 1);
	ck_assert_str_eq(def->steps[0].name, "health");
	ck_assert_str_eq(def->steps[0].static_body, "ping");
	probe_def_unref(def);
	free(out);
}
END_TEST

START_TEST(main_config_collects_errors_from_every_file)
{
	struct cfg *c;

	t_writef(dir, "canary.json",
		 "{\n"
		 "  \"state_dir\": \"state\",\n"
		 "  \"defaults\": { \"every\": \"5s\", \"timout\": \"2s\" },\n"
		 "  \"chanels\": {}\n"
		 "}\n");
	char sub[4096];
	snprintf(sub, sizeof(sub), "%s/probes.d", dir);
	ck_assert_int_eq(mkdir(sub, 0755), 0);
	t_writef(dir, "probes.d/a.json", "{ \"url\": \"http://127.0.0.1/\", \"every\": 5 }\n");
	t_writef(dir, "probes.d/b.json", "{ \"url\": 42 }\n");
	t_writef(dir, "probes.d/c.json", "{ \"name\": \"zed\", \"url\": \"http://127.0.0.1/\" }\n");
	t_writef(dir, "probes.d/d.json", "{ \"name\": \"zed\", \"url\": \"http://127.0.0.1/\" }\n");
	t_writef(dir, "probes.d/notes.txt", "not a probe\n");
	char *out = load_main(&c);
	ck_assert_ptr_null(c);
	has_diag(out, "canary.json", 3, 32, "unknown key \"timout\" (did you mean \"timeout\"?)");
	has_diag(out, "canary.json", 4, 3, "unknown key \"chanels\" (did you mean \"channels\"?)");
	has_diag(out, "probes.d/a.json", 1, 31, "expected a duration");
	has_diag(out, "probes.d/b.json", 1, 3, "expected a string");
	has_diag(out, "probes.d/d.json", 1, 1, "a probe named \"zed\" is already defined in");
	free(out);
}
END_TEST

START_TEST(channels_and_alert_settings_are_checked_with_positions)
{
	struct cfg *c;
	char sub[4096];

	setenv("CANARY_TEST_HOOK", "https://hooks.example.org/services/T/B/s3cr3t-hook", 1);
	t_writef(dir, "canary.json",
		 "{ \"state_dir\": \"state\",\n"
		 "  \"defaults\": { \"alert\": { \"after\": 0, \"channels\": [\"slak\"] } },\n"
		 "  \"channels\": {\n"
		 "    \"slack\": { \"type\": \"slack\", \"webhok_url\": \"${env:CANARY_TEST_HOOK}\" },\n"
		 "    \"bad\": { \"type\": \"smoke\" } } }\n");
	snprintf(sub, sizeof(sub), "%s/probes.d", dir);
	ck_assert_int_eq(mkdir(sub, 0755), 0);
	t_writef(dir, "probes.d/a.json", "{ \"url\": \"http://127.0.0.1/\",\n"
					 "  \"alert\": { \"channels\": [\"nope\"], \"flap_window\": \"x\" } }\n");
	char *out = load_main(&c);
	ck_assert_ptr_null(c);
	has_diag(out, "canary.json", 2, 28, "\"after\" must be a whole number from 1 to 1000");
	has_diag(out, "canary.json", 2, 53, "no channel named \"slak\" in \"channels\"");
	has_diag(out, "canary.json", 4, 5, "\"webhook_url\" is required");
	has_diag(out, "canary.json", 4, 33, "unknown key \"webhok_url\" in a slack channel (did you mean \"webhook_url\"?)");
	has_diag(out, "canary.json", 5, 14, "unknown channel type \"smoke\"");
	has_diag(out, "probes.d/a.json", 2, 27, "no channel named \"nope\" in \"channels\"");
	has_diag(out, "probes.d/a.json", 2, 36, "\"flap_window\" must be a duration");
	/* The secret is resolved but never quoted. */
	ck_assert_ptr_null(strstr(out, "s3cr3t-hook"));
	free(out);

	t_writef(dir, "canary.json",
		 "{ \"state_dir\": \"state\",\n"
		 "  \"defaults\": { \"alert\": { \"after\": 3, \"remind_every\": \"1h\", \"channels\": [\"slack\"] } },\n"
		 "  \"channels\": { \"slack\": { \"type\": \"slack\", \"webhook_url\": \"${env:CANARY_TEST_HOOK}\" },\n"
		 "                \"run\": { \"type\": \"exec\", \"command\": [\"/bin/echo\", \"${env:CANARY_TEST_HOOK}\"] } } }\n");
	t_writef(dir, "probes.d/a.json", "{ \"url\": \"http://127.0.0.1/\", \"alert\": { \"recover_after\": 2 } }\n");
	out = load_main(&c);
	ck_assert_msg(c != NULL, "%s", out);
	ck_assert_int_eq(c->alert.after, 3);
	ck_assert_int_eq(c->alert.remind_every_ms, 3600000);
	ck_assert_int_eq(c->nchannel_secrets, 2);
	ck_assert_str_eq(json_string_value(json_array_get(json_object_get(json_object_get(c->channels, "run"),
									    "command"), 1)),
			 "https://hooks.example.org/services/T/B/s3cr3t-hook");
	ck_assert_str_eq(c->channel_secrets[0], "https://hooks.example.org/services/T/B/s3cr3t-hook");
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(c->channels, "slack"), "webhook_url")),
			 "https://hooks.example.org/services/T/B/s3cr3t-hook");
	struct alert_policy pol;
	ck_assert_int_eq(alert_policy_parse(json_object_get(c->probes[0]->raw, "alert"), &c->alert, &pol, NULL, NULL), 0);
	ck_assert_int_eq(pol.after, 3);
	ck_assert_int_eq(pol.recover_after, 2);
	ck_assert_int_eq(pol.nchannels, 1);
	alert_policy_clear(&pol);
	cfg_free(c);
	free(out);
	unsetenv("CANARY_TEST_HOOK");
}
END_TEST

START_TEST(main_config_applies_defaults_and_paths)
{
	struct cfg *c;
	char sub[4096];

	t_writef(dir, "canary.json",
		 "{ \"state_dir\": \"state\", \"probes_dir\": \"p\", \"defaults\": { \"every\": \"5s\", "
		 "\"timeout\": \"2s\" }, \"channels\": {} }\n");
	snprintf(sub, sizeof(sub), "%s/p", dir);
	ck_assert_int_eq(mkdir(sub, 0755), 0);
	t_writef(dir, "p/zeta.json", "{ \"url\": \"http://127.0.0.1/\" }\n");
	t_writef(dir, "p/alpha.json", "{ \"url\": \"http://127.0.0.1/\", \"every\": \"1m\" }\n");
	t_writef(dir, "p/.hidden.json", "{ broken\n");
	char *out = load_main(&c);
	ck_assert_msg(c != NULL, "%s", out);
	ck_assert_int_eq(c->nprobes, 2);
	ck_assert_str_eq(c->probes[0]->name, "alpha");
	ck_assert_int_eq(c->probes[0]->every_ms, 60000);
	ck_assert_int_eq(c->probes[1]->every_ms, 5000);
	ck_assert_int_eq(c->probes[1]->timeout_ms, 2000);
	snprintf(sub, sizeof(sub), "%s/state/canary.db", dir);
	ck_assert_str_eq(c->db_path, sub);
	ck_assert_ptr_eq(cfg_find_probe(c, "zeta"), c->probes[1]);
	ck_assert_ptr_null(cfg_find_probe(c, "nope"));
	cfg_free(c);
	free(out);
}
END_TEST

START_TEST(missing_probes_dir_is_reported)
{
	struct cfg *c;

	t_writef(dir, "canary.json", "{ \"state_dir\": \"s\",\n  \"probes_dir\": \"nowhere\" }\n");
	char *out = load_main(&c);
	ck_assert_ptr_null(c);
	has_diag(out, "canary.json", 2, 3, "cannot read probes_dir");
	free(out);
}
END_TEST

START_TEST(control_socket_and_retention_keys)
{
	struct cfg *c;
	char want[4096];

	snprintf(want, sizeof(want), "%s/p", dir);
	ck_assert_int_eq(mkdir(want, 0755), 0);

	t_writef(dir, "canary.json", "{ \"probes_dir\": \"p\", \"control_socket\": \"run/ctl.sock\",\n"
				     "  \"retention\": { \"raw\": \"7d\", \"hourly\": \"90d\" } }\n");
	char *out = load_main(&c);
	ck_assert_msg(c != NULL, "%s", out);
	snprintf(want, sizeof(want), "%s/run/ctl.sock", dir);
	ck_assert_str_eq(c->control_socket, want);
	ck_assert_int_eq(c->retention_raw_ms, 7LL * 86400000);
	ck_assert_int_eq(c->retention_hourly_ms, 90LL * 86400000);
	cfg_free(c);
	free(out);

	/* The defaults. */
	t_writef(dir, "canary.json", "{ \"probes_dir\": \"p\" }\n");
	out = load_main(&c);
	ck_assert_msg(c != NULL, "%s", out);
	ck_assert_str_eq(c->control_socket, CFG_DEFAULT_SOCKET);
	ck_assert_int_eq(c->retention_raw_ms, 30LL * 86400000);
	ck_assert_int_eq(c->retention_hourly_ms, 400LL * 86400000);
	cfg_free(c);
	free(out);

	/* Bad values, each at its key. */
	out = refused_main("{ \"probes_dir\": \"p\",\n  \"retention\": { \"raw\": \"10m\",\n"
			   "    \"hourly\": \"1x\", \"daily\": 3 } }\n");
	has_diag(out, "canary.json", 2, 18, "at least 1h");
	has_diag(out, "canary.json", 3, 5, "hourly");
	has_diag(out, "canary.json", 3, 21, "daily");
	free(out);
	out = refused_main("{ \"probes_dir\": \"p\", \"retention\": { \"raw\": \"500d\" } }\n");
	has_diag(out, "canary.json", 1, 22, "at least as long as");
	free(out);
}
END_TEST

/* Loads a main file with storage (a member, or "") and expects max_pending want. */
static void expect_max_pending(const char *storage, int64_t want)
{
	struct cfg *c;

	t_writef(dir, "canary.json", "{ \"probes_dir\": \"p\"%s }\n", storage);
	char *out = load_main(&c);
	ck_assert_msg(c != NULL, "%s", out);
	ck_assert_int_eq(c->storage_max_pending, want);
	cfg_free(c);
	free(out);
}

START_TEST(storage_max_pending_key)
{
	static const char *const bad[] = { "0", "-1", "\"5\"", "10000001", "2.5", "true", "null" };
	struct cfg *c;
	char sub[4096], *out;

	snprintf(sub, sizeof(sub), "%s/p", dir);
	ck_assert_int_eq(mkdir(sub, 0755), 0);
	expect_max_pending(", \"storage\": { \"max_pending\": 5 }", 5);
	/* The bounds are included; absent (or an empty object) is the default. */
	expect_max_pending(", \"storage\": { \"max_pending\": 10000000 }", 10000000);
	expect_max_pending(", \"storage\": {}", 100000);
	expect_max_pending("", 100000);

	/* 0 means the default to storage, but is no value to write: refused, as are the rest. */
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		t_writef(dir, "canary.json", "{ \"probes_dir\": \"p\",\n  \"storage\": { \"max_pending\": %s } }\n", bad[i]);
		out = load_main(&c);
		ck_assert_msg(c == NULL, "max_pending %s accepted", bad[i]);
		has_diag(out, "canary.json", 2, 16, "\"max_pending\" must be a whole number of results from 1 to 10000000");
		free(out);
	}

	/* Unknown keys inside, with a suggestion; not an object. */
	out = refused_main("{ \"probes_dir\": \"p\",\n  \"storage\": { \"max_pending\": 5, \"max_pendng\": 3,\n"
			   "    \"path\": \"x\" } }\n");
	has_diag(out, "canary.json", 2, 34, "unknown key \"max_pendng\" (did you mean \"max_pending\"?)");
	has_diag(out, "canary.json", 3, 5, "unknown key \"path\"");
	free(out);
	out = refused_main("{ \"probes_dir\": \"p\",\n  \"storage\": 5 }\n");
	has_diag(out, "canary.json", 2, 3, "\"storage\" must be an object");
	free(out);
	out = refused_main("{ \"probes_dir\": \"p\",\n  \"storag\": {} }\n");
	has_diag(out, "canary.json", 2, 3, "unknown key \"storag\" (did you mean \"storage\"?)");
	free(out);
}
END_TEST

/* every and timeout: at most a year, in probe files and in the main file's defaults. */
START_TEST(every_and_timeout_have_an_upper_limit)
{
	struct probe_def *def;
	struct cfg *c;
	char sub[4096];

	t_writef(dir, "year.json", "{ \"url\": \"http://127.0.0.1/\", \"every\": \"365d\", \"timeout\": \"8760h\" }\n");
	char *out = load_probe("year.json", &def);
	ck_assert_msg(def != NULL, "%s", out);
	ck_assert_int_eq(def->every_ms, 365LL * 86400000);
	ck_assert_int_eq(def->timeout_ms, 365LL * 86400000);
	probe_def_unref(def);
	free(out);

	t_writef(dir, "long.json",
		 "{ \"url\": \"http://127.0.0.1/\",\n"
		 "  \"every\": \"366d\",\n"
		 "  \"timeout\": \"31536000001ms\" }\n");
	out = load_probe("long.json", &def);
	ck_assert_ptr_null(def);
	has_diag(out, "long.json", 2, 3, "\"every\" must be at most 365d");
	has_diag(out, "long.json", 3, 3, "\"timeout\" must be at most 365d");
	free(out);
	/* Far past the limit, where the scheduler's arithmetic would once have wrapped. */
	t_writef(dir, "huge.json", "{ \"url\": \"http://127.0.0.1/\",\n  \"every\": \"18446744073710ms\" }\n");
	out = load_probe("huge.json", &def);
	ck_assert_ptr_null(def);
	has_diag(out, "huge.json", 2, 3, "\"every\" must be at most 365d");
	free(out);

	snprintf(sub, sizeof(sub), "%s/p", dir);
	ck_assert_int_eq(mkdir(sub, 0755), 0);
	t_writef(dir, "canary.json", "{ \"probes_dir\": \"p\", \"defaults\": { \"every\": \"365d\", \"timeout\": \"365d\" } }\n");
	out = load_main(&c);
	ck_assert_msg(c != NULL, "%s", out);
	ck_assert_int_eq(c->every_ms, 365LL * 86400000);
	ck_assert_int_eq(c->timeout_ms, 365LL * 86400000);
	cfg_free(c);
	free(out);
	out = refused_main("{ \"probes_dir\": \"p\",\n  \"defaults\": { \"every\": \"8761h\",\n"
			   "    \"timeout\": \"400d\" } }\n");
	has_diag(out, "canary.json", 2, 17, "\"every\" must be at most 365d");
	has_diag(out, "canary.json", 3, 5, "\"timeout\" must be at most 365d");
	free(out);
	/* The defaults' every has the probe files' floor too: probes inherit it unchecked. */
	out = refused_main("{ \"probes_dir\": \"p\",\n  \"defaults\": { \"every\": \"50ms\" } }\n");
	has_diag(out, "canary.json", 2, 17, "\"every\" must be at least 100ms");
	free(out);
}
END_TEST

/* Found by fuzzing: a NUL byte once sent the position scan into an endless loop that ate memory. */
START_TEST(nul_byte_is_an_error_at_its_position)
{
	struct probe_def *d = NULL;
	struct cfg_diags diags = { 0 };
	static const char text[] = "{ \"url\": \"http://127.0.0.1/\",\n  \"expect\": [3\0] }";

	ck_assert_int_lt(cfg_parse_probe("p.json", text, sizeof(text) - 1, NULL, &d, &diags), 0);
	ck_assert_ptr_null(d);
	ck_assert_uint_eq(diags.n, 1);
	ck_assert_int_eq(diags.v[0].line, 2);
	ck_assert_int_eq(diags.v[0].col, 15);
	ck_assert_ptr_nonnull(strstr(diags.v[0].msg, "NUL byte"));
	cfg_diags_free(&diags);
}
END_TEST

START_TEST(paused_key_and_probe_from_text)
{
	struct probe_def *d = NULL;
	struct cfg_diags diags = { 0 };
	static const char good[] = "{ \"url\": \"http://127.0.0.1/\", \"paused\": true }";
	static const char bad[] = "{ \"name\": \"web\", \"url\": \"http://127.0.0.1/\",\n  \"paused\": \"yes\" }";

	t_writef(dir, "p.json", "%s\n", good);
	char *out = load_probe("p.json", &d);
	ck_assert_msg(d != NULL, "%s", out);
	ck_assert(d->paused);
	probe_def_unref(d);
	free(out);

	/* From text: named after the display name, diagnostics against it. */
	ck_assert_int_eq(cfg_parse_probe("<stdin>/web.json", good, strlen(good), NULL, &d, &diags), 0);
	ck_assert_str_eq(d->name, "web");
	ck_assert_str_eq(d->file, "<stdin>/web.json");
	probe_def_unref(d);
	ck_assert_int_lt(cfg_parse_probe("<stdin>", bad, strlen(bad), NULL, &d, &diags), 0);
	ck_assert_uint_eq(diags.n, 1);
	ck_assert_str_eq(diags.v[0].file, "<stdin>");
	ck_assert_int_eq(diags.v[0].line, 2);
	ck_assert_int_eq(diags.v[0].col, 3);
	ck_assert_ptr_nonnull(strstr(diags.v[0].msg, "paused"));
	cfg_diags_free(&diags);
	ck_assert_int_lt(cfg_parse_probe("x.json", "{ nope", 6, NULL, &d, &diags), 0);
	ck_assert_uint_eq(diags.n, 1);
	ck_assert_int_eq(diags.v[0].line, 1);
	cfg_diags_free(&diags);
}
END_TEST

Suite *config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("probe files");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, semantic_errors_point_at_keys_and_columns);
	tcase_add_test(tc, syntax_error_uses_jansson_position);
	tcase_add_test(tc, steps_errors);
	tcase_add_test(tc, missing_env_secret_is_an_error_at_its_position);
	tcase_add_test(tc, valid_flow_loads);
	tcase_add_test(tc, deep_nesting_is_indexed_without_hanging);
	tcase_add_test(tc, single_step_probe_is_named_after_its_file);
	tcase_add_test(tc, paused_key_and_probe_from_text);
	tcase_add_test(tc, nul_byte_is_an_error_at_its_position);
	suite_add_tcase(s, tc);
	tc = tcase_create("main file");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, main_config_collects_errors_from_every_file);
	tcase_add_test(tc, main_config_applies_defaults_and_paths);
	tcase_add_test(tc, channels_and_alert_settings_are_checked_with_positions);
	tcase_add_test(tc, missing_probes_dir_is_reported);
	tcase_add_test(tc, control_socket_and_retention_keys);
	tcase_add_test(tc, storage_max_pending_key);
	tcase_add_test(tc, every_and_timeout_have_an_upper_limit);
	suite_add_tcase(s, tc);
	return s;
}
