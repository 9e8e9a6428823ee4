/* probe_cmd.c - `canary probe`: the subcommand table, list and show. */
#include "cli/cli_int.h"
#include "storage/storage.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

/* How long show waits for the daemon's status: it answers from memory, at once. */
#define STATUS_TIMEOUT_MS 2000

static const char usage_text[] =
	"usage: canary probe add [-c CONFIG] NAME --url URL [OPTIONS] | --from FILE|- [--replace]\n"
	"       canary probe list [-c CONFIG] [--json]\n"
	"       canary probe show [-c CONFIG] [--json] NAME\n"
	"       canary probe rm [-c CONFIG] NAME\n"
	"       canary probe pause [-c CONFIG] NAME\n"
	"       canary probe resume [-c CONFIG] NAME\n\n"
	"Manages the probe files in the config's probes_dir. A change is validated as\n"
	"`canary config check` validates, written atomically, and then the running daemon\n"
	"is told to reload; without a daemon it applies at the next start.\n\n"
	"  add     writes probes_dir/NAME.json: a single-step probe from options, or any\n"
	"          probe from a file (- for stdin); an existing name is refused unless --replace\n"
	"  list    every probe: state (active or paused), schedule, steps, tags and file\n"
	"  show    one probe's file as written (secrets stay ${...} references), its state,\n"
	"          its last recorded run and what the daemon says of it\n"
	"  rm      deletes the probe's file\n"
	"  pause   keeps the probe but stops running it, across reloads and restarts\n"
	"  resume  runs a paused probe again\n\n"
	"`canary probe SUBCOMMAND --help` describes each. Exit status: 0, 1 when refused or\n"
	"on an error, 2 on a usage error.\n";

static const char list_usage[] =
	"usage: canary probe list [-c CONFIG] [--json]\n\n"
	"Lists every probe of the config: NAME, STATE (active or paused), EVERY, STEPS,\n"
	"TAGS and FILE. Secrets are not needed (nor resolved).\n\n"
	"  -c, --config FILE  the main config file\n"
	"      --json         an array of objects: name, paused, every_ms, timeout_ms,\n"
	"                     steps, tags, file, description\n\n"
	"Exit status: 0, 1 when the config cannot be loaded, 2 on a usage error.\n";

static const char show_usage[] =
	"usage: canary probe show [-c CONFIG] [--json] NAME\n\n"
	"Shows probe NAME: its state (active or paused), schedule and tags, its last run\n"
	"recorded in the database, what the running daemon says of it (running now,\n"
	"failing), and its file as written: secrets stay ${...} references, never values.\n\n"
	"  -c, --config FILE  the main config file\n"
	"      --json         one object: name, file, definition (the file's JSON), paused,\n"
	"                     state (paused, up, down or unknown), last_run (RFC 3339 UTC\n"
	"                     or null), error, daemon ({pid, loaded, paused, running,\n"
	"                     failing} or null when no daemon answers)\n\n"
	"Exit status: 0, 1 on an unknown probe or an error, 2 on a usage error.\n";

int cli_name_args(int argc, char **argv, const char *cmd, const char *usage, const char **config, bool *json,
		  const char **name)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static char prog[64];
	int c;

	/* getopt names the program in its messages: "canary probe rm: unrecognized option". */
	snprintf(prog, sizeof(prog), "canary %s", cmd);
	argv[0] = prog;
	*config = NULL;
	optind = 0;
	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': *config = optarg; break;
		case 'h': fputs(usage, stdout); return 0;
		case 'j':
			if (json) {
				*json = true;
				break;
			}
			return cli_usage_error(usage, "%s: unknown option --json", cmd);
		default: return cli_usage_error(usage, NULL);
		}
	}
	if (name && optind == argc)
		return cli_usage_error(usage, "%s: which probe? (a NAME)", cmd);
	if (optind < argc - (name != NULL))
		return cli_usage_error(usage, "%s: unexpected \"%s\"", cmd, argv[optind + (name != NULL)]);
	if (name)
		*name = argv[optind];
	return -1;
}

/* ------------------------------------------------------------------ list */

static json_t *tags_json(const struct probe_def *d)
{
	json_t *a = json_array();

	for (size_t i = 0; i < d->ntags; i++)
		json_array_append_new(a, json_string(d->tags[i]));
	return a;
}

/* The tags as "a,b" into buf ("-" without tags). */
static char *tags_text(const struct probe_def *d, char *buf, size_t size)
{
	size_t n = 0;

	snprintf(buf, size, "-");
	for (size_t i = 0; i < d->ntags && n < size; i++)
		n += (size_t)snprintf(buf + n, size - n, "%s%s", i ? "," : "", d->tags[i]);
	return buf;
}

static json_t *list_entry(const struct probe_def *d)
{
	return json_pack("{s:s, s:b, s:I, s:I, s:I, s:o, s:s?, s:o}", "name", d->name, "paused", d->paused, "every_ms",
			 (json_int_t)d->every_ms, "timeout_ms", (json_int_t)d->timeout_ms, "steps",
			 (json_int_t)d->nsteps, "tags", tags_json(d), "file", d->file, "description",
			 cli_json_text(d->description));
}

static void list_table(const struct cfg *cfg)
{
	int wn = 4, wt = 4;
	char tags[1024], every[32];

	for (size_t i = 0; i < cfg->nprobes; i++) {
		int n = (int)strlen(tags_text(cfg->probes[i], tags, sizeof(tags)));
		wt = n > wt ? n : wt;
		n = (int)strlen(cfg->probes[i]->name);
		wn = n > wn ? n : wn;
	}
	printf("%-*s  %-6s  %-6s  %5s  %-*s  %s\n", wn, "NAME", "STATE", "EVERY", "STEPS", wt, "TAGS", "FILE");
	for (size_t i = 0; i < cfg->nprobes; i++) {
		const struct probe_def *d = cfg->probes[i];
		printf("%-*s  %-6s  %-6s  %5zu  %-*s  %s\n", wn, d->name, d->paused ? "paused" : "active",
		       probe_duration_format(d->every_ms, every, sizeof(every)), d->nsteps, wt,
		       tags_text(d, tags, sizeof(tags)), d->file ? d->file : "-");
	}
}

static int probe_list(int argc, char **argv)
{
	const char *config = NULL;
	bool json = false;
	int rc = cli_name_args(argc, argv, "probe list", list_usage, &config, &json, NULL);

	if (rc >= 0)
		return rc;
	struct cfg *cfg = cli_load_config(cli_config_path(config), CFG_SKIP_SECRETS);
	if (cfg == NULL)
		return 1;
	if (json) {
		json_t *arr = json_array();
		for (size_t i = 0; i < cfg->nprobes; i++)
			json_array_append_new(arr, list_entry(cfg->probes[i]));
		cli_json_print(arr);
		json_decref(arr);
	} else if (cfg->nprobes == 0) {
		printf("no probes in %s\n", cfg->probes_dir);
	} else {
		list_table(cfg);
	}
	cfg_free(cfg);
	return 0;
}

/* ------------------------------------------------------------------ show */

/* What show gathers about one probe besides its definition. */
struct show_state {
	struct store_status st;  /* from the database; has_run false when none */
	bool have_db;
	json_t *daemon;          /* {pid, loaded, paused, running, failing}, or NULL when no daemon answered */
	const char *no_daemon;   /* why not, for the text */
};

/* Reads the probe's last run; a database not created yet means no run, said nowhere. */
static void read_last_run(const struct cfg *cfg, const char *name, struct show_state *s)
{
	struct store_opts so = { .path = cfg->db_path, .flags = STORE_READONLY };
	struct store *st = NULL;
	char *err = NULL;
	int rc = store_open(&so, &st, &err);

	if (rc == 0 && (rc = store_probe_status(st, name, probe_now_ms(), &s->st)) == 0)
		s->have_db = true;
	else if (rc != -ENOENT)
		fprintf(stderr, "canary: warning: cannot read the last run from %s: %s\n", cfg->db_path,
			err ? err : strerror(-rc));
	free(err);
	store_close(st);
}

/* Asks the daemon, if one answers, what it knows of probe name. */
static void ask_daemon(const struct cfg *cfg, const char *name, struct show_state *s)
{
	json_t *req = json_pack("{s:s}", "cmd", "status"), *a = NULL, *p, *mine = NULL;
	int rc = req ? cli_control_call(cfg->control_socket, req, STATUS_TIMEOUT_MS, &a) : -ENOMEM;
	size_t i;

	json_decref(req);
	if (rc == -ENOENT || rc == -ECONNREFUSED)
		s->no_daemon = "not running";
	else if (rc == -EACCES)
		s->no_daemon = "not asked (permission denied on its socket)";
	else if (rc < 0 || !json_is_true(json_object_get(a, "ok")))
		s->no_daemon = "did not answer";
	if (s->no_daemon) {
		json_decref(a);
		return;
	}
	json_array_foreach(json_object_get(a, "probes"), i, p)
		if (json_is_string(json_object_get(p, "name")) && strcmp(json_string_value(json_object_get(p, "name")), name) == 0)
			mine = p;
	s->daemon = json_pack("{s:O?, s:b, s:O?, s:O?, s:O?}", "pid", json_object_get(a, "pid"), "loaded", mine != NULL,
			      "paused", json_object_get(mine, "paused"), "running", json_object_get(mine, "running"),
			      "failing", json_object_get(mine, "failing"));
	json_decref(a);
}

static void show_json(const struct probe_def *d, const struct show_state *s)
{
	json_t *o = json_pack("{s:s, s:s, s:O, s:b, s:s, s:o, s:o, s:O?}", "name", d->name, "file", d->file,
			      "definition", d->raw, "paused", d->paused, "state", cli_probe_state(d->paused, &s->st),
			      "last_run", s->st.has_run ? cli_json_time(s->st.last_run_ms) : json_null(), "error",
			      cli_json_text(s->st.error), "daemon", s->daemon);

	cli_json_print(o ? o : json_null());
	json_decref(o);
}

/* The daemon's view in words: "pid 42: running now, failing". */
static void show_daemon(const struct cfg *cfg, const struct show_state *s)
{
	json_t *pid = json_object_get(s->daemon, "pid"), *failing = json_object_get(s->daemon, "failing");

	if (s->daemon == NULL) {
		printf("  daemon:   %s (%s)\n", s->no_daemon, cfg->control_socket);
		return;
	}
	printf("  daemon:   pid %lld: ", (long long)json_integer_value(pid));
	if (!json_is_true(json_object_get(s->daemon, "loaded"))) {
		printf("has not loaded it\n");
		return;
	}
	if (json_is_true(json_object_get(s->daemon, "running")))
		printf("running it now");
	else
		printf(json_is_true(json_object_get(s->daemon, "paused")) ? "loaded, paused" : "loaded, idle");
	if (json_is_integer(failing) && json_integer_value(failing) > 0)
		printf(", failing (%lld runs in a row)", (long long)json_integer_value(failing));
	else if (json_is_true(failing))
		printf(", failing");
	putchar('\n');
}

static void show_text(const struct cfg *cfg, const struct probe_def *d, const struct show_state *s, const char *file)
{
	char every[32], timeout[32], tags[1024], when[32];

	printf("probe %s%s%s\n", d->name, d->description ? " - " : "", d->description ? d->description : "");
	printf("  file:     %s\n", d->file);
	printf("  state:    %s\n", d->paused ? "paused (kept, not run)" : "active");
	printf("  schedule: every %s, timeout %s, %zu step%s\n", probe_duration_format(d->every_ms, every, sizeof(every)),
	       probe_duration_format(d->timeout_ms, timeout, sizeof(timeout)), d->nsteps, d->nsteps == 1 ? "" : "s");
	printf("  tags:     %s\n", tags_text(d, tags, sizeof(tags)));
	if (!s->st.has_run)
		printf("  last run: none recorded\n");
	else if (s->st.last_ok)
		printf("  last run: %s, passed in %.1f ms\n", cli_time_rfc3339(s->st.last_run_ms, when, sizeof(when)),
		       (double)s->st.latency_us / 1000.0);
	else
		printf("  last run: %s, failed (%s): %s\n", cli_time_rfc3339(s->st.last_run_ms, when, sizeof(when)),
		       s->st.error_class ? s->st.error_class : "?", s->st.error ? s->st.error : "");
	show_daemon(cfg, s);
	printf("\n# %s\n%s", d->file, file);
	if (*file && file[strlen(file) - 1] != '\n')
		putchar('\n');
}

static int probe_show(int argc, char **argv)
{
	const char *config = NULL, *name = NULL;
	bool json = false;
	struct show_state s = { 0 };
	struct cfg *cfg = NULL;
	char *file = NULL;
	size_t len = 0;
	int rc = cli_name_args(argc, argv, "probe show", show_usage, &config, &json, &name);

	if (rc >= 0)
		return rc;
	cfg = cli_load_config(cli_config_path(config), CFG_SKIP_SECRETS);
	rc = cfg == NULL || cli_check_target(cfg, "probe show", name, NULL) < 0 ? 1 : 0;
	struct probe_def *d = rc == 0 ? cfg_find_probe(cfg, name) : NULL;
	/* The file as written, not as parsed: its references and its layout. */
	if (d && !json && (rc = cli_read_input(d->file, &file, &len)) < 0)
		rc = cli_fail(1, "probe show: cannot read %s: %s", d->file, strerror(-rc));
	if (rc == 0) {
		read_last_run(cfg, name, &s);
		ask_daemon(cfg, name, &s);
		if (json)
			show_json(d, &s);
		else
			show_text(cfg, d, &s, file);
	}
	store_status_clear(&s.st);
	json_decref(s.daemon);
	free(file);
	cfg_free(cfg);
	return rc;
}

int cli_probe(int argc, char **argv)
{
	static const char *const subs[] = { "add", "list", "show", "rm", "pause", "resume", NULL };
	static int (*const fns[])(int argc, char **argv) = { cli_probe_add, probe_list,	      probe_show,
							     cli_probe_rm,  cli_probe_pause, cli_probe_resume };
	int status, i = cli_subcommand(argc, argv, subs, usage_text, &status);

	return i < 0 ? status : fns[i](argc - 1, argv + 1);
}
