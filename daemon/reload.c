/* reload.c - SIGHUP and the socket's reload: the config is loaded off the loop, then the probes are diffed and applied. */
#include "daemon/daemon_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Coalescing: one load at a time. A request that comes while a load runs
 * cannot be answered by it (that load may have read the files before the
 * change the requester wants seen), so it waits in `next` and one more load
 * starts when this one ends, for all of them at once.
 */

static void load_work(uv_work_t *w)
{
	struct daemon__reload *r = w->data;

	/* On the thread pool: files, secrets and parsing; nothing shared with the loop. */
	r->rc = cfg_load(r->path, 0, &r->loaded, &r->diags);
}

static void load_done(uv_work_t *w, int status);

static int start_load(struct daemon *d)
{
	struct daemon__reload *r = &d->reload;
	int rc;

	if (r->path == NULL && (r->path = strdup(d->cfg0->path)) == NULL)
		return -ENOMEM;
	r->work.data = r;
	r->loaded = NULL;
	if ((rc = uv_queue_work(&d->loop, &r->work, load_work, load_done)) < 0)
		return rc;
	r->busy = true;
	/* CLOCK_MONOTONIC (uv_hrtime's) in µs: Type=notify-reload matches it to the reload it asked for. */
	daemon_notifyf("RELOADING=1\nMONOTONIC_USEC=%llu", (unsigned long long)(uv_hrtime() / 1000));
	return 0;
}

int daemon__reload_request(struct daemon *d, struct daemon__pending *p)
{
	struct daemon__reload *r = &d->reload;
	struct daemon__pending **list = r->busy ? &r->next : &r->current;
	int rc;

	if (d->stopping)
		return -ECANCELED;
	if (r->busy) {
		r->again = true;
	} else if ((rc = start_load(d)) < 0) {
		return rc;
	}
	if (p != NULL) {
		p->next = *list;
		*list = p;
	}
	return 0;
}

/* ------------------------------------------------------------------ the diff */

/* The policy def runs under in c; alert_policy_clear it. */
static void policy_of(const struct probe_def *def, const struct cfg *c, struct alert_policy *out)
{
	if (alert_policy_parse(json_object_get(def->raw, "alert"), &c->alert, out, NULL, NULL) < 0) {
		/* The loader checked it: this is out of memory, and the defaults are the safe side. */
		alert_policy_clear(out);
		alert_policy_init(out);
	}
}

static bool policy_equal(const struct alert_policy *a, const struct alert_policy *b)
{
	if (a->after != b->after || a->recover_after != b->recover_after || a->flap_changes != b->flap_changes ||
	    a->flap_window_ms != b->flap_window_ms || a->remind_every_ms != b->remind_every_ms ||
	    a->nchannels != b->nchannels)
		return false;
	for (size_t i = 0; i < a->nchannels; i++)
		if (strcmp(a->channels[i], b->channels[i]) != 0)
			return false;
	return true;
}

static bool secrets_equal(const struct probe_def *a, const struct probe_def *b)
{
	if (a->nsecrets != b->nsecrets)
		return false;
	for (size_t i = 0; i < a->nsecrets; i++)
		if (strcmp(a->secrets[i], b->secrets[i]) != 0)
			return false;
	return true;
}

/* Did the probe change, between a under ca and b under cb? */
static bool probe_changed(const struct probe_def *a, const struct cfg *ca, const struct probe_def *b,
			  const struct cfg *cb)
{
	struct alert_policy pa, pb;
	bool same;

	if (!json_equal(a->raw, b->raw) || a->every_ms != b->every_ms || a->timeout_ms != b->timeout_ms ||
	    a->max_body != b->max_body || a->paused != b->paused || !secrets_equal(a, b))
		return true;
	policy_of(a, ca, &pa);
	policy_of(b, cb, &pb);
	same = policy_equal(&pa, &pb);
	alert_policy_clear(&pa);
	alert_policy_clear(&pb);
	return !same;
}

/* Tells alerting about def; alerting keeps the probe's incident state when it knows the name. */
static void alert_track(struct daemon *d, struct probe_def *def, const struct cfg *c)
{
	struct alert_policy pol;
	int rc;

	if (d->alerts == NULL)
		return;
	policy_of(def, c, &pol);
	if ((rc = alert_update_probe(d->alerts, def, &pol)) < 0)
		daemon_log(LOG_ERR, "reload: probe %s: cannot update its alerting: %s", def->name, strerror(-rc));
	alert_policy_clear(&pol);
}

/* Appends "label a, b" for a non-empty array of names to buf. */
static void put_names(char *buf, size_t size, const char *label, const json_t *names)
{
	size_t n = strlen(buf), i;
	json_t *v;

	if (json_array_size(names) == 0)
		return;
	n += (size_t)snprintf(buf + n, n < size ? size - n : 0, "%s%s", n ? "; " : "", label);
	json_array_foreach(names, i, v) {
		if (n >= size)
			return;
		n += (size_t)snprintf(buf + n, size - n, "%s%s", i ? ", " : " ", json_string_value(v));
	}
}

/* The main-file keys that changed but apply only at restart; logged. */
static json_t *restart_needed(const struct cfg *run, const struct cfg *nc)
{
	json_t *keys = json_array();

	if (strcmp(run->state_dir, nc->state_dir) != 0)
		json_array_append_new(keys, json_string("state_dir"));
	if (strcmp(run->control_socket, nc->control_socket) != 0)
		json_array_append_new(keys, json_string("control_socket"));
	/* The store's queue is sized when the database is opened. */
	if (run->storage_max_pending != nc->storage_max_pending)
		json_array_append_new(keys, json_string("storage.max_pending"));
	/* No "channels" and an empty one are the same. */
	if (!json_equal(run->channels, nc->channels) &&
	    (json_object_size(run->channels) > 0 || json_object_size(nc->channels) > 0))
		json_array_append_new(keys, json_string("channels"));
	if (json_array_size(keys) > 0) {
		char line[512] = "";
		put_names(line, sizeof(line), "changed:", keys);
		daemon_log(LOG_NOTICE, "reload: %s; these apply only after a restart", line);
	}
	return keys;
}

static int by_name(const void *key, const void *elem)
{
	return strcmp(key, (*(struct probe_def *const *)elem)->name);
}

/* Is there a probe named name in nc? Its probes are sorted by name: a search, not a scan per entry. */
static bool has_probe(const struct cfg *nc, const char *name)
{
	return nc->nprobes > 0 && bsearch(name, nc->probes, nc->nprobes, sizeof(*nc->probes), by_name) != NULL;
}

/* Removed probes stop first: the array shifts as new ones are added. */
static void apply_removals(struct daemon *d, const struct cfg *nc, json_t *removed)
{
	struct daemon__sched *s = &d->sched;

	for (size_t i = 0; i < s->nentries; i++) {
		struct daemon__entry *en = s->entries[i];
		if (en->retired || has_probe(nc, en->def->name))
			continue;
		json_array_append_new(removed, json_string(en->def->name));
		if (d->alerts)
			alert_remove_probe(d->alerts, en->def->name);
		daemon__sched_remove(s, en);
	}
}

/* Applies nc (stolen) to the running daemon; returns the answer. */
static json_t *apply(struct daemon *d, struct cfg *nc)
{
	json_t *added = json_array(), *changed = json_array(), *removed = json_array();
	json_t *unchanged = json_array(), *paused = json_array();
	char line[1024] = "";
	int rc;

	apply_removals(d, nc, removed);
	for (size_t i = 0; i < nc->nprobes; i++) {
		struct probe_def *def = nc->probes[i];
		struct daemon__entry *en = daemon__sched_find(&d->sched, def->name);
		if (def->paused)
			json_array_append_new(paused, json_string(def->name));
		if (en != NULL && !probe_changed(en->def, d->cfg, def, nc)) {
			/* Its timer and schedule are not touched. */
			json_array_append_new(unchanged, json_string(def->name));
			continue;
		}
		if (en != NULL) {
			daemon__sched_update(&d->sched, en, def);
			json_array_append_new(changed, json_string(def->name));
		} else if ((rc = daemon__sched_add(&d->sched, def)) < 0) {
			daemon_log(LOG_ERR, "reload: probe %s: cannot schedule it: %s", def->name, strerror(-rc));
			continue;
		} else {
			json_array_append_new(added, json_string(def->name));
		}
		alert_track(d, def, nc);
	}
	json_t *restart = restart_needed(d->cfg0, nc);
	put_names(line, sizeof(line), "added", added);
	put_names(line, sizeof(line), "changed", changed);
	put_names(line, sizeof(line), "removed", removed);
	daemon_log(LOG_INFO, "reloaded %s: %s; %zu unchanged, %zu paused", nc->path, line[0] ? line : "no probe changed",
		   json_array_size(unchanged), json_array_size(paused));
	if (d->cfg != d->cfg0)
		cfg_free(d->cfg);
	d->cfg = nc;
	return json_pack("{s:b, s:o, s:o, s:o, s:o, s:o, s:o}", "ok", 1, "added", added, "changed", changed,
			 "removed", removed, "unchanged", unchanged, "paused", paused, "restart_needed", restart);
}

/* text (len bytes) as a new JSON string; bytes that are not UTF-8 (a file name's, say) become '?'. */
static json_t *text_json(char *text, size_t len)
{
	json_t *v = json_stringn(text, len);

	if (v != NULL)
		return v;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)text[i] >= 0x80 || text[i] == '\0')
			text[i] = '?';
	return json_stringn(text, len);
}

/* The answer to an invalid config: each diagnostic as cfg_diags_print prints it, also logged. */
static json_t *refuse(struct daemon__reload *r)
{
	json_t *diags = json_array();

	for (size_t i = 0; i < r->diags.n; i++) {
		struct cfg_diags one = { .v = &r->diags.v[i], .n = 1 };
		char *text = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&text, &len);
		if (f == NULL)
			continue;
		cfg_diags_print(&one, f);
		fclose(f);
		if (len > 0 && text[len - 1] == '\n')
			text[--len] = '\0';
		daemon_log(LOG_ERR, "reload: %s", text);
		json_array_append_new(diags, text_json(text, len));
		free(text);
	}
	daemon_log(LOG_ERR, "reload: %s is invalid (%s); still running the previous config", r->path,
		   strerror(-r->rc));
	return json_pack("{s:b, s:s, s:o}", "ok", 0, "error", "the new config is invalid; the running one stays",
			 "diagnostics", diags);
}

/* Tells each of list its answer (a reference is taken for each). */
static void answer_all(struct daemon__pending *list, json_t *answer)
{
	for (struct daemon__pending *p = list, *next; p != NULL; p = next) {
		next = p->next;
		p->done(p, json_incref(answer));
	}
}

static void load_done(uv_work_t *w, int status)
{
	struct daemon__reload *r = w->data;
	struct daemon *d = daemon__container_of(r, struct daemon, reload);
	struct daemon__pending *answered = r->current, *failed = NULL;
	json_t *answer;
	int rc = 0;

	r->busy = false;
	r->current = NULL;
	if (status < 0 || d->stopping) {
		cfg_free(r->loaded);
		answer = json_pack("{s:b, s:s}", "ok", 0, "error", "canary is stopping");
	} else if (r->rc < 0) {
		answer = refuse(r);
	} else {
		answer = apply(d, r->loaded);
	}
	r->loaded = NULL;
	cfg_diags_free(&r->diags);
	if (!d->stopping) {
		daemon_notify("READY=1");
		daemon__notify_status(d);
	}
	/*
	 * The next load starts before anyone is answered: an answer may make its
	 * client ask again at once, and that request must find this state.
	 */
	if (r->again) {
		r->again = false;
		r->current = r->next;
		r->next = NULL;
		if ((rc = d->stopping ? -ECANCELED : start_load(d)) < 0) {
			failed = r->current;
			r->current = NULL;
		}
	}
	answer_all(answered, answer);
	json_decref(answer);
	if (failed != NULL) {
		answer = json_pack("{s:b, s:s}", "ok", 0, "error", rc == -ECANCELED ? "canary is stopping" : strerror(-rc));
		answer_all(failed, answer);
		json_decref(answer);
	}
}

void daemon__reload_free(struct daemon *d)
{
	free(d->reload.path);
	d->reload.path = NULL;
}
