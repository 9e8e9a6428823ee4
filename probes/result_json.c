/* result_json.c - a run's result as JSON, for `canary check --json` and the control socket's run-now. */
#include "probes/probe.h"

static double ms(int64_t us)
{
	return (double)us / 1000.0;
}

static json_t *step_json(const struct probe_step_result *s)
{
	json_t *checks = json_array(), *ex = json_object();

	for (size_t k = 0; k < s->nchecks; k++)
		json_array_append_new(checks, json_pack("{s:s, s:b, s:s?}", "assertion", s->checks[k].text, "pass",
							s->checks[k].pass, "actual", s->checks[k].actual));
	for (size_t k = 0; k < s->nextracted; k++)
		json_object_set_new(ex, s->extracted[k].name, json_string(s->extracted[k].value));
	return json_pack("{s:s, s:s?, s:s?, s:I, s:f, s:f, s:f, s:f, s:f, s:I, s:s?, s:s?, s:o, s:o}", "name",
			 s->name, "method", s->method, "url", s->url, "status", (json_int_t)s->status, "dns_ms",
			 ms(s->dns_us), "connect_ms", ms(s->connect_us), "tls_ms", ms(s->tls_us), "ttfb_ms",
			 ms(s->ttfb_us), "total_ms", ms(s->total_us), "bytes", (json_int_t)s->bytes, "class",
			 s->cls == PROBE_OK ? NULL : probe_class_name(s->cls), "error", s->error, "checks", checks,
			 "extracted", ex);
}

json_t *probe_result_json(const struct probe_result *res)
{
	json_t *steps = json_array();

	for (size_t i = 0; i < res->nsteps; i++)
		json_array_append_new(steps, step_json(&res->steps[i]));
	return json_pack("{s:s, s:b, s:s?, s:s?, s:I, s:f, s:o}", "probe", res->probe, "ok", res->cls == PROBE_OK,
			 "class", res->cls == PROBE_OK ? NULL : probe_class_name(res->cls), "error", res->error,
			 "started_ms", (json_int_t)res->started_ms, "duration_ms", ms(res->duration_us), "steps", steps);
}
