/* check.c - `canary check`: runs one probe once and prints every step, timing, assertion and extract. */
#include "cli/cli_int.h"
#include "probes/probe.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

static const char usage_text[] =
	"usage: canary check PROBE.json [--reveal] [--json]\n"
	"       canary check -c CONFIG NAME [--reveal] [--json]\n\n"
	"Runs one probe once and prints each step: method, URL (secrets redacted), status,\n"
	"phase timings, every assertion with PASS/FAIL, and what was extracted.\n\n"
	"  -c, --config FILE  take probe NAME from this config (and its defaults)\n"
	"      --reveal       show extracted values instead of [redacted] (your terminal only)\n"
	"      --json         print the result as one JSON object\n\n"
	"Exit status: 0 every step passed, 2 a step failed, 3 the probe or config is invalid.\n";

struct check_run {
	struct probe_result *res;
	struct probe_engine *engine;
};

static void on_done(struct probe_result *res, void *arg)
{
	struct check_run *cr = arg;

	cr->res = res;
}

static void on_closed(void *arg)
{
	(void)arg;
}

/* Runs def once on a loop of its own. Returns the result (new), or NULL. */
static struct probe_result *run_once(struct probe_def *def, unsigned flags)
{
	struct check_run cr = { 0 };
	uv_loop_t loop;
	int rc;

	if (uv_loop_init(&loop) < 0)
		return NULL;
	rc = probe_engine_new(&loop, &cr.engine);
	if (rc == 0) {
		rc = probe_run_start(cr.engine, def, flags, on_done, &cr, NULL);
		if (rc == 0)
			uv_run(&loop, UV_RUN_DEFAULT);
		probe_engine_close(cr.engine, on_closed, NULL);
		uv_run(&loop, UV_RUN_DEFAULT);
	}
	if (rc < 0)
		cli_fail(0, "check: cannot run the probe: %s", uv_strerror(rc));
	uv_loop_close(&loop);
	return cr.res;
}

static double ms(int64_t us)
{
	return (double)us / 1000.0;
}

static void print_step(const struct probe_result *res, size_t i)
{
	const struct probe_step_result *s = &res->steps[i];

	printf("[%zu/%zu] %s: %s %s\n", i + 1, res->cap, s->name, s->method ? s->method : "?",
	       s->url ? s->url : "?");
	if (s->status > 0 || s->total_us > 0) {
		printf("      %ld in %.1f ms (dns %.1f, connect %.1f, tls ", s->status, ms(s->total_us),
		       ms(s->dns_us), ms(s->connect_us));
		if (s->tls_us > 0)
			printf("%.1f", ms(s->tls_us));
		else
			printf("-");
		printf(", ttfb %.1f ms), %lld bytes\n", ms(s->ttfb_us), (long long)s->bytes);
	}
	for (size_t k = 0; k < s->nchecks; k++) {
		const struct probe_check *c = &s->checks[k];
		if (c->pass)
			printf("      PASS %s\n", c->text);
		else
			printf("      FAIL %s: got %s\n", c->text, c->actual ? c->actual : "?");
	}
	for (size_t k = 0; k < s->nextracted; k++)
		printf("      extracted %s = %s\n", s->extracted[k].name, s->extracted[k].value);
	if (s->cls != PROBE_OK && s->nchecks == 0)
		printf("      ERROR (%s) %s\n", probe_class_name(s->cls), cli_step_error(s->error, s->name));
}

/*
 * Not cli_result_print, which prints from probe_result_json(): a JSON string
 * cannot hold bytes that are not UTF-8, so an extracted value such as a
 * Latin-1 header (shown with --reveal) would vanish from the output.
 */
static void print_text(const struct probe_def *def, const struct probe_result *res)
{
	printf("%s (%zu step%s)\n", def->name, def->nsteps, def->nsteps == 1 ? "" : "s");
	for (size_t i = 0; i < res->nsteps; i++)
		print_step(res, i);
	for (size_t i = res->nsteps; i < def->nsteps; i++)
		printf("[%zu/%zu] %s: not run (an earlier step failed)\n", i + 1, def->nsteps, def->steps[i].name);
	if (res->cls == PROBE_OK)
		printf("OK %s: %zu step%s passed in %.1f ms\n", def->name, res->nsteps, res->nsteps == 1 ? "" : "s",
		       ms(res->duration_us));
	else
		printf("FAIL %s (%s): %s\n", def->name, probe_class_name(res->cls), res->error ? res->error : "");
}

static void print_json(const struct probe_result *res)
{
	json_t *o = probe_result_json(res);

	if (o == NULL)
		cli_fail(0, "check: out of memory");
	else
		cli_json_print(o);
	json_decref(o);
}

/* Loads the probe: a file, or a name in the config. Prints problems; NULL when invalid. */
static struct probe_def *load(const char *config, const char *arg, struct cfg **cfg_out)
{
	struct cfg_diags diags = { 0 };
	struct probe_def *def = NULL;

	if (config == NULL) {
		if (cfg_load_probe(arg, NULL, &def, &diags) < 0)
			def = NULL;
		cfg_diags_print(&diags, stderr);
		cfg_diags_free(&diags);
		return def;
	}
	*cfg_out = cli_load_config(config, 0);
	if (*cfg_out == NULL)
		return NULL;
	def = cfg_find_probe(*cfg_out, arg);
	if (def == NULL)
		cli_fail(0, "check: no probe named \"%s\" in %s", arg, config);
	return def ? probe_def_ref(def) : NULL;
}

int cli_check(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' }, { "reveal", no_argument, NULL, 'r' },
		{ "json", no_argument, NULL, 'j' },	    { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config = NULL;
	bool json = false;
	unsigned flags = PROBE_RUN_TRACE;
	int c;

	optind = 0;
	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': config = optarg; break;
		case 'r': flags |= PROBE_RUN_REVEAL; break;
		case 'j': json = true; break;
		case 'h': fputs(usage_text, stdout); return 0;
		default: fputs(usage_text, stderr); return CLI_CHECK_INVALID;
		}
	}
	if (optind != argc - 1) {
		fputs(usage_text, stderr);
		return CLI_CHECK_INVALID;
	}
	struct cfg *cfg = NULL;
	struct probe_def *def = load(config, argv[optind], &cfg);
	if (def == NULL) {
		cfg_free(cfg);
		return CLI_CHECK_INVALID;
	}
	struct probe_result *res = run_once(def, flags);
	int status = res == NULL ? CLI_CHECK_INVALID : res->cls == PROBE_OK ? CLI_CHECK_OK : CLI_CHECK_FAIL;
	if (res && json)
		print_json(res);
	else if (res)
		print_text(def, res);
	probe_result_free(res);
	probe_def_unref(def);
	cfg_free(cfg);
	return status;
}
