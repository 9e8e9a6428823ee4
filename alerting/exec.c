/* exec.c - the "exec" channel type: runs a command of the user's with the event object on its stdin. */
#include "alerting/alert_int.h"

#include <stdlib.h>
#include <string.h>

/* sysexits.h's EX_TEMPFAIL: the command asks to be run again later. */
#define EXEC_TEMPFAIL 75

struct exec_channel {
	struct alert_channel super;
	char **argv;     /* owned, NULL-terminated: command[0] is an absolute path */
	size_t argc;
};

#define EXEC(ch) alert__container_of(ch, struct exec_channel, super)

static const char *const exec_keys[] = { "command", NULL };

/* Checks "command": a non-empty array of strings, the first an absolute path (no PATH lookup, no shell). */
static int check_command(const json_t *cmd, alert_err_fn err, void *ctx)
{
	json_t *v;
	size_t i;
	int rc = 0;

	if (!json_is_array(cmd) || json_array_size(cmd) == 0) {
		alert__errf(err, ctx, "command", NULL,
			    cmd ? "\"command\" must be a non-empty array of strings such as [\"/usr/local/bin/notify\"]"
				: "\"command\" is required");
		return -EINVAL;
	}
	json_array_foreach(cmd, i, v) {
		char idx[32];
		const char *s = json_string_value(v);
		snprintf(idx, sizeof(idx), "%zu", i);
		/* An embedded NUL would cut the argument short without a word. */
		if (s == NULL || strlen(s) != json_string_length(v)) {
			alert__errf(err, ctx, "command", idx, "every element of \"command\" must be a string");
			rc = -EINVAL;
		} else if (i == 0 && s[0] != '/') {
			/* Not quoted: it may be a ${...} secret, and this reaches logs and the control socket. */
			alert__errf(err, ctx, "command", idx,
				    "the program (the first element) must be an absolute path "
				    "(no PATH lookup, no shell)");
			rc = -EINVAL;
		}
	}
	return rc;
}

static int exec_create(struct alert_channel *ch, const json_t *conf, alert_err_fn err, void *ctx)
{
	struct exec_channel *xc = EXEC(ch);
	const json_t *cmd = json_object_get(conf, "command");
	json_t *v;
	size_t i;

	if (check_command(cmd, err, ctx) < 0)
		return -EINVAL;
	xc->argv = calloc(json_array_size(cmd) + 1, sizeof(*xc->argv));
	if (xc->argv == NULL)
		return -ENOMEM;
	json_array_foreach(cmd, i, v) {
		if ((xc->argv[i] = strdup(json_string_value(v))) == NULL)
			return -ENOMEM;
		xc->argc++;
	}
	return 0;
}

static void exec_destroy(struct alert_channel *ch)
{
	struct exec_channel *xc = EXEC(ch);

	for (size_t i = 0; xc->argv && i < xc->argc; i++)
		free(xc->argv[i]);
	free(xc->argv);
}

/* The command gets every event; the payload plus a newline makes it one line for line readers. */
static int exec_render(struct alert_channel *ch, const struct alert_event *ev, struct alert_request *req,
		       char **why)
{
	struct exec_channel *xc = EXEC(ch);
	char *json;

	(void)why;
	req->kind = ALERT_REQ_EXEC;
	req->argv = calloc(xc->argc + 1, sizeof(*req->argv));
	if (req->argv == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < xc->argc; i++)
		if ((req->argv[i] = strdup(xc->argv[i])) == NULL)
			return -ENOMEM;
	json = json_dumps(ev->payload, JSON_COMPACT | JSON_ENCODE_ANY);
	req->body = json ? alert__strf("%s\n", json) : NULL;
	free(json);
	if (req->body == NULL)
		return -ENOMEM;
	req->body_len = strlen(req->body);
	return 0;
}

/* "exited with status N" and, when it printed anything, the first line of what it printed. */
static char *exit_why(const struct alert_response *resp)
{
	char *first = resp->body ? alert__first_line(resp->body, resp->body_len, 200) : NULL;
	char *why = first && *first ? alert__strf("exited with status %ld: %s", resp->status, first)
				    : alert__strf("exited with status %ld", resp->status);

	free(first);
	return why;
}

static void exec_classify(struct alert_channel *ch, const struct alert_event *ev,
			  const struct alert_response *resp, struct alert_outcome *out)
{
	(void)ch;
	(void)ev;
	if (resp->error) {
		/* Could not start: a missing or non-executable program stays that way. */
		out->verdict = ALERT_GIVE_UP;
		out->why = alert__strf("could not start: %s", resp->error);
	} else if (resp->timed_out) {
		out->verdict = ALERT_RETRY;
		out->why = strdup("timed out");
	} else if (resp->term_signal) {
		out->verdict = ALERT_RETRY;
		out->why = alert__strf("killed by signal %d", resp->term_signal);
	} else if (resp->status == 0) {
		out->verdict = ALERT_DELIVERED;
	} else {
		out->verdict = resp->status == EXEC_TEMPFAIL ? ALERT_RETRY : ALERT_GIVE_UP;
		out->why = exit_why(resp);
	}
}

const struct alert_channel_type alert__exec_type = {
	.version = ALERT__TYPE_VERSION,
	.name = "exec",
	.size = sizeof(struct exec_channel),
	.rate_per_min = 60,
	.keys = exec_keys,
	.create = exec_create,
	.render = exec_render,
	.classify = exec_classify,
	.destroy = exec_destroy,
};
