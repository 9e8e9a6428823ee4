/* config.h - loading and validating the main config file and the probe files it points to. */
#ifndef CANARY_CONFIG_H
#define CANARY_CONFIG_H

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

#include "alerting/alert.h"
#include "probes/probe.h"

/* One problem in a file; line and col are 1-based, 0 when the problem has no position. */
struct cfg_diag {
	char *file;   /* owned */
	int line;
	int col;
	char *msg;    /* owned */
};

/* Every problem found, in file order: a load reports them all, not just the first. */
struct cfg_diags {
	struct cfg_diag *v;
	size_t n;
	size_t cap;
};

/* Prints each diagnostic as "FILE:LINE:COL: message" (or "FILE: message"), one per line. */
void cfg_diags_print(const struct cfg_diags *d, FILE *out);
/* Frees what d holds and empties it. */
void cfg_diags_free(struct cfg_diags *d);

#define CFG_DEFAULT_PATH "/etc/canary/canary.json"
#define CFG_DEFAULT_SOCKET "/run/canary/control.sock"

enum {
	/*
	 * Do not resolve ${env:..}, ${file:..} or ${cred:..}: they read as empty
	 * strings. For commands that only read state (status), which run in an
	 * operator's shell without the daemon's secrets.
	 */
	CFG_SKIP_SECRETS = 1,
};

/* The main config and the probes it loaded. */
struct cfg {
	unsigned flags;        /* CFG_* it was loaded with */
	char *path;            /* the main file, as given; owned */
	char *dir;             /* its directory; owned */
	char *state_dir;       /* owned; relative paths are resolved against dir */
	char *probes_dir;      /* owned; likewise */
	char *db_path;         /* state_dir/canary.db; owned */
	char *control_socket;  /* owned; "control_socket", default CFG_DEFAULT_SOCKET, relative to dir */
	int64_t retention_raw_ms;    /* "retention"/"raw": runs older are rolled up and pruned (30d) */
	int64_t retention_hourly_ms; /* "retention"/"hourly": hourly rollups older are pruned (400d) */
	int64_t storage_max_pending; /* "storage"/"max_pending": results held in memory while writes
				      * fail (100000, 1 .. 10000000); read only at start */
	int64_t every_ms;      /* defaults for probes */
	int64_t timeout_ms;
	int64_t max_body;
	json_t *channels;      /* owned; name -> channel config, ${...} resolved, checked by alerting */
	char **channel_secrets; /* owned; the resolved ${...} values in channels, to keep out of logs */
	size_t nchannel_secrets;
	struct alert_policy alert; /* defaults.alert over the built-ins; owned */
	struct probe_def **probes; /* sorted by name; each holds a reference */
	size_t nprobes;
};

/*
 * Loads the main file at path and every *.json probe in its probes_dir.
 * Returns 0 and *out, or -EINVAL with every problem appended to diags
 * (or another negative error, also described there).
 */
int cfg_load(const char *path, unsigned flags, struct cfg **out, struct cfg_diags *diags);

/*
 * Loads one probe file. defaults gives every/timeout/max_body and flags (NULL:
 * the built-in 30s, 10s, 1 MiB, no flags). Returns 0 and *out (one reference), or a negative
 * error with problems appended to diags.
 */
int cfg_load_probe(const char *path, const struct cfg *defaults, struct probe_def **out,
		   struct cfg_diags *diags);

/*
 * Loads a probe from text (len bytes, borrowed) as if it were the file named
 * display: diagnostics name display, and a probe without "name" takes
 * display's base name without ".json". Otherwise as cfg_load_probe.
 */
int cfg_parse_probe(const char *display, const char *text, size_t len, const struct cfg *defaults,
		    struct probe_def **out, struct cfg_diags *diags);

/* Returns the probe named name (borrowed), or NULL. */
struct probe_def *cfg_find_probe(const struct cfg *c, const char *name);

/* Frees c and drops its references to probes. Accepts NULL. */
void cfg_free(struct cfg *c);

#endif
