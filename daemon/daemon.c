/* daemon.c - `canary run`: the loop, start-up, signals, and a shutdown that loses no result. */
#include "daemon/daemon_int.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define DEFAULT_GRACE_MS 4500

static void store_log(int prio, const char *msg, void *arg)
{
	(void)arg;
	daemon_log(prio, "storage: %s", msg);
}

/* mkdir -p, for state_dir. */
static int make_dirs(const char *path)
{
	char buf[4096];
	size_t n = strlen(path);

	if (n == 0 || n >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, path, n + 1);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0750) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, 0750) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* The store's writer thread: a commit may release alerts waiting for it. */
static void store_committed(uint64_t seq, void *arg)
{
	struct daemon *d = arg;

	uv_mutex_lock(&d->alerts_lock);
	if (d->alerts)
		alert_committed(d->alerts, seq);
	uv_mutex_unlock(&d->alerts_lock);
}

static void alert_log(int prio, const char *msg)
{
	daemon_log(prio, "alerts: %s", msg);
}

static void on_engine_closed(void *arg)
{
	(void)arg; /* nothing is left on the loop: uv_run returns */
}

static void on_sched_closed(struct daemon__sched *s)
{
	struct daemon *d = daemon__container_of(s, struct daemon, sched);

	probe_engine_close(d->engine, on_engine_closed, d);
	d->engine = NULL;
}

static void close_all(struct daemon *d);

/* Every run has ended. */
static void on_idle(struct daemon__sched *s)
{
	struct daemon *d = daemon__container_of(s, struct daemon, sched);

	d->sched_idle = true;
	close_all(d);
}

/* No alert is in flight. */
static void on_alerts_idle(void *arg)
{
	struct daemon *d = arg;

	d->alerts_idle = true;
	close_all(d);
}

static void on_alerts_closed(void *arg)
{
	(void)arg;
}

/* Runs and deliveries are over: close every handle so that the loop ends. */
static void close_all(struct daemon *d)
{
	if (d->closing || !d->sched_idle || !d->alerts_idle)
		return;
	d->closing = true;
	if (d->alerts != NULL) {
		struct alert_service *a = d->alerts;
		struct alert_stats st;
		alert_get_stats(a, &st);
		if (st.pending > 0)
			daemon_log(LOG_NOTICE, "%" PRIu64 " alert%s not delivered yet will be sent at the next start",
				   st.pending, st.pending == 1 ? "" : "s");
		uv_mutex_lock(&d->alerts_lock);
		d->alerts = NULL;
		d->sched.alerts = NULL;
		uv_mutex_unlock(&d->alerts_lock);
		alert_close(a, on_alerts_closed, d);
	}
	uv_close((uv_handle_t *)&d->sigterm, NULL);
	uv_close((uv_handle_t *)&d->sigint, NULL);
	uv_close((uv_handle_t *)&d->sighup, NULL);
	/*
	 * Closing the last watcher gave SIGHUP back its default action, which
	 * ends the process: a `systemctl reload` while the last results are
	 * written, or a reload load finishes, must not lose them.
	 */
	signal(SIGHUP, SIG_IGN);
	uv_close((uv_handle_t *)&d->grace, NULL);
	daemon__control_close(d);
	daemon__status_close(d);
	daemon__retention_close(d);
	daemon__sched_close(&d->sched, on_sched_closed);
}

static void on_grace_over(uv_timer_t *t)
{
	struct daemon *d = t->data;

	daemon_log(LOG_NOTICE, "abandoning %zu run%s still going", probe_engine_active(d->engine),
		   probe_engine_active(d->engine) == 1 ? "" : "s");
	daemon__sched_abort(&d->sched);
	if (d->alerts)
		alert_abort(d->alerts);
}

static void begin_stop(struct daemon *d, int signum)
{
	if (d->stopping) {
		/* A second signal: the operator does not want to wait. */
		if (!d->closing) {
			daemon__sched_abort(&d->sched);
			if (d->alerts)
				alert_abort(d->alerts);
		}
		return;
	}
	d->stopping = true;
	daemon_notify("STOPPING=1");
	/* A retention pass must not hold up the exit: it stops after its transaction, the next start resumes it. */
	atomic_store(&d->retention_cancel, true);
	/* A canary started now may take the socket while this one finishes its runs. */
	daemon__control_stop(d);
	size_t active = probe_engine_active(d->engine);
	daemon_log(LOG_INFO, "%s: stopping%s", strsignal(signum),
		   active ? ", letting runs in flight finish" : "");
	/* Deliveries in flight get the same grace as runs; the rest wait in the outbox. */
	uv_timer_start(&d->grace, on_grace_over, (uint64_t)d->grace_ms, 0);
	if (d->alerts)
		alert_stop(d->alerts, on_alerts_idle, d);
	else
		d->alerts_idle = true;
	daemon__sched_stop(&d->sched);
}

static void on_signal(uv_signal_t *h, int signum)
{
	struct daemon *d = h->data;

	if (signum == SIGHUP) {
		int rc = d->stopping ? 0 : daemon__reload_request(d, NULL);
		if (rc < 0)
			daemon_log(LOG_ERR, "SIGHUP: cannot reload: %s", uv_strerror(rc));
		else if (!d->stopping)
			daemon_log(LOG_INFO, "SIGHUP: reloading %s", d->cfg->path);
		return;
	}
	begin_stop(d, signum);
}

/* Initialises the daemon's own handles; after this, on_idle can close them all. */
static int init_handles(struct daemon *d)
{
	uv_signal_t *hs[] = { &d->sigterm, &d->sigint, &d->sighup };
	int sigs[] = { SIGTERM, SIGINT, SIGHUP }, rc;

	for (size_t i = 0; i < 3; i++) {
		if ((rc = uv_signal_init(&d->loop, hs[i])) < 0)
			return rc;
		hs[i]->data = d;
	}
	if ((rc = uv_timer_init(&d->loop, &d->grace)) < 0)
		return rc;
	d->grace.data = d;
	for (size_t i = 0; i < 3; i++)
		if ((rc = uv_signal_start(hs[i], on_signal, sigs[i])) < 0)
			return rc;
	if ((rc = daemon__status_start(d)) < 0)
		return rc;
	return daemon__retention_start(d);
}

static int open_store(struct daemon *d)
{
	struct store_opts so = { .path = d->cfg0->db_path, .max_pending = (size_t)d->cfg0->storage_max_pending,
				 .log = store_log, .committed = store_committed, .committed_arg = d };
	char *err = NULL;
	int rc = make_dirs(d->cfg0->state_dir);

	if (rc < 0) {
		daemon_log(LOG_ERR, "cannot create state_dir %s: %s", d->cfg0->state_dir, strerror(-rc));
		return rc;
	}
	rc = store_open(&so, &d->store, &err);
	if (rc < 0) {
		daemon_log(LOG_ERR, "cannot open database %s: %s", d->cfg0->db_path, err ? err : strerror(-rc));
		free(err);
		return rc;
	}
	return 0;
}

/* Builds the alerting service and its probes; reads open incidents and the outbox (before the loop runs). */
static int start_alerts(struct daemon *d)
{
	struct alert_opts o = {
		.loop = &d->loop, .engine = d->engine, .store = d->store, .channels = d->cfg0->channels,
		.secrets = { (const char *const *)d->cfg0->channel_secrets, d->cfg0->nchannel_secrets },
		.log = alert_log,
	};
	struct alert_service *a = NULL;
	char *err = NULL;
	int rc = alert_new(&o, &a, &err);

	if (rc < 0) {
		daemon_log(LOG_ERR, "cannot start alerting: %s", err ? err : strerror(-rc));
		free(err);
		return rc;
	}
	for (size_t i = 0; i < d->cfg->nprobes && rc == 0; i++) {
		struct probe_def *def = d->cfg->probes[i];
		struct alert_policy pol;
		rc = alert_policy_parse(json_object_get(def->raw, "alert"), &d->cfg->alert, &pol, NULL, NULL);
		if (rc == 0)
			rc = alert_add_probe(a, def, &pol);
		alert_policy_clear(&pol);
	}
	/* Set before the writer starts, so that no commit is missed. */
	d->alerts = a;
	d->sched.alerts = a;
	if (rc < 0) {
		daemon_log(LOG_ERR, "cannot start alerting: %s", strerror(-rc));
		return rc;
	}
	if ((rc = store_writer_start(d->store)) < 0)
		daemon_log(LOG_ERR, "cannot start the database writer: %s", strerror(-rc));
	return rc;
}

/* Writes what is pending; store_close bounds the wait and logs what could not be written. */
static void finish_store(struct daemon *d)
{
	if (d->store == NULL)
		return;
	store_close(d->store);
	d->store = NULL;
	daemon_log(LOG_INFO, "stopped after %" PRIu64 " runs (%" PRIu64 " skipped)", d->sched.runs,
		   d->sched.skipped);
}

/* Start-up's last step: the probes run; systemd hears that we are ready. */
static void announce(struct daemon *d)
{
	struct cfg *cfg = d->cfg;

	if (cfg->nprobes == 0)
		daemon_log(LOG_WARNING, "no probes in %s: nothing to run", cfg->probes_dir);
	daemon_log(LOG_INFO, "canary %s running %zu probe%s; results in %s", CANARY_VERSION, cfg->nprobes,
		   cfg->nprobes == 1 ? "" : "s", cfg->db_path);
	/* Before READY: `systemctl reload` may come right after it. */
	daemon__control_open(d);
	daemon_notify("READY=1");
	daemon__notify_status(d);
}

int daemon_run(struct cfg *cfg, const struct daemon_opts *opts)
{
	struct daemon *d = calloc(1, sizeof(*d));
	int rc, status = 1;

	if (d == NULL)
		return 1;
	d->cfg0 = d->cfg = cfg;
	d->grace_ms = opts && opts->grace_ms > 0 ? opts->grace_ms : DEFAULT_GRACE_MS;
	d->started_ms = probe_now_ms();
	signal(SIGPIPE, SIG_IGN);
	/* Until its watcher starts (libuv replaces this), a SIGHUP must not end start-up. */
	signal(SIGHUP, SIG_IGN);
	if (uv_loop_init(&d->loop) < 0 || uv_mutex_init(&d->alerts_lock) < 0) {
		free(d);
		return 1;
	}
	/* First: a second canary on the same socket must not touch the database. */
	if (daemon__control_claim(d) < 0 || open_store(d) < 0)
		goto out;
	rc = probe_engine_new(&d->loop, &d->engine);
	if (rc < 0) {
		daemon_log(LOG_ERR, "cannot start the probe engine: %s", uv_strerror(rc));
		goto out;
	}
	d->sched = (struct daemon__sched){ .loop = &d->loop, .engine = d->engine, .store = d->store,
					   .idle_cb = on_idle };
	if ((rc = init_handles(d)) < 0) {
		/* Nothing much can be closed cleanly here; the process is about to exit. */
		daemon_log(LOG_ERR, "cannot start: %s", uv_strerror(rc));
		goto out;
	}
	if ((rc = start_alerts(d)) < 0 || (rc = daemon__sched_start(&d->sched, cfg->probes, cfg->nprobes)) < 0) {
		daemon_log(LOG_ERR, "cannot start: %s", uv_strerror(rc));
		begin_stop(d, SIGTERM);
	} else {
		status = 0;
		announce(d);
	}
	uv_run(&d->loop, UV_RUN_DEFAULT);
out:
	if (d->alerts != NULL) {
		/* Start-up failed with alerting built: close it before the engine it uses. */
		alert_close(d->alerts, on_alerts_closed, d);
		d->alerts = NULL;
	}
	if (d->engine != NULL) {
		/* Start-up failed before the scheduler: close the engine alone. */
		probe_engine_close(d->engine, on_engine_closed, d);
	}
	daemon__control_close(d);
	uv_run(&d->loop, UV_RUN_DEFAULT);
	finish_store(d);
	if (uv_loop_close(&d->loop) != 0)
		daemon_log(LOG_WARNING, "the loop still had handles at exit");
	uv_mutex_destroy(&d->alerts_lock);
	daemon__reload_free(d);
	if (d->cfg != d->cfg0)
		cfg_free(d->cfg);
	free(d);
	return status;
}
