/* incidents.c - `canary incidents` and `canary incident show`: incidents and their timelines, from the database. */
#include "cli/cli_int.h"
#include "storage/storage.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static const char list_usage[] =
	"usage: canary incidents [-c CONFIG] [--open] [--probe NAME] [--since DURATION] [--limit N] [--json]\n\n"
	"Lists incidents, newest first: ID, probe, state (open or resolved), when the first\n"
	"failed run started (UTC), how long it lasted (so far, when open), failed runs,\n"
	"the failing step and the first error. Reads the database directly; a database\n"
	"not created yet is reported on stderr and lists nothing (exit 0), as\n"
	"`canary status` shows every probe unknown then.\n\n"
	"  -c, --config FILE   the main config file\n"
	"      --open          only incidents still open\n"
	"      --probe NAME    only this probe's\n"
	"      --since DUR     only those started within DUR (30m, 24h, 7d)\n"
	"      --limit N       at most N\n"
	"      --json          an array of objects: id, probe, state, started, detected,\n"
	"                      resolved (RFC 3339 UTC or null), started_ms, detected_ms,\n"
	"                      resolved_ms, duration_s, failed_runs, failed_step,\n"
	"                      error_class, error, last_error_class, last_error, slow\n\n"
	"Exit status: 0, 1 on a config or database error, 2 on a usage error.\n";

static const char show_usage[] =
	"usage: canary incident show [-c CONFIG] ID [--markdown | --json]\n\n"
	"Shows incident ID: its figures (duration, time to detect, lead time from the\n"
	"first failed run to the first alert delivered) and its timeline in UTC: the first\n"
	"failure, detection, every alert on every channel (delivered, given up, skipped,\n"
	"suppressed by maintenance, or still pending), the latest failure and the recovery,\n"
	"and the annotations (`canary annotate`) from an hour before the first failure until\n"
	"the recovery (or now) that concern every probe, this probe, or a tag it has.\n\n"
	"  -c, --config FILE  the main config file\n"
	"      --markdown     the summary and timeline as Markdown tables, for a postmortem\n"
	"      --json         {\"incident\": {as `canary incidents --json`}, \"figures\":\n"
	"                     {duration_s, detect_s, lead_s}, \"timeline\": [{at, at_ms,\n"
	"                     what, kind, and for alerts event, event_id, channel, state,\n"
	"                     status, attempts, error; for annotations annotation_id,\n"
	"                     text, probe, tag}]}\n\n"
	"Exit status: 0, 1 when there is no such incident or on a config or database\n"
	"error, 2 on a usage error.\n";

/* ------------------------------------------------------------------ one incident, as text, Markdown or JSON */

static const char *inc_state(const struct store_incident *inc)
{
	return inc->resolved_ms > 0 ? "resolved" : "open";
}

/* Until the recovery, or until now while open. */
static int64_t inc_duration_ms(const struct store_incident *inc, int64_t now)
{
	return (inc->resolved_ms > 0 ? inc->resolved_ms : now) - inc->started_ms;
}

static json_t *json_ms(int64_t ms)
{
	return ms > 0 ? json_integer(ms) : json_null();
}

/* The keys of `canary incidents --json` and of "incident" in `incident show --json`. New reference. */
static json_t *incident_json(const struct store_incident *inc, int64_t now)
{
	json_t *o = json_object();

	json_object_set_new(o, "id", json_integer(inc->id));
	json_object_set_new(o, "probe", cli_json_text(inc->probe));
	json_object_set_new(o, "state", json_string(inc_state(inc)));
	json_object_set_new(o, "started", cli_json_time(inc->started_ms));
	json_object_set_new(o, "detected", cli_json_time(inc->detected_ms));
	json_object_set_new(o, "resolved", cli_json_time(inc->resolved_ms));
	json_object_set_new(o, "started_ms", json_ms(inc->started_ms));
	json_object_set_new(o, "detected_ms", json_ms(inc->detected_ms));
	json_object_set_new(o, "resolved_ms", json_ms(inc->resolved_ms));
	json_object_set_new(o, "duration_s", json_integer(inc_duration_ms(inc, now) / 1000));
	json_object_set_new(o, "failed_runs", json_integer(inc->failed_runs));
	json_object_set_new(o, "failed_step", cli_json_text(inc->failed_step));
	json_object_set_new(o, "error_class", cli_json_text(inc->first_class));
	json_object_set_new(o, "error", cli_json_text(inc->first_error));
	json_object_set_new(o, "last_error_class", cli_json_text(inc->last_class));
	json_object_set_new(o, "last_error", cli_json_text(inc->last_error));
	json_object_set_new(o, "slow", json_boolean(inc->flags & STORE_INC_SLOW));
	return o;
}

/* ------------------------------------------------------------------ the timeline */

enum tl_kind { TL_FIRST_FAILURE, TL_DETECTED, TL_ALERT, TL_LAST_FAILURE, TL_RESOLVED, TL_ANNOTATION };

static const char *const tl_kind_names[] = { "first_failure", "detected", "alert", "last_failure", "resolved",
					     "annotation" };

static const char *const dlv_state_names[] = { "pending", "delivered", "gave_up", "skipped", "suppressed" };

/* One line of a timeline: what happened at at_ms. */
struct tl_row {
	int64_t at_ms;
	size_t seq;                        /* the order of building: ties keep it */
	enum tl_kind kind;
	char *what;                        /* owned: the prose */
	const char *detail;                /* borrowed: an error quoted after it, or NULL */
	const struct store_event *ev;      /* borrowed: TL_ALERT only */
	const struct store_delivery *dlv;  /* borrowed: TL_ALERT only */
	const struct store_annotation *ann; /* borrowed: TL_ANNOTATION only */
};

struct tl {
	struct tl_row *v;
	size_t n, cap;
};

static void tl_clear(struct tl *tl)
{
	for (size_t i = 0; i < tl->n; i++)
		free(tl->v[i].what);
	free(tl->v);
	memset(tl, 0, sizeof(*tl));
}

/* Appends a row; returns it, or NULL when out of memory. */
__attribute__((format(printf, 5, 6))) static struct tl_row *tl_add(struct tl *tl, int64_t at_ms, enum tl_kind kind,
								    const char *detail, const char *fmt, ...)
{
	va_list ap;
	char *what = NULL;

	if (tl->n == tl->cap) {
		size_t cap = tl->cap ? tl->cap * 2 : 16;
		struct tl_row *v = realloc(tl->v, cap * sizeof(*v));
		if (v == NULL)
			return NULL;
		tl->v = v;
		tl->cap = cap;
	}
	va_start(ap, fmt);
	int len = vasprintf(&what, fmt, ap);
	va_end(ap);
	if (len < 0)
		return NULL;
	tl->v[tl->n] = (struct tl_row){ .at_ms = at_ms, .seq = tl->n, .kind = kind, .what = what, .detail = detail };
	return &tl->v[tl->n++];
}

/* The row of one event on one channel: when it was settled, or (pending) when the event was made. */
static struct tl_row *tl_add_delivery(struct tl *tl, const struct store_event *ev, const struct store_delivery *d)
{
	int64_t done = d->done_ms > 0 ? d->done_ms : ev->created_ms;
	const char *k = ev->kind ? ev->kind : "?", *ch = d->channel ? d->channel : "?";

	switch (d->state) {
	case STORE_DLV_DELIVERED:
		if (d->status >= 100)
			return tl_add(tl, done, TL_ALERT, NULL, "alert `%s` delivered to %s (HTTP %ld)", k, ch, d->status);
		return tl_add(tl, done, TL_ALERT, NULL, "alert `%s` delivered to %s", k, ch);
	case STORE_DLV_GAVE_UP:
		return tl_add(tl, done, TL_ALERT, d->error ? d->error : "gave up", "alert `%s` to %s not delivered", k, ch);
	case STORE_DLV_SKIPPED:
		return tl_add(tl, done, TL_ALERT, d->error ? d->error : "nothing to send", "alert `%s` skipped for %s",
			      k, ch);
	case STORE_DLV_SUPPRESSED:
		return tl_add(tl, done, TL_ALERT, d->error ? d->error : "maintenance", "alert `%s` not sent to %s", k,
			      ch);
	default:
		if (d->attempts == 0)
			return tl_add(tl, ev->created_ms, TL_ALERT, NULL, "alert `%s` to %s still pending (not tried yet)",
				      k, ch);
		return tl_add(tl, ev->created_ms, TL_ALERT, d->error, "alert `%s` to %s still pending after %d attempt%s%s",
			      k, ch, d->attempts, d->attempts == 1 ? "" : "s", d->error ? ", last" : "");
	}
}

/* The row of an annotation: "annotation  deploy 1.4.2 (tag web)". */
static struct tl_row *tl_add_annotation(struct tl *tl, const struct store_annotation *a)
{
	const char *text = a->text ? a->text : "";
	struct tl_row *r = NULL;

	if (a->probe || a->tag)
		r = tl_add(tl, a->at_ms, TL_ANNOTATION, NULL, "annotation  %s (%s %s)", text, a->probe ? "probe" : "tag",
			   a->probe ? a->probe : a->tag);
	else
		r = tl_add(tl, a->at_ms, TL_ANNOTATION, NULL, "annotation  %s", text);
	if (r)
		r->ann = a;
	return r;
}

static int tl_cmp(const void *a, const void *b)
{
	const struct tl_row *x = a, *y = b;

	if (x->at_ms != y->at_ms)
		return x->at_ms < y->at_ms ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/*
 * Builds t's timeline and the annotations ann (n of them) into tl (empty),
 * sorted by time; rows at the same time keep the order below (an annotation
 * first: a deploy at the very second of a failure is read as its cause).
 * Borrows from t and ann, which must outlive tl. Returns 0 or -ENOMEM
 * (tl_clear frees what was built either way).
 */
static int tl_build(const struct store_timeline *t, const struct store_annotation *ann, size_t n, struct tl *tl)
{
	const struct store_incident *inc = &t->inc;
	bool ok = true;

	for (size_t i = 0; ok && i < n; i++)
		ok = tl_add_annotation(tl, &ann[i]) != NULL;
	ok = ok && tl_add(tl, inc->started_ms, TL_FIRST_FAILURE, inc->first_error, "first failed run (%s)",
			  inc->first_class ? inc->first_class : "failed") != NULL;
	if (ok && inc->detected_ms > 0)
		ok = tl_add(tl, inc->detected_ms, TL_DETECTED, NULL, "detected (incident opened)") != NULL;
	for (size_t i = 0; ok && i < t->nevents; i++) {
		const struct store_timeline_event *te = &t->events[i];
		for (size_t k = 0; ok && k < te->ndlv; k++) {
			struct tl_row *r = tl_add_delivery(tl, &te->ev, &te->dlv[k]);
			ok = r != NULL;
			if (ok) {
				r->ev = &te->ev;
				r->dlv = &te->dlv[k];
			}
		}
	}
	if (ok && inc->last_failed_ms > 0 && inc->last_failed_ms != inc->started_ms)
		ok = tl_add(tl, inc->last_failed_ms, TL_LAST_FAILURE, inc->last_error, "latest failed run (%s)",
			    inc->last_class ? inc->last_class : "failed") != NULL;
	if (ok && inc->resolved_ms > 0)
		ok = tl_add(tl, inc->resolved_ms, TL_RESOLVED, NULL, "recovered: first passing run") != NULL;
	if (ok)
		qsort(tl->v, tl->n, sizeof(*tl->v), tl_cmp);
	return ok ? 0 : -ENOMEM;
}

/* The postmortem's figures; lead_ms < 0 when no alert was delivered. */
struct figures {
	int64_t duration_ms, detect_ms, lead_ms;
};

static void figures_of(const struct store_timeline *t, int64_t now, struct figures *f)
{
	int64_t first = INT64_MAX;

	for (size_t i = 0; i < t->nevents; i++)
		for (size_t k = 0; k < t->events[i].ndlv; k++) {
			const struct store_delivery *d = &t->events[i].dlv[k];
			if (d->state == STORE_DLV_DELIVERED && d->done_ms > 0 && d->done_ms < first)
				first = d->done_ms;
		}
	f->duration_ms = inc_duration_ms(&t->inc, now);
	f->detect_ms = t->inc.detected_ms - t->inc.started_ms;
	f->lead_ms = first == INT64_MAX ? -1 : first - t->inc.started_ms;
}

/* One line of the summary: prose (borrowed, or NULL for buf) and an error quoted after it. */
struct field {
	const char *label;   /* as a Markdown table shows it; plain text lower-cases its first letter */
	const char *text;
	const char *detail;
	char buf[64];
};

#define FIELDS_MAX 12

static struct field *field_add(struct field *v, size_t *n, const char *label, const char *text, const char *detail)
{
	struct field *f = &v[(*n)++];

	*f = (struct field){ .label = label, .text = text, .detail = detail };
	return f;
}

static void field_time(struct field *v, size_t *n, const char *label, int64_t ms)
{
	char when[32];
	struct field *f = field_add(v, n, label, NULL, NULL);

	snprintf(f->buf, sizeof(f->buf), "%s UTC", cli_time_utc(ms, when, sizeof(when)));
}

/* Fills v (FIELDS_MAX of them) with the summary of t; returns how many. */
static size_t fields_of(const struct store_timeline *t, const struct figures *fig, struct field *v)
{
	const struct store_incident *inc = &t->inc;
	bool open = inc->resolved_ms <= 0;
	struct field *f;
	char span[32];
	size_t n = 0;

	field_add(v, &n, "Probe", inc->probe, NULL);
	field_add(v, &n, "Failing step", inc->failed_step ? inc->failed_step : "-", NULL);
	field_add(v, &n, "First error", inc->first_class ? inc->first_class : inc->first_error ? "" : "-",
		  inc->first_error);
	if (inc->last_failed_ms != inc->started_ms && inc->last_error &&
	    (inc->first_error == NULL || strcmp(inc->first_error, inc->last_error) != 0))
		field_add(v, &n, "Last error", inc->last_class ? inc->last_class : "", inc->last_error);
	field_time(v, &n, "Started", inc->started_ms);
	field_time(v, &n, "Detected", inc->detected_ms);
	if (open)
		field_add(v, &n, "Resolved", "not yet (open)", NULL);
	else
		field_time(v, &n, "Resolved", inc->resolved_ms);
	f = field_add(v, &n, "Duration", NULL, NULL);
	snprintf(f->buf, sizeof(f->buf), "%s%s", cli_span(fig->duration_ms, span, sizeof(span)), open ? " so far" : "");
	f = field_add(v, &n, "Time to detect", NULL, NULL);
	cli_span(fig->detect_ms, f->buf, sizeof(f->buf));
	if (fig->lead_ms < 0) {
		field_add(v, &n, "Lead time to first alert", "no alert was delivered", NULL);
	} else {
		f = field_add(v, &n, "Lead time to first alert", NULL, NULL);
		cli_span(fig->lead_ms, f->buf, sizeof(f->buf));
	}
	f = field_add(v, &n, "Failed runs", NULL, NULL);
	snprintf(f->buf, sizeof(f->buf), "%lld", (long long)inc->failed_runs);
	if (inc->flags & STORE_INC_SLOW)
		field_add(v, &n, "Slow only", "yes: only latency assertions failed", NULL);
	return n;
}

static void print_show_text(const struct store_timeline *t, const struct field *fv, size_t nf, const struct tl *tl)
{
	char when[32];
	int w = 0;

	printf("incident %lld: %s (%s)\n", (long long)t->inc.id, t->inc.probe, inc_state(&t->inc));
	for (size_t i = 0; i < nf; i++)
		w = (int)strlen(fv[i].label) > w ? (int)strlen(fv[i].label) : w;
	for (size_t i = 0; i < nf; i++) {
		printf("%c%s:%*s ", tolower((unsigned char)fv[i].label[0]), fv[i].label + 1,
		       w - (int)strlen(fv[i].label), "");
		cli_put_cell(stdout, false, fv[i].text ? fv[i].text : fv[i].buf, fv[i].detail);
		putchar('\n');
	}
	printf("\ntimeline (UTC):\n");
	for (size_t i = 0; i < tl->n; i++) {
		printf("%s  ", cli_time_utc(tl->v[i].at_ms, when, sizeof(when)));
		cli_put_cell(stdout, false, tl->v[i].what, tl->v[i].detail);
		putchar('\n');
	}
}

static void print_show_markdown(const struct store_timeline *t, const struct field *fv, size_t nf,
				const struct tl *tl)
{
	char when[32];

	printf("## Incident %lld: ", (long long)t->inc.id);
	cli_put_cell(stdout, true, t->inc.probe, NULL);
	printf(" (%s)\n\n| Field | Value |\n| --- | --- |\n", inc_state(&t->inc));
	for (size_t i = 0; i < nf; i++) {
		printf("| %s | ", fv[i].label);
		cli_put_cell(stdout, true, fv[i].text ? fv[i].text : fv[i].buf, fv[i].detail);
		printf(" |\n");
	}
	printf("\n### Timeline (UTC)\n\n| Time | Event |\n| --- | --- |\n");
	for (size_t i = 0; i < tl->n; i++) {
		printf("| %s | ", cli_time_utc(tl->v[i].at_ms, when, sizeof(when)));
		cli_put_cell(stdout, true, tl->v[i].what, tl->v[i].detail);
		printf(" |\n");
	}
}

static json_t *row_json(const struct tl_row *r)
{
	json_t *o = json_object();
	char *what = NULL;

	json_object_set_new(o, "at", cli_json_time(r->at_ms));
	json_object_set_new(o, "at_ms", json_integer(r->at_ms));
	if (r->detail && asprintf(&what, "%s: %s", r->what, r->detail) < 0)
		what = NULL;
	json_object_set_new(o, "what", cli_json_text(what ? what : r->what));
	free(what);
	json_object_set_new(o, "kind", json_string(tl_kind_names[r->kind]));
	if (r->kind == TL_ANNOTATION) {
		json_object_set_new(o, "annotation_id", json_integer(r->ann->id));
		json_object_set_new(o, "text", cli_json_text(r->ann->text));
		json_object_set_new(o, "probe", cli_json_text(r->ann->probe));
		json_object_set_new(o, "tag", cli_json_text(r->ann->tag));
	}
	if (r->kind != TL_ALERT)
		return o;
	int st = r->dlv->state;
	json_object_set_new(o, "event", cli_json_text(r->ev->kind));
	json_object_set_new(o, "event_id", json_integer(r->ev->id));
	json_object_set_new(o, "channel", cli_json_text(r->dlv->channel));
	json_object_set_new(o, "state", json_string(st >= 0 && st <= STORE_DLV_SUPPRESSED ? dlv_state_names[st] : "?"));
	json_object_set_new(o, "status", r->dlv->status ? json_integer(r->dlv->status) : json_null());
	json_object_set_new(o, "attempts", json_integer(r->dlv->attempts));
	json_object_set_new(o, "error", cli_json_text(r->dlv->error));
	return o;
}

static void print_show_json(const struct store_timeline *t, const struct figures *f, const struct tl *tl,
			    int64_t now)
{
	json_t *o = json_object(), *fig = json_object(), *rows = json_array();

	json_object_set_new(fig, "duration_s", json_integer(f->duration_ms / 1000));
	json_object_set_new(fig, "detect_s", json_integer(f->detect_ms / 1000));
	json_object_set_new(fig, "lead_s", f->lead_ms >= 0 ? json_integer(f->lead_ms / 1000) : json_null());
	for (size_t i = 0; i < tl->n; i++)
		json_array_append_new(rows, row_json(&tl->v[i]));
	json_object_set_new(o, "incident", incident_json(&t->inc, now));
	json_object_set_new(o, "figures", fig);
	json_object_set_new(o, "timeline", rows);
	cli_json_print(o);
	json_decref(o);
}

enum show_mode { SHOW_TEXT, SHOW_MARKDOWN, SHOW_JSON };

/* How long before an incident's first failure its timeline looks for annotations. */
#define ANN_BEFORE_MS (3600 * 1000LL)

/*
 * Whether annotation a concerns probe: it names no probe and no tag (every
 * probe), names probe, or names a tag of def (probe's definition; NULL when
 * the probe has left the config, whose tags are then unknown).
 */
static bool ann_concerns(const struct store_annotation *a, const char *probe, const struct probe_def *def)
{
	if (a->probe == NULL && a->tag == NULL)
		return true;
	return (a->probe && strcmp(a->probe, probe) == 0) || cli_probe_has_tag(def, a->tag);
}

/*
 * Reads the annotations that concern inc's probe from an hour before it
 * started until it was resolved (or now) into *out (a new array of *n).
 * Returns 0 or a negative error.
 */
static int read_annotations(struct store *s, const struct cfg *cfg, const struct store_incident *inc, int64_t now,
			    struct store_annotation **out, size_t *n)
{
	const struct probe_def *def = cfg_find_probe(cfg, inc->probe);
	int64_t until = inc->resolved_ms > 0 ? inc->resolved_ms : now;
	size_t all = 0, kept = 0;
	int rc = store_annotations(s, inc->started_ms - ANN_BEFORE_MS, until + 1, out, &all);

	for (size_t i = 0; rc == 0 && i < all; i++) {
		if (ann_concerns(&(*out)[i], inc->probe, def))
			(*out)[kept++] = (*out)[i];
		else
			store_annotation_clear(&(*out)[i]);
	}
	*n = rc == 0 ? kept : 0;
	return rc;
}

/* Reads incident id and prints it. Returns the exit status. */
static int show(const struct cfg *cfg, int64_t id, enum show_mode mode)
{
	struct store_timeline t = { 0 };
	struct store_annotation *ann = NULL;
	struct tl tl = { 0 };
	struct store *s = NULL;
	size_t nann = 0;
	int64_t now = probe_now_ms();
	int rc = cli_store_open(cfg, STORE_READONLY, &s);

	if (rc < 0)
		return 1;
	rc = store_incident_timeline(s, id, &t);
	/* Markers only add context: without them the timeline is still worth showing. */
	int arc = rc == 0 ? read_annotations(s, cfg, &t.inc, now, &ann, &nann) : 0;
	if (arc < 0)
		cli_fail(0, "incident show: cannot read annotations from %s: %s", cfg->db_path, strerror(-arc));
	store_close(s);
	if (rc == -ENOENT)
		return cli_fail(1, "no incident %lld", (long long)id);
	if (rc < 0)
		return cli_fail(1, "cannot read incident %lld from %s: %s", (long long)id, cfg->db_path, strerror(-rc));
	struct figures f;
	struct field fv[FIELDS_MAX];
	figures_of(&t, now, &f);
	size_t nf = fields_of(&t, &f, fv);
	rc = tl_build(&t, ann, nann, &tl);
	if (rc < 0)
		cli_fail(0, "incident show: %s", strerror(-rc));
	else if (mode == SHOW_JSON)
		print_show_json(&t, &f, &tl, now);
	else if (mode == SHOW_MARKDOWN)
		print_show_markdown(&t, fv, nf, &tl);
	else
		print_show_text(&t, fv, nf, &tl);
	tl_clear(&tl);
	store_annotations_free(ann, nann);
	store_timeline_clear(&t);
	return rc < 0 ? 1 : 0;
}

int cli_incident(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' }, { "markdown", no_argument, NULL, 'm' },
		{ "json", no_argument, NULL, 'j' },	    { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static const char *const subs[] = { "show", NULL };
	const char *config = NULL;
	int mode = SHOW_TEXT, c;
	int64_t id = 0;

	if (cli_subcommand(argc, argv, subs, show_usage, &c) < 0)
		return c;
	optind = 0;
	while ((c = getopt_long(argc - 1, argv + 1, "c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': config = optarg; break;
		case 'h': fputs(show_usage, stdout); return 0;
		case 'm':
		case 'j':
			if (mode != SHOW_TEXT && mode != (c == 'm' ? SHOW_MARKDOWN : SHOW_JSON))
				return cli_usage_error(show_usage, "incident show: --markdown or --json, not both");
			mode = c == 'm' ? SHOW_MARKDOWN : SHOW_JSON;
			break;
		default: return cli_usage_error(show_usage, NULL);
		}
	}
	if (optind != argc - 2)
		return cli_usage_error(show_usage, "incident show: one incident ID, please");
	if (cli_parse_id(argv[1 + optind], &id) < 0)
		return cli_usage_error(show_usage, "incident show: \"%s\" is not an incident ID", argv[1 + optind]);
	struct cfg *cfg = cli_load_config(cli_config_path(config), CFG_SKIP_SECRETS);
	if (cfg == NULL)
		return 1;
	int status = show(cfg, id, mode);
	cfg_free(cfg);
	return status;
}

/* ------------------------------------------------------------------ the list */

static void print_list(const struct store_incident *v, size_t n, int64_t now)
{
	int wi = 2, wp = 5, ws = 4;
	char buf[32];

	for (size_t i = 0; i < n; i++) {
		int l = snprintf(buf, sizeof(buf), "%lld", (long long)v[i].id);
		wi = l > wi ? l : wi;
		wp = (int)strlen(v[i].probe) > wp ? (int)strlen(v[i].probe) : wp;
		if (v[i].failed_step && (int)strlen(v[i].failed_step) > ws)
			ws = (int)strlen(v[i].failed_step);
	}
	printf("%-*s  %-*s  %-8s  %-19s  %-8s  %5s  %-*s  %s\n", wi, "ID", wp, "PROBE", "STATE", "STARTED", "DURATION",
	       "RUNS", ws, "STEP", "ERROR");
	for (size_t i = 0; i < n; i++) {
		const struct store_incident *inc = &v[i];
		char started[32], dur[32];
		printf("%-*lld  %-*s  %-8s  %-19s  %-8s  %5lld  %-*s  ", wi, (long long)inc->id, wp, inc->probe,
		       inc_state(inc), cli_time_utc(inc->started_ms, started, sizeof(started)),
		       cli_span(inc_duration_ms(inc, now), dur, sizeof(dur)), (long long)inc->failed_runs, ws,
		       inc->failed_step ? inc->failed_step : "-");
		cli_put_flat(stdout, inc->first_error ? inc->first_error : "-", 60);
		putchar('\n');
	}
}

/* Lists what f selects from cfg's database. Returns the exit status. */
static int list(const struct cfg *cfg, const struct store_incident_filter *f, bool json)
{
	struct store_incident *v = NULL;
	struct store *s = NULL;
	size_t n = 0;
	int rc = cli_store_open(cfg, STORE_READONLY, &s);

	if (rc == -ENOENT) {
		/* Not an error: nothing has been recorded yet (stderr said so). */
		if (json)
			puts("[]");
		return 0;
	}
	if (rc < 0)
		return 1;
	rc = store_incidents(s, f, &v, &n);
	store_close(s);
	if (rc < 0)
		return cli_fail(1, "cannot read incidents from %s: %s", cfg->db_path, strerror(-rc));
	int64_t now = probe_now_ms();
	if (json) {
		json_t *arr = json_array();
		for (size_t i = 0; i < n; i++)
			json_array_append_new(arr, incident_json(&v[i], now));
		cli_json_print(arr);
		json_decref(arr);
	} else if (n == 0) {
		puts("no incidents");
	} else {
		print_list(v, n, now);
	}
	for (size_t i = 0; i < n; i++)
		store_incident_clear(&v[i]);
	free(v);
	return 0;
}

int cli_incidents(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' }, { "open", no_argument, NULL, 'o' },
		{ "probe", required_argument, NULL, 'p' },  { "since", required_argument, NULL, 's' },
		{ "limit", required_argument, NULL, 'l' },  { "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },	    { NULL, 0, NULL, 0 },
	};
	struct store_incident_filter f = { 0 };
	const char *config = NULL;
	bool json = false;
	int64_t v = 0;
	int c;

	optind = 0;
	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': config = optarg; break;
		case 'o': f.open_only = true; break;
		case 'p': f.probe = optarg; break;
		case 's':
			if (probe_duration_parse(optarg, &v) < 0 || v <= 0)
				return cli_usage_error(list_usage, "incidents: --since wants a duration (30m, 24h, 7d), not \"%s\"",
						       optarg);
			f.since_ms = probe_now_ms() - v;
			break;
		case 'l':
			if (cli_parse_id(optarg, &v) < 0)
				return cli_usage_error(list_usage, "incidents: --limit wants a positive number, not \"%s\"", optarg);
			f.limit = (size_t)v;
			break;
		case 'j': json = true; break;
		case 'h': fputs(list_usage, stdout); return 0;
		default: return cli_usage_error(list_usage, NULL);
		}
	}
	if (optind != argc)
		return cli_usage_error(list_usage, "incidents: unexpected \"%s\"", argv[optind]);
	struct cfg *cfg = cli_load_config(cli_config_path(config), CFG_SKIP_SECRETS);
	if (cfg == NULL)
		return 1;
	int status = list(cfg, &f, json);
	cfg_free(cfg);
	return status;
}
