/* run_now.c - `canary run-now NAME`: asks the daemon to run a probe now and prints the result. */
#include "cli/cli_int.h"

#include <errno.h>
#include <limits.h>
#include <string.h>

/* A run ends by its own deadline; past it by this much, the daemon is not answering. */
#define GRACE_MS 30000
#define DEFAULT_WAIT_MS 120000

static const char usage_text[] =
	"usage: canary run-now [-c CONFIG] [--json] NAME\n\n"
	"Asks the running daemon to run probe NAME at once, waits until the run ends and\n"
	"prints its result as `canary check` does: each step with its status, timings and\n"
	"assertions, then OK or FAIL. The run is recorded and alerted on like a scheduled\n"
	"one; if NAME is running already, that run's result is given instead of a second\n"
	"run. Without a daemon, `canary check -c CONFIG NAME` runs a probe here.\n\n"
	"  -c, --config FILE  the main config file\n"
	"      --json         print the result as one JSON object, as `canary check --json`\n\n"
	"Exit status: 0 every step passed, 2 a step failed (as `canary check`), 1 no daemon,\n"
	"an unknown probe, a usage error or another error.\n";

/* ------------------------------------------------------------------ printing a result */

static const char *str(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static double num(const json_t *o, const char *key)
{
	return json_number_value(json_object_get(o, key));
}

static void print_step(const json_t *s, size_t i, size_t total)
{
	const char *method = str(s, "method"), *url = str(s, "url"), *name;
	json_t *c, *v;
	size_t k, nchecks = json_array_size(json_object_get(s, "checks"));

	printf("[%zu/%zu] %s", i + 1, total, str(s, "name") ? str(s, "name") : "?");
	/* The daemon's runs are untraced: no method or URL then. */
	if (method || url)
		printf(": %s %s", method ? method : "?", url ? url : "?");
	putchar('\n');
	if (num(s, "status") > 0 || num(s, "total_ms") > 0) {
		printf("      %lld in %.1f ms (dns %.1f, connect %.1f, tls ", (long long)num(s, "status"), num(s, "total_ms"),
		       num(s, "dns_ms"), num(s, "connect_ms"));
		if (num(s, "tls_ms") > 0)
			printf("%.1f", num(s, "tls_ms"));
		else
			printf("-");
		printf(", ttfb %.1f ms), %lld bytes\n", num(s, "ttfb_ms"), (long long)num(s, "bytes"));
	}
	json_array_foreach(json_object_get(s, "checks"), k, c) {
		if (json_is_true(json_object_get(c, "pass")))
			printf("      PASS %s\n", str(c, "assertion") ? str(c, "assertion") : "?");
		else
			printf("      FAIL %s: got %s\n", str(c, "assertion") ? str(c, "assertion") : "?",
			       str(c, "actual") ? str(c, "actual") : "?");
	}
	json_object_foreach(json_object_get(s, "extracted"), name, v)
		printf("      extracted %s = %s\n", name, json_is_string(v) ? json_string_value(v) : "?");
	if (str(s, "class") && nchecks == 0)
		printf("      ERROR (%s) %s\n", str(s, "class"), cli_step_error(str(s, "error"), str(s, "name")));
}

void cli_result_print(const json_t *res, const struct probe_def *def)
{
	json_t *steps = json_object_get(res, "steps"), *s;
	const char *name = str(res, "probe") ? str(res, "probe") : "?";
	size_t i, ran = json_array_size(steps), total = def && def->nsteps > ran ? def->nsteps : ran;

	printf("%s (%zu step%s)\n", name, total, total == 1 ? "" : "s");
	json_array_foreach(steps, i, s)
		print_step(s, i, total);
	for (i = ran; def && i < def->nsteps; i++)
		printf("[%zu/%zu] %s: not run (an earlier step failed)\n", i + 1, total, def->steps[i].name);
	if (json_is_true(json_object_get(res, "ok")))
		printf("OK %s: %zu step%s passed in %.1f ms\n", name, ran, ran == 1 ? "" : "s", num(res, "duration_ms"));
	else
		printf("FAIL %s (%s): %s\n", name, str(res, "class") ? str(res, "class") : "?",
		       str(res, "error") ? str(res, "error") : "");
}

/* ------------------------------------------------------------------ asking the daemon */

/* Says why the daemon gave no result. Returns 1. */
static int no_result(const struct cfg *cfg, const char *name, int rc, int wait_ms, const json_t *answer)
{
	const char *sock = cfg->control_socket;

	if (rc == -ENOENT || rc == -ECONNREFUSED)
		return cli_fail(1, "run-now: no daemon is running (%s %s); `canary check -c %s %s` runs the probe here, "
				   "without recording it", rc == -ENOENT ? "no socket at" : "nothing listens on", sock,
				cfg->path, name);
	if (rc == -EACCES)
		return cli_fail(1, "run-now: permission denied on %s: run it as root or as the daemon's user or group",
				sock);
	if (rc == -ETIMEDOUT)
		return cli_fail(1, "run-now: no result from the daemon within %d s", wait_ms / 1000);
	if (rc < 0)
		return cli_fail(1, "run-now: cannot ask the daemon at %s: %s", sock, strerror(-rc));
	if (!json_is_true(json_object_get(answer, "ok")))
		return cli_fail(1, "run-now: the daemon says: %s",
				str(answer, "error") ? str(answer, "error") : "(no reason given)");
	return cli_fail(1, "run-now: the daemon's answer holds no result");
}

int cli_run_now(int argc, char **argv)
{
	const char *config = NULL, *name = NULL;
	bool json = false;
	int rc = cli_name_args(argc, argv, "run-now", usage_text, &config, &json, &name);

	/* A usage error is 1, not CLI_USAGE: 2 means the probe failed, as with `canary check`. */
	if (rc >= 0)
		return rc == CLI_USAGE ? 1 : rc;
	struct cfg *cfg = cli_load_config(cli_config_path(config), CFG_SKIP_SECRETS);
	if (cfg == NULL || cli_check_target(cfg, "run-now", name, NULL) < 0) {
		cfg_free(cfg);
		return 1;
	}
	const struct probe_def *def = cfg_find_probe(cfg, name);
	/* A "timeout" has no upper bound: one of weeks waits as long as poll() can. */
	int64_t wait64 = def ? def->timeout_ms + GRACE_MS : DEFAULT_WAIT_MS;
	int wait_ms = wait64 > INT_MAX ? INT_MAX : (int)wait64, status;
	json_t *req = json_pack("{s:s, s:s}", "cmd", "run-now", "probe", name), *a = NULL, *res;
	rc = req ? cli_control_call(cfg->control_socket, req, wait_ms, &a) : -ENOMEM;
	res = json_object_get(a, "result");
	if (rc < 0 || !json_is_true(json_object_get(a, "ok")) || !json_is_object(res)) {
		status = no_result(cfg, name, rc, wait_ms, a);
	} else {
		if (json_is_true(json_object_get(a, "joined")))
			fprintf(stderr, "canary: run-now: %s was running already: this is that run's result\n", name);
		if (json)
			cli_json_print(res);
		else
			cli_result_print(res, def);
		status = json_is_true(json_object_get(res, "ok")) ? CLI_CHECK_OK : CLI_CHECK_FAIL;
	}
	json_decref(a);
	json_decref(req);
	cfg_free(cfg);
	return status;
}
