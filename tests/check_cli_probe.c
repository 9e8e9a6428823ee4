/* check_cli_probe.c - probe add/list/show/rm/pause/resume and run-now, on the real binary. */
#include "tests/tests.h"
#include "cli/cli_int.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

/* Long enough to be unmistakable when looked for in files and outputs. */
#define TOKEN "Tok3n-v4lue-never-written"

static pid_t api_pid;
static int port;
static char *dir;
static char cfgpath[4096], probes[4096], sock[4096], dbpath[4096];
static pid_t daemon_pid, fake_pid;
static int fake_delay_ms; /* how long the stand-in daemon takes over each answer, as a run would */
static int daemon_err = -1;
static char *out, *err; /* what the last RUN printed; the next RUN and teardown free them */

/* Runs canary with the args (up to 30) into out and err; returns its exit status. */
#define RUN(...) (free(out), free(err), out = err = NULL, t_canary_run(&out, &err, __VA_ARGS__, NULL))

static void start_api(void)
{
	api_pid = t_fakeapi_start(&port);
}

static void stop_api(void)
{
	t_fakeapi_stop(api_pid);
}

/* A config with one channel, a 200 ms schedule and one probe, health; the control socket in the temp dir. */
static void setup(void)
{
	dir = t_tmpdir();
	snprintf(cfgpath, sizeof(cfgpath), "%s/canary.json", dir);
	snprintf(probes, sizeof(probes), "%s/probes.d", dir);
	snprintf(sock, sizeof(sock), "%s/ctl.sock", dir);
	snprintf(dbpath, sizeof(dbpath), "%s/state/canary.db", dir);
	t_writef(dir, "canary.json",
		 "{ \"state_dir\": \"state\", \"probes_dir\": \"probes.d\", \"control_socket\": \"ctl.sock\",\n"
		 "  \"defaults\": { \"every\": \"200ms\", \"timeout\": \"2s\" },\n"
		 "  \"channels\": { \"ops\": { \"type\": \"webhook\", \"url\": \"http://127.0.0.1:%d/hook/ops\" } } }\n",
		 port);
	ck_assert_int_eq(mkdir(probes, 0755), 0);
	t_writef(dir, "probes.d/health.json", "{ \"url\": \"http://127.0.0.1:%d/health\", \"tags\": [\"api\"] }\n", port);
	setenv("CANARY_TEST_TOKEN", TOKEN, 1);
	daemon_pid = fake_pid = 0;
	daemon_err = -1;
	fake_delay_ms = 0;
}

static void teardown(void)
{
	if (daemon_pid > 0) {
		kill(daemon_pid, SIGTERM);
		if (t_wait(daemon_pid, 5000) < 0)
			t_kill(daemon_pid);
	}
	if (daemon_err >= 0)
		close(daemon_err);
	t_kill(fake_pid);
	free(out);
	free(err);
	out = err = NULL;
	t_rmrf(dir);
	free(dir);
}

/* The path of name in the temp dir, into a static buffer (one at a time). */
static const char *at(const char *name)
{
	static char buf[4096];

	snprintf(buf, sizeof(buf), "%s/%s", dir, name);
	return buf;
}

static bool exists(const char *name)
{
	struct stat st;

	return stat(at(name), &st) == 0;
}

/*
 * Lends our stdin to the next child: a pipe holding input (small: it must fit
 * in the pipe) and then its end. Returns what stdin_restore puts back.
 */
static int stdin_from(const char *input)
{
	int p[2], saved = dup(STDIN_FILENO);

	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(write(p[1], input, strlen(input)), (ssize_t)strlen(input));
	close(p[1]);
	dup2(p[0], STDIN_FILENO);
	close(p[0]);
	return saved;
}

static void stdin_restore(int saved)
{
	dup2(saved, STDIN_FILENO);
	close(saved);
}

/* Asserts that hay holds needle, printing both otherwise. */
#define ASSERT_HAS(hay, needle) ck_assert_msg(strstr((hay), (needle)) != NULL, "\"%s\" not in:\n%s", (needle), (hay))
#define ASSERT_LACKS(hay, needle) ck_assert_msg(strstr((hay), (needle)) == NULL, "\"%s\" in:\n%s", (needle), (hay))

/* The entries of probes.d, sorted, as one "a b c" string (new). */
static char *listing(void)
{
	struct dirent **v = NULL;
	int n = scandir(probes, &v, NULL, alphasort);
	char *s = calloc(1, 4096);

	for (int i = 0; i < n; i++) {
		if (strcmp(v[i]->d_name, ".") != 0 && strcmp(v[i]->d_name, "..") != 0)
			snprintf(s + strlen(s), 4096 - strlen(s), "%s%s", *s ? " " : "", v[i]->d_name);
		free(v[i]);
	}
	free(v);
	return s;
}

/* ------------------------------------------------------------------ add */

START_TEST(add_from_flags_writes_pretty_json_keeping_references)
{
	char url[128], *file, expected[2048];
	int st;

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/echo", port);
	st = RUN("probe", "add", "-c", cfgpath, "web", "--url", url, "--method", "POST", "--header",
		 "Authorization: Bearer ${env:CANARY_TEST_TOKEN}", "--header", "Accept:application/json", "--json-body",
		 "{\"a\": 1, \"b\": [true, null]}", "--expect", "status == 200", "--expect", "latency < 2s", "--every",
		 "5s", "--timeout", "2s", "--tag", "api", "--tag", "edge", "--channel", "ops");
	ck_assert_msg(st == 0, "status %d\n%s%s", st, out, err);
	ASSERT_HAS(out, "probe web added; no daemon is running (no socket at ");
	ASSERT_HAS(out, "it will be used at the next start");
	file = t_slurp(at("probes.d/web.json"), NULL);
	ck_assert_ptr_nonnull(file);
	snprintf(expected, sizeof(expected),
		 "{\n"
		 "  \"name\": \"web\",\n"
		 "  \"url\": \"%s\",\n"
		 "  \"method\": \"POST\",\n"
		 "  \"headers\": {\n"
		 "    \"Authorization\": \"Bearer ${env:CANARY_TEST_TOKEN}\",\n"
		 "    \"Accept\": \"application/json\"\n"
		 "  },\n"
		 "  \"json\": {\n"
		 "    \"a\": 1,\n"
		 "    \"b\": [\n"
		 "      true,\n"
		 "      null\n"
		 "    ]\n"
		 "  },\n"
		 "  \"expect\": [\n"
		 "    \"status == 200\",\n"
		 "    \"latency < 2s\"\n"
		 "  ],\n"
		 "  \"every\": \"5s\",\n"
		 "  \"timeout\": \"2s\",\n"
		 "  \"tags\": [\n"
		 "    \"api\",\n"
		 "    \"edge\"\n"
		 "  ],\n"
		 "  \"alert\": {\n"
		 "    \"channels\": [\n"
		 "      \"ops\"\n"
		 "    ]\n"
		 "  }\n"
		 "}\n",
		 url);
	ck_assert_str_eq(file, expected);
	ASSERT_LACKS(out, TOKEN);
	ASSERT_LACKS(err, TOKEN);
	struct stat sb;
	ck_assert_int_eq(stat(at("probes.d/web.json"), &sb), 0);
	ck_assert_int_eq(sb.st_mode & 0777, 0644);
	free(file);
	/* What it wrote is what `config check` accepts. */
	st = RUN("config", "check", "-c", cfgpath);
	ck_assert_msg(st == 0, "%s%s", out, err);
}
END_TEST

/*
 * The daemon, not this shell, resolves secrets (its environment, its
 * credentials): one this shell lacks is a warning with its position, and the
 * probe is written.
 */
START_TEST(add_warns_of_a_secret_this_shell_lacks)
{
	unsetenv("CANARY_TEST_TOKEN");
	int st = RUN("probe", "add", "-c", cfgpath, "web", "--url", "http://127.0.0.1:9/", "--header",
		     "X-Key: ${env:CANARY_TEST_TOKEN}");
	ck_assert_msg(st == 0, "%s%s", out, err);
	ASSERT_HAS(err, "canary: warning: this shell cannot resolve every secret of the probe");
	ASSERT_HAS(err, "/probes.d/web.json:5:");
	ASSERT_HAS(err, "environment variable CANARY_TEST_TOKEN is not set");
	ASSERT_HAS(out, "probe web added; no daemon is running");
	ck_assert(exists("probes.d/web.json"));
	/* Another probe's missing secret does not stop an add either. */
	st = RUN("probe", "add", "-c", cfgpath, "web2", "--url", "http://127.0.0.1:9/");
	ck_assert_msg(st == 0, "%s%s", out, err);
	ASSERT_LACKS(err, "warning");
}
END_TEST

/* Each option's value is checked on its own, with the place of the mistake; nothing is written. */
START_TEST(add_refuses_bad_option_values_precisely)
{
	static const struct {
		const char *opt, *value, *says;
	} cases[] = {
		{ "--expect", "status =< 200", "canary: --expect \"status =< 200\": column 8: " },
		{ "--json-body", "{\"a\": 1,}", "canary: --json-body is not JSON: column 9: " },
		{ "--header", "Accept text/html", "canary: --header \"Accept text/html\": no ':' between" },
		{ "--every", "often", "canary: --every \"often\": not a duration" },
		{ "--channel", "opz", "web.json:" },
		{ "--method", "GE T", "\"method\" must be an HTTP method" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int st = RUN("probe", "add", "-c", cfgpath, "web", "--url", "http://127.0.0.1:9/", cases[i].opt,
			     cases[i].value);
		ck_assert_msg(st == 1, "%s %s: status %d\n%s", cases[i].opt, cases[i].value, st, err);
		ASSERT_HAS(err, cases[i].says);
	}
	char *l = listing();
	ck_assert_str_eq(l, "health.json");
	free(l);
}
END_TEST

static const char flow_text[] =
	"{\n"
	"  \"name\": \"flow\",\n"
	"  \"vars\": { \"base\": \"http://127.0.0.1:%d\", \"key\": \"${env:CANARY_TEST_TOKEN}\" },\n"
	"  \"steps\": [\n"
	"    { \"name\": \"login\", \"method\": \"POST\", \"url\": \"{{base}}/v1/login\",\n"
	"      \"json\": { \"username\": \"u\", \"password\": \"{{key}}\" },\n"
	"      \"extract\": { \"token\": \"json.token\" } },\n"
	"    { \"name\": \"submit\", \"url\": \"{{base}}/echo?t={{token}}\", \"expect\": [\"status == 200\"] }\n"
	"  ]\n"
	"}\n";

START_TEST(add_from_file_takes_a_multi_step_probe)
{
	char *file;

	t_writef(dir, "in.json", flow_text, port);
	int st = RUN("probe", "add", "-c", cfgpath, "flow", "--from", at("in.json"));
	ck_assert_msg(st == 0, "status %d\n%s%s", st, out, err);
	ASSERT_HAS(out, "probe flow added");
	file = t_slurp(at("probes.d/flow.json"), NULL);
	/* Pretty-printed, keys in their order, the reference as written. */
	ASSERT_HAS(file, "{\n  \"name\": \"flow\",\n  \"vars\": {\n    \"base\": ");
	ASSERT_HAS(file, "\"key\": \"${env:CANARY_TEST_TOKEN}\"");
	ASSERT_HAS(file, "\n      \"name\": \"login\",\n");
	ASSERT_LACKS(file, TOKEN);
	free(file);
	st = RUN("probe", "list", "-c", cfgpath);
	ck_assert_int_eq(st, 0);
	ASSERT_HAS(out, "flow    active  200ms       2  -     ");
}
END_TEST

START_TEST(add_from_stdin_takes_a_multi_step_probe)
{
	char text[2048], *file;

	/* No "name": the probe is named on the command line, not after "<stdin>". */
	snprintf(text, sizeof(text), "{\n  \"vars\": { \"base\": \"http://127.0.0.1:%d\" },\n"
				     "  \"steps\": [ { \"url\": \"{{base}}/health\" }, { \"url\": \"{{base}}/echo\" } ] }",
		 port);
	int saved = stdin_from(text);
	int st = RUN("probe", "add", "-c", cfgpath, "flow", "--from", "-");
	stdin_restore(saved);
	ck_assert_msg(st == 0, "status %d\n%s%s", st, out, err);
	file = t_slurp(at("probes.d/flow.json"), NULL);
	snprintf(text, sizeof(text), "{\n  \"vars\": {\n    \"base\": \"http://127.0.0.1:%d\"\n  },\n"
				     "  \"steps\": [\n    {\n      \"url\": \"{{base}}/health\"\n    },\n", port);
	ASSERT_HAS(file, text);
	free(file);
}
END_TEST

START_TEST(add_from_file_reports_positions_in_that_file)
{
	/* Line 4, column 57: the "=<" of the second step's assertion; line 3: a key the loader does not know. */
	t_writef(dir, "bad.json",
		 "{\n"
		 "  \"steps\": [\n"
		 "    { \"url\": \"http://127.0.0.1:9/a\", \"expct\": [] },\n"
		 "    { \"url\": \"http://127.0.0.1:9/b\", \"expect\": [\"status =< 200\"] }\n"
		 "  ]\n"
		 "}\n");
	int st = RUN("probe", "add", "-c", cfgpath, "bad", "--from", at("bad.json"));
	ck_assert_int_eq(st, 1);
	char want[4200];
	snprintf(want, sizeof(want), "%s:3:", at("bad.json"));
	ASSERT_HAS(err, want);
	ASSERT_HAS(err, "expct");
	snprintf(want, sizeof(want), "%s:4:57: unknown operator \"=<\"", at("bad.json"));
	ASSERT_HAS(err, want);
	ck_assert(!exists("probes.d/bad.json"));

	/* Syntax errors too, and from stdin under the name <stdin>. */
	int saved = stdin_from("{\n  \"url\": \"http://127.0.0.1:9/\",\n  \"every\": 5s\n}\n");
	st = RUN("probe", "add", "-c", cfgpath, "bad", "--from", "-");
	stdin_restore(saved);
	ck_assert_int_eq(st, 1);
	ASSERT_HAS(err, "<stdin>:3:");
	ck_assert(!exists("probes.d/bad.json"));
}
END_TEST

START_TEST(add_refuses_a_name_that_does_not_match_or_is_not_a_name)
{
	t_writef(dir, "in.json", "{ \"name\": \"other\", \"url\": \"http://127.0.0.1:9/\" }\n");
	ck_assert_int_eq(RUN("probe", "add", "-c", cfgpath, "web", "--from", at("in.json")), 1);
	ASSERT_HAS(err, "names its probe \"other\", not \"web\"");
	ck_assert_int_eq(RUN("probe", "add", "-c", cfgpath, "../web", "--url", "http://x/"), 1);
	ASSERT_HAS(err, "\"../web\" is not a probe name");
	char *l = listing();
	ck_assert_str_eq(l, "health.json");
	free(l);
}
END_TEST

START_TEST(add_refuses_a_taken_name_unless_replace)
{
	char *file;

	ck_assert_int_eq(RUN("probe", "add", "-c", cfgpath, "health", "--url", "http://127.0.0.1:9/new"), 1);
	ASSERT_HAS(err, "probes.d/health.json already exists (probe \"health\"); --replace overwrites it");
	/* Replaced by what was given: a pause is not carried over, and that is said. */
	ck_assert_int_eq(RUN("probe", "pause", "-c", cfgpath, "health"), 0);
	ck_assert_int_eq(RUN("probe", "add", "-c", cfgpath, "health", "--url", "http://127.0.0.1:9/new", "--replace"), 0);
	ASSERT_HAS(out, "probe health replaced; no daemon is running");
	ASSERT_HAS(err, "canary: note: health was paused and its new definition is not");
	file = t_slurp(at("probes.d/health.json"), NULL);
	ASSERT_HAS(file, "http://127.0.0.1:9/new");
	free(file);
	/* A name another file defines is taken, --replace or not. */
	t_writef(dir, "probes.d/legacy.json", "{ \"name\": \"web\", \"url\": \"http://127.0.0.1:9/\" }\n");
	ck_assert_int_eq(RUN("probe", "add", "-c", cfgpath, "web", "--url", "http://127.0.0.1:9/", "--replace"), 1);
	ASSERT_HAS(err, "probe \"web\" is already defined in ");
	ASSERT_HAS(err, "legacy.json");
	ck_assert(!exists("probes.d/web.json"));
}
END_TEST

/* Waits until pid blocks reading its stdin (read(0, ...) in /proc/PID/syscall); false after max_ms. */
static bool reading_stdin(pid_t pid, int max_ms)
{
	char path[64], *text;

	snprintf(path, sizeof(path), "/proc/%d/syscall", (int)pid);
	for (int waited = 0; waited <= max_ms; waited += 5) {
		text = t_slurp(path, NULL);
		bool yes = text && strncmp(text, "0 0x0 ", 6) == 0;
		free(text);
		if (yes)
			return true;
		uv_sleep(5);
	}
	return false;
}

START_TEST(add_killed_while_reading_leaves_nothing)
{
	char *argv[] = { (char *)t_canary_bin(), "probe", "add", "-c", cfgpath, "half", "--from", "-", NULL };
	int p[2], saved = dup(STDIN_FILENO);

	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	dup2(p[0], STDIN_FILENO);
	pid_t pid = t_spawn(argv, NULL, NULL, NULL);
	stdin_restore(saved);
	close(p[0]);
	const char *half = "{ \"url\": \"http://127.0.0.1:9/\",\n  \"expect\": [\"status == 200\"],\n";
	ck_assert_int_eq(write(p[1], half, strlen(half)), (ssize_t)strlen(half));
	ck_assert_msg(reading_stdin(pid, 5000), "canary never blocked reading its stdin");
	kill(pid, SIGKILL);
	ck_assert_int_eq(t_wait(pid, 5000), 128 + SIGKILL);
	close(p[1]);
	/* Not the file, nor a temp file, nor anything else the loader could pick up. */
	char *l = listing();
	ck_assert_str_eq(l, "health.json");
	free(l);
}
END_TEST

/* A value a JSON file cannot hold is refused, never dropped or changed on the way to the file. */
START_TEST(add_refuses_values_that_are_not_utf8)
{
	static const char *const cases[][2] = {
		{ "--tag", "caf\xe9" },
		{ "--header", "X-Where: caf\xe9" },
		{ "--description", "caf\xe9" },
		{ "--url", "http://127.0.0.1:9/caf\xe9" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int st = RUN("probe", "add", "-c", cfgpath, "web", "--url", "http://127.0.0.1:9/", cases[i][0],
			     cases[i][1]);
		ck_assert_msg(st == 1, "%s: status %d\n%s%s", cases[i][0], st, out, err);
		char want[128];
		snprintf(want, sizeof(want), "canary: probe add: the value of %s is not UTF-8 text\n", cases[i][0]);
		ck_assert_str_eq(err, want);
	}
	char *l = listing();
	ck_assert_str_eq(l, "health.json");
	free(l);
}
END_TEST

START_TEST(add_usage_errors_exit_2)
{
	ck_assert_int_eq(RUN("probe", "add", "-c", cfgpath, "web"), 2);
	ASSERT_HAS(err, "--url URL (a single-step probe) or --from FILE");
	ASSERT_HAS(err, "usage: canary probe add");
	ck_assert_int_eq(RUN("probe", "add", "-c", cfgpath, "web", "--from", "-", "--url", "http://x/"), 2);
	ck_assert_int_eq(RUN("probe", "add", "-c", cfgpath, "--url", "http://x/"), 2);
	ck_assert_int_eq(RUN("probe", "frobnicate"), 2);
	ASSERT_HAS(err, "unknown subcommand \"frobnicate\"");
}
END_TEST

/* ------------------------------------------------------------------ list, show, rm, pause, resume */

START_TEST(list_shows_every_probe_as_text_and_json)
{
	t_writef(dir, "probes.d/flow.json", "{ \"description\": \"two steps\", \"every\": \"1m\", \"tags\": [\"a\", \"b\"],\n"
					    "  \"paused\": true, \"steps\": [ { \"url\": \"http://127.0.0.1:9/\" },\n"
					    "  { \"url\": \"http://127.0.0.1:9/x\" } ] }\n");
	ck_assert_int_eq(RUN("probe", "list", "-c", cfgpath), 0);
	char want[9000];
	snprintf(want, sizeof(want),
		 "NAME    STATE   EVERY   STEPS  TAGS  FILE\n"
		 "flow    paused  1m          2  a,b   %s/flow.json\n"
		 "health  active  200ms       1  api   %s/health.json\n", probes, probes);
	ck_assert_str_eq(out, want);
	ck_assert_int_eq(RUN("probe", "list", "--json", "-c", cfgpath), 0);
	json_t *j = t_json(out), *f = json_array_get(j, 0);
	ck_assert_int_eq(json_array_size(j), 2);
	ck_assert_str_eq(json_string_value(json_object_get(f, "name")), "flow");
	ck_assert(json_is_true(json_object_get(f, "paused")));
	ck_assert_int_eq(json_integer_value(json_object_get(f, "every_ms")), 60000);
	ck_assert_int_eq(json_integer_value(json_object_get(f, "timeout_ms")), 2000);
	ck_assert_int_eq(json_integer_value(json_object_get(f, "steps")), 2);
	ck_assert_str_eq(json_string_value(json_array_get(json_object_get(f, "tags"), 1)), "b");
	ck_assert_str_eq(json_string_value(json_object_get(f, "description")), "two steps");
	ASSERT_HAS(json_string_value(json_object_get(f, "file")), "/probes.d/flow.json");
	json_decref(j);
}
END_TEST

START_TEST(show_prints_the_file_with_references_and_the_state)
{
	t_writef(dir, "probes.d/web.json", "{ \"url\": \"http://127.0.0.1:9/\",\n  \"headers\": { \"X-Key\": \"${env:CANARY_TEST_TOKEN}\" } }\n");
	ck_assert_int_eq(RUN("probe", "show", "-c", cfgpath, "web"), 0);
	ASSERT_HAS(out, "probe web\n");
	ASSERT_HAS(out, "  state:    active\n");
	ASSERT_HAS(out, "  schedule: every 200ms, timeout 2s, 1 step\n");
	ASSERT_HAS(out, "  last run: none recorded\n");
	ASSERT_HAS(out, "  daemon:   not running (");
	ASSERT_HAS(out, "\"X-Key\": \"${env:CANARY_TEST_TOKEN}\" } }\n");
	ASSERT_LACKS(out, TOKEN);
	ASSERT_LACKS(err, TOKEN);
	ck_assert_int_eq(RUN("probe", "show", "--json", "-c", cfgpath, "web"), 0);
	json_t *j = t_json(out);
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(json_object_get(j, "definition"), "headers"), "X-Key")),
			 "${env:CANARY_TEST_TOKEN}");
	ck_assert_str_eq(json_string_value(json_object_get(j, "state")), "unknown");
	ck_assert(json_is_false(json_object_get(j, "paused")));
	ck_assert(json_is_null(json_object_get(j, "daemon")));
	ck_assert(json_is_null(json_object_get(j, "last_run")));
	ASSERT_LACKS(out, TOKEN);
	json_decref(j);
	/* An unknown name is refused with the nearest one. */
	ck_assert_int_eq(RUN("probe", "show", "-c", cfgpath, "healht"), 1);
	ASSERT_HAS(err, "no probe named \"healht\"");
	ASSERT_HAS(err, "did you mean \"health\"?");
}
END_TEST

START_TEST(rm_deletes_the_file_that_defines_the_probe)
{
	t_writef(dir, "probes.d/legacy.json", "{ \"name\": \"web\", \"url\": \"http://127.0.0.1:9/\" }\n");
	ck_assert_int_eq(RUN("probe", "rm", "-c", cfgpath, "web"), 0);
	ASSERT_HAS(out, "probe web removed; no daemon is running");
	ck_assert(!exists("probes.d/legacy.json"));
	ck_assert_int_eq(RUN("probe", "rm", "-c", cfgpath, "helth"), 1);
	ASSERT_HAS(err, "did you mean \"health\"?");
	ck_assert(exists("probes.d/health.json"));
}
END_TEST

START_TEST(pause_and_resume_edit_the_file_and_say_so)
{
	char *file;

	ck_assert_int_eq(RUN("probe", "pause", "-c", cfgpath, "health"), 0);
	ASSERT_HAS(out, "probe health paused; no daemon is running");
	file = t_slurp(at("probes.d/health.json"), NULL);
	char want[512];
	snprintf(want, sizeof(want), "{\n  \"url\": \"http://127.0.0.1:%d/health\",\n  \"tags\": [\n    \"api\"\n  ],\n"
				     "  \"paused\": true\n}\n", port);
	ck_assert_str_eq(file, want);
	free(file);
	ck_assert_int_eq(RUN("probe", "list", "-c", cfgpath), 0);
	ASSERT_HAS(out, "health  paused");
	ck_assert_int_eq(RUN("probe", "pause", "-c", cfgpath, "health"), 0);
	ck_assert_str_eq(out, "probe health is already paused\n");
	ck_assert_int_eq(RUN("probe", "resume", "-c", cfgpath, "health"), 0);
	ASSERT_HAS(out, "probe health resumed; no daemon is running");
	file = t_slurp(at("probes.d/health.json"), NULL);
	ASSERT_LACKS(file, "paused");
	free(file);
	ck_assert_int_eq(RUN("probe", "resume", "-c", cfgpath, "health"), 0);
	ck_assert_str_eq(out, "probe health is not paused\n");
}
END_TEST

START_TEST(help_on_every_subcommand)
{
	static const char *const cmds[][2] = {
		{ "probe", NULL },  { "probe", "add" },	  { "probe", "list" },	 { "probe", "show" },
		{ "probe", "rm" },  { "probe", "pause" }, { "probe", "resume" }, { "run-now", NULL },
	};

	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		char want[64];
		int st = cmds[i][1] ? RUN(cmds[i][0], cmds[i][1], "--help") : RUN(cmds[i][0], "--help");
		ck_assert_msg(st == 0, "%s %s --help: %d", cmds[i][0], cmds[i][1] ? cmds[i][1] : "", st);
		snprintf(want, sizeof(want), "usage: canary %s %s", cmds[i][0], cmds[i][1] ? cmds[i][1] : "");
		ck_assert_msg(strncmp(out, want, strlen(want)) == 0, "%s", out);
		ck_assert_str_eq(err, "");
	}
}
END_TEST

START_TEST(run_now_without_a_daemon_says_so)
{
	ck_assert_int_eq(RUN("run-now", "-c", cfgpath, "health"), 1);
	ASSERT_HAS(err, "canary: run-now: no daemon is running (no socket at ");
	ASSERT_HAS(err, "`canary check -c ");
	ck_assert_str_eq(out, "");
	ck_assert_int_eq(RUN("run-now", "-c", cfgpath, "nope"), 1);
	ASSERT_HAS(err, "no probe named \"nope\"");
}
END_TEST

/* ------------------------------------------------------------------ a stand-in daemon */

/*
 * Stands in for the daemon at sock: answers each connection's first request
 * line with the answer for its cmd (after fake_delay_ms), one connection at
 * a time, until killed. The socket listens before this returns.
 */
static pid_t fake_daemon(const char *reload, const char *run_now, const char *status)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	ck_assert_uint_lt(strlen(sock), sizeof(a.sun_path));
	memcpy(a.sun_path, sock, strlen(sock) + 1);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(listen(fd, 8), 0);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		/* Bounded even if the test dies before its teardown kills it. */
		alarm(30);
		for (;;) {
			char buf[4096] = "";
			size_t len = 0;
			ssize_t n;
			int c = accept(fd, NULL, NULL);
			while (c >= 0 && len < sizeof(buf) - 1 && !strchr(buf, '\n') &&
			       (n = read(c, buf + len, sizeof(buf) - 1 - len)) > 0)
				buf[len += (size_t)n] = '\0';
			const char *ans = strstr(buf, "\"reload\"") ? reload : strstr(buf, "\"run-now\"") ? run_now : status;
			if (fake_delay_ms > 0)
				poll(NULL, 0, fake_delay_ms);
			if (c >= 0)
				dprintf(c, "%s\n", ans);
			close(c);
		}
	}
	close(fd);
	return pid;
}

START_TEST(reload_refused_is_an_error_that_says_what_runs)
{
	fake_pid = fake_daemon("{\"ok\": false, \"error\": \"the new config is invalid\", \"diagnostics\": "
			       "[\"/x/probes.d/other.json:2:3: unknown key\"]}", "{}", "{}");
	ck_assert_int_eq(RUN("probe", "add", "-c", cfgpath, "web", "--url", "http://127.0.0.1:9/"), 1);
	ASSERT_HAS(err, "canary: probe web added in its file, but the daemon refused to reload: the new config is invalid\n"
			"  /x/probes.d/other.json:2:3: unknown key\n"
			"canary: the daemon still runs the config it had");
	ck_assert(exists("probes.d/web.json"));
}
END_TEST

START_TEST(reload_not_permitted_says_how_to_apply)
{
	fake_pid = fake_daemon("{\"ok\": false, \"error\": \"permission denied\"}", "{}", "{}");
	ck_assert_int_eq(RUN("probe", "pause", "-c", cfgpath, "health"), 0);
	ASSERT_HAS(out, "probe health paused; the daemon could not be told (permission denied on ");
	ASSERT_HAS(out, "run `systemctl reload canary` to apply it");
}
END_TEST

START_TEST(run_now_prints_a_joined_result_as_check_does)
{
	fake_pid = fake_daemon("{}",
			       "{\"ok\": true, \"joined\": true, \"result\": {\"probe\": \"health\", \"ok\": false, "
			       "\"class\": \"assertion\", \"error\": \"step \\\"health\\\": expected status == 200, got 503\", "
			       "\"started_ms\": 1, \"duration_ms\": 5.5, \"steps\": [{\"name\": \"health\", \"method\": \"GET\", "
			       "\"url\": \"http://h/health\", \"status\": 503, \"dns_ms\": 0.1, \"connect_ms\": 0.2, \"tls_ms\": 0, "
			       "\"ttfb_ms\": 3, \"total_ms\": 5, \"bytes\": 10, \"class\": \"assertion\", \"error\": \"x\", "
			       "\"checks\": [{\"assertion\": \"status == 200\", \"pass\": false, \"actual\": \"503\"}], "
			       "\"extracted\": {}}]}}",
			       "{}");
	ck_assert_int_eq(RUN("run-now", "-c", cfgpath, "health"), 2);
	ck_assert_str_eq(out, "health (1 step)\n"
			      "[1/1] health: GET http://h/health\n"
			      "      503 in 5.0 ms (dns 0.1, connect 0.2, tls -, ttfb 3.0 ms), 10 bytes\n"
			      "      FAIL status == 200: got 503\n"
			      "FAIL health (assertion): step \"health\": expected status == 200, got 503\n");
	ASSERT_HAS(err, "health was running already: this is that run's result");
}
END_TEST

/*
 * A probe's "timeout" has no upper bound; run-now waits that long plus a
 * grace, which past INT_MAX ms used to wrap negative and give up at once.
 */
START_TEST(run_now_waits_for_a_probe_with_a_long_timeout)
{
	t_writef(dir, "probes.d/slow.json",
		 "{ \"url\": \"http://127.0.0.1:9/\", \"every\": \"30d\", \"timeout\": \"30d\" }\n");
	/* The run takes a moment, as real ones do: the answer is not there when the client first looks. */
	fake_delay_ms = 300;
	fake_pid = fake_daemon("{}",
			       "{\"ok\": true, \"result\": {\"probe\": \"slow\", \"ok\": true, \"started_ms\": 1, "
			       "\"duration_ms\": 2.5, \"steps\": [{\"name\": \"slow\", \"status\": 200, \"dns_ms\": 0, "
			       "\"connect_ms\": 0.5, \"tls_ms\": 0, \"ttfb_ms\": 2, \"total_ms\": 2.5, \"bytes\": 2, "
			       "\"checks\": [], \"extracted\": {}}]}}",
			       "{}");
	int st = RUN("run-now", "-c", cfgpath, "slow");
	ck_assert_msg(st == 0, "status %d\n%s%s", st, out, err);
	/* The daemon's runs are untraced: a step without method and URL says neither. */
	ck_assert_str_eq(out, "slow (1 step)\n"
			      "[1/1] slow\n"
			      "      200 in 2.5 ms (dns 0.0, connect 0.5, tls -, ttfb 2.0 ms), 2 bytes\n"
			      "OK slow: 1 step passed in 2.5 ms\n");
}
END_TEST

START_TEST(show_says_what_the_daemon_knows)
{
	fake_pid = fake_daemon("{}", "{}",
			       "{\"ok\": true, \"pid\": 4242, \"probes\": [{\"name\": \"health\", \"paused\": false, "
			       "\"running\": true, \"every_ms\": 200, \"failing\": 3}]}");
	ck_assert_int_eq(RUN("probe", "show", "-c", cfgpath, "health"), 0);
	ASSERT_HAS(out, "  daemon:   pid 4242: running it now, failing (3 runs in a row)\n");
	ck_assert_int_eq(RUN("probe", "show", "--json", "-c", cfgpath, "health"), 0);
	json_t *j = t_json(out), *d = json_object_get(j, "daemon");
	ck_assert_int_eq(json_integer_value(json_object_get(d, "pid")), 4242);
	ck_assert(json_is_true(json_object_get(d, "loaded")));
	ck_assert(json_is_true(json_object_get(d, "running")));
	ck_assert_int_eq(json_integer_value(json_object_get(d, "failing")), 3);
	json_decref(j);
}
END_TEST

/* ------------------------------------------------------------------ the real daemon */

/* Starts `canary run` on the config and waits until its socket answers. */
static void start_daemon(void)
{
	char *argv[] = { (char *)t_canary_bin(), "run", "-c", cfgpath, NULL };
	json_t *req = json_pack("{s:s}", "cmd", "status"), *a = NULL;
	bool up = false;

	daemon_pid = t_spawn(argv, NULL, NULL, &daemon_err);
	for (int waited = 0; !up && waited < 5000; waited += 10) {
		up = cli_control_call(sock, req, 500, &a) == 0 && json_is_true(json_object_get(a, "ok"));
		json_decref(a);
		a = NULL;
		if (!up)
			uv_sleep(10);
	}
	json_decref(req);
	if (!up) {
		char *log = NULL;
		t_read_until(daemon_err, "\n\n", 1, 100, &log);
		ck_abort_msg("the daemon's socket never answered:\n%s", log ? log : "");
	}
}

/* Runs of probe name recorded so far. */
static int64_t runs_of(const char *name)
{
	char sql[256];
	struct stat st;

	if (stat(dbpath, &st) < 0)
		return 0;
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM runs r JOIN probes p ON p.id = r.probe_id WHERE p.name = '%s'",
		 name);
	return t_db_file_int(dbpath, sql);
}

/* Polls runs_of(name) every 20 ms until it reaches at least n; returns the count at the end (up to max_ms). */
static int64_t wait_runs(const char *name, int64_t n, int max_ms)
{
	int64_t got = runs_of(name);

	for (int waited = 0; got < n && waited < max_ms; waited += 20) {
		uv_sleep(20);
		got = runs_of(name);
	}
	return got;
}

START_TEST(add_with_a_daemon_is_picked_up_and_runs)
{
	char url[128];

	start_daemon();
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/health", port);
	ck_assert_int_eq(RUN("probe", "add", "-c", cfgpath, "fresh", "--url", url, "--every", "100ms"), 0);
	ck_assert_str_eq(out, "probe fresh added; the daemon picked it up\n");
	ck_assert_int_ge(wait_runs("fresh", 1, 1000), 1);

	/* Paused: the runs stop (one in flight may still land) and stay stopped. */
	ck_assert_int_eq(RUN("probe", "pause", "-c", cfgpath, "fresh"), 0);
	ck_assert_str_eq(out, "probe fresh paused; the daemon no longer runs it\n");
	int64_t settled = wait_runs("fresh", INT64_MAX, 300);
	ck_assert_int_eq(wait_runs("fresh", INT64_MAX, 600), settled);
	ck_assert_int_eq(RUN("probe", "show", "-c", cfgpath, "fresh"), 0);
	ASSERT_HAS(out, "  state:    paused (kept, not run)\n");
	ASSERT_HAS(out, ", passed in ");
	ASSERT_HAS(out, "  daemon:   pid ");

	ck_assert_int_eq(RUN("probe", "resume", "-c", cfgpath, "fresh"), 0);
	ck_assert_str_eq(out, "probe fresh resumed; the daemon runs it again\n");
	ck_assert_int_gt(wait_runs("fresh", settled + 1, 1000), settled);

	ck_assert_int_eq(RUN("probe", "rm", "-c", cfgpath, "fresh"), 0);
	ck_assert_str_eq(out, "probe fresh removed; the daemon no longer runs it\n");
}
END_TEST

/* The daemon judges secrets: a probe it cannot load is undone, added or replaced. */
START_TEST(add_refused_by_the_daemon_is_undone)
{
	unsetenv("CANARY_TEST_TOKEN");
	start_daemon();
	setenv("CANARY_TEST_TOKEN", TOKEN, 1);
	ck_assert_int_eq(RUN("probe", "add", "-c", cfgpath, "web", "--url", "http://127.0.0.1:9/", "--header",
			     "X-Key: ${env:CANARY_TEST_TOKEN}"), 1);
	ASSERT_LACKS(err, "warning");
	ASSERT_HAS(err, "the daemon refused to reload");
	ASSERT_HAS(err, "environment variable CANARY_TEST_TOKEN is not set");
	ASSERT_HAS(err, "/probes.d/web.json was removed: nothing changed");
	ASSERT_LACKS(err, TOKEN);
	ck_assert(!exists("probes.d/web.json"));

	/* A replacement is put back as it was, byte for byte. */
	char *before = t_slurp(at("probes.d/health.json"), NULL);
	ck_assert_int_eq(RUN("probe", "add", "--replace", "-c", cfgpath, "health", "--url", "http://127.0.0.1:9/",
			     "--header", "X-Key: ${env:CANARY_TEST_TOKEN}"), 1);
	ASSERT_HAS(err, "/probes.d/health.json was put back as it was: nothing changed");
	char *after = t_slurp(at("probes.d/health.json"), NULL);
	ck_assert_str_eq(after, before);
	free(before);
	free(after);
	unsetenv("CANARY_TEST_TOKEN");
}
END_TEST

START_TEST(run_now_prints_the_result_and_exits_as_check)
{
	t_writef(dir, "probes.d/closed.json", "{ \"url\": \"http://127.0.0.1:%d/\", \"every\": \"1h\" }\n", t_closed_port());
	start_daemon();
	ck_assert_int_eq(RUN("run-now", "-c", cfgpath, "health"), 0);
	ASSERT_HAS(out, "health (1 step)\n[1/1] health");
	ASSERT_HAS(out, "OK health: 1 step passed in ");
	ck_assert_int_eq(RUN("run-now", "--json", "-c", cfgpath, "health"), 0);
	json_t *j = t_json(out);
	ck_assert(json_is_true(json_object_get(j, "ok")));
	ck_assert_str_eq(json_string_value(json_object_get(j, "probe")), "health");
	json_decref(j);
	ck_assert_int_eq(RUN("run-now", "-c", cfgpath, "closed"), 2);
	ASSERT_HAS(out, "FAIL closed (connect): ");
}
END_TEST

/* A test case of s with the fixture API, a fresh config per test and room for the daemon's start. */
static TCase *tcase(Suite *s, const char *name)
{
	TCase *tc = tcase_create(name);

	tcase_add_unchecked_fixture(tc, start_api, stop_api);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	suite_add_tcase(s, tc);
	return tc;
}

Suite *cli_probe_suite(void)
{
	Suite *s = suite_create("cli_probe");
	TCase *tc = tcase(s, "add");

	tcase_add_test(tc, add_from_flags_writes_pretty_json_keeping_references);
	tcase_add_test(tc, add_warns_of_a_secret_this_shell_lacks);
	tcase_add_test(tc, add_refuses_bad_option_values_precisely);
	tcase_add_test(tc, add_from_file_takes_a_multi_step_probe);
	tcase_add_test(tc, add_from_stdin_takes_a_multi_step_probe);
	tcase_add_test(tc, add_from_file_reports_positions_in_that_file);
	tcase_add_test(tc, add_refuses_a_name_that_does_not_match_or_is_not_a_name);
	tcase_add_test(tc, add_refuses_a_taken_name_unless_replace);
	tcase_add_test(tc, add_killed_while_reading_leaves_nothing);
	tcase_add_test(tc, add_refuses_values_that_are_not_utf8);
	tcase_add_test(tc, add_usage_errors_exit_2);

	tc = tcase(s, "manage");
	tcase_add_test(tc, list_shows_every_probe_as_text_and_json);
	tcase_add_test(tc, show_prints_the_file_with_references_and_the_state);
	tcase_add_test(tc, rm_deletes_the_file_that_defines_the_probe);
	tcase_add_test(tc, pause_and_resume_edit_the_file_and_say_so);
	tcase_add_test(tc, help_on_every_subcommand);
	tcase_add_test(tc, run_now_without_a_daemon_says_so);

	tc = tcase(s, "stand-in daemon");
	tcase_add_test(tc, reload_refused_is_an_error_that_says_what_runs);
	tcase_add_test(tc, reload_not_permitted_says_how_to_apply);
	tcase_add_test(tc, run_now_prints_a_joined_result_as_check_does);
	tcase_add_test(tc, show_says_what_the_daemon_knows);
	tcase_add_test(tc, run_now_waits_for_a_probe_with_a_long_timeout);

	tc = tcase(s, "daemon");
	tcase_add_test(tc, add_with_a_daemon_is_picked_up_and_runs);
	tcase_add_test(tc, run_now_prints_the_result_and_exits_as_check);
	tcase_add_test(tc, add_refused_by_the_daemon_is_undone);
	return s;
}
