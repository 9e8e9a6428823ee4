/* probe_edit.c - how `canary probe` changes probe files (atomically) and tells the daemon; rm, pause, resume. */
#include "cli/cli_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* How long a reload may take: the daemon loads every probe file and its secrets. */
#define RELOAD_TIMEOUT_MS 10000

static const char rm_usage[] =
	"usage: canary probe rm [-c CONFIG] NAME\n\n"
	"Deletes the file that defines probe NAME (whatever its file is called), then asks\n"
	"the running daemon to reload, which stops running it. Its recorded runs and\n"
	"incidents stay in the database.\n\n"
	"  -c, --config FILE  the main config file\n\n"
	"Exit status: 0 removed, 1 no such probe or an error, 2 usage.\n";

static const char pause_usage[] =
	"usage: canary probe pause [-c CONFIG] NAME\n\n"
	"Sets \"paused\": true in probe NAME's file and asks the running daemon to reload.\n"
	"A paused probe is kept but not run; `canary status` shows it as paused. The pause\n"
	"is in the file, so it holds across reloads and restarts until `canary probe\n"
	"resume NAME`. Pausing a paused probe changes nothing.\n\n"
	"  -c, --config FILE  the main config file\n\n"
	"Exit status: 0 paused (or already), 1 no such probe or an error, 2 usage.\n";

static const char resume_usage[] =
	"usage: canary probe resume [-c CONFIG] NAME\n\n"
	"Removes \"paused\" from probe NAME's file and asks the running daemon to reload,\n"
	"which runs it on its schedule again.\n\n"
	"  -c, --config FILE  the main config file\n\n"
	"Exit status: 0 resumed (or was not paused), 1 no such probe or an error, 2 usage.\n";

/* ------------------------------------------------------------------ writing files */

char *cli_probe_text(const json_t *root)
{
	/*
	 * 15 significant digits: 0.1 stays 0.1 (17 would write 0.10000000000000001),
	 * and no probe value needs more.
	 */
	char *text = json_dumps(root, JSON_INDENT(2) | JSON_REAL_PRECISION(15));
	char *out = NULL;

	if (text && asprintf(&out, "%s\n", text) < 0)
		out = NULL;
	free(text);
	return out;
}

/* Writes len bytes of text to fd. Returns 0 or a negative error. */
static int write_all(int fd, const char *text, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, text, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		text += n;
		len -= (size_t)n;
	}
	return 0;
}

/* The directory that holds path, as a new string: "/" for "/x.json", "." for "x.json"; NULL out of memory. */
static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash == path ? strdup("/") : slash ? strndup(path, (size_t)(slash - path)) : strdup(".");
}

/*
 * fsyncs directory dir, so that a rename or unlink in it survives a crash.
 * Called once the change is made: a failure only risks it on a crash, and is
 * warned about.
 */
static void sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0 || fsync(fd) < 0)
		fprintf(stderr, "canary: warning: cannot sync %s: %s\n", dir, strerror(errno));
	if (fd >= 0)
		close(fd);
}

/* Puts tmp in path's place: without replace, never over an existing file, even one created since we looked. */
static int put_in_place(const char *tmp, const char *path, bool replace)
{
	if (replace)
		return rename(tmp, path) < 0 ? -errno : 0;
	if (renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -errno;
	/* A file system without RENAME_NOREPLACE: link() refuses an existing name just as well. */
	if (link(tmp, path) < 0)
		return -errno;
	unlink(tmp);
	return 0;
}

int cli_write_atomic(const char *path, const char *text, size_t len, bool replace)
{
	const char *slash = strrchr(path, '/');
	char *dir = dir_of(path), *tmp = NULL;
	struct stat st;
	bool existed = stat(path, &st) == 0;
	int fd = -1, rc = 0;

	/* Beside path: "dir/.NAME.json.XXXXXX", where rename is atomic. */
	if (dir == NULL || asprintf(&tmp, "%.*s.%s.XXXXXX", slash ? (int)(slash - path + 1) : 0, path,
				    slash ? slash + 1 : path) < 0) {
		free(dir);
		return -ENOMEM;
	}
	if ((fd = mkostemp(tmp, O_CLOEXEC)) < 0) {
		rc = -errno;
		goto out;
	}
	if (fchmod(fd, existed ? st.st_mode & 07777 : 0644) < 0) {
		rc = -errno;
		goto out;
	}
	/* Only root may give a file away; anyone else writes a file of their own, as an editor would. */
	if (existed && fchown(fd, st.st_uid, st.st_gid) < 0 && errno != EPERM) {
		rc = -errno;
		goto out;
	}
	if ((rc = write_all(fd, text, len)) < 0)
		goto out;
	if (fsync(fd) < 0) {
		rc = -errno;
		goto out;
	}
	rc = close(fd) < 0 ? -errno : 0;
	fd = -1;
	if (rc < 0 || (rc = put_in_place(tmp, path, replace)) < 0)
		goto out;
	free(tmp);
	tmp = NULL;
	sync_dir(dir);
out:
	if (fd >= 0)
		close(fd);
	if (tmp)
		unlink(tmp);
	free(tmp);
	free(dir);
	return rc;
}

/* ------------------------------------------------------------------ telling the daemon */

static const char *const change_verbs[] = { "added", "replaced", "removed", "paused", "resumed" };

/* What the change means when the daemon next starts. */
static const char *const change_later[] = {
	"it will be used at the next start", "the new version will be used at the next start",
	"it will not run at the next start", "it stays paused at the next start",
	"it will run from the next start",
};

/* Whether the array answer[key] holds name. */
static bool listed(const json_t *answer, const char *key, const char *name)
{
	size_t i;
	json_t *v;

	json_array_foreach(json_object_get(answer, key), i, v)
		if (json_is_string(v) && strcmp(json_string_value(v), name) == 0)
			return true;
	return false;
}

/* The daemon reloaded: says whether its lists show the change. Returns the exit status. */
static int report_reloaded(const json_t *a, const char *name, enum cli_probe_change change)
{
	const char *verb = change_verbs[change];
	bool loaded = listed(a, "added", name) || listed(a, "changed", name) || listed(a, "unchanged", name);
	bool paused = listed(a, "paused", name);
	size_t i;
	json_t *v;

	if (json_array_size(json_object_get(a, "restart_needed")) > 0) {
		fputs("canary: note: the daemon applies changes to", stderr);
		json_array_foreach(json_object_get(a, "restart_needed"), i, v)
			fprintf(stderr, "%s \"%s\"", i ? "," : "", json_is_string(v) ? json_string_value(v) : "?");
		fputs(" in the main file only when restarted\n", stderr);
	}
	switch (change) {
	case CLI_PROBE_REMOVED:
		if (!loaded) {
			printf("probe %s removed; the daemon no longer runs it\n", name);
			return 0;
		}
		break;
	case CLI_PROBE_PAUSED:
		if (paused) {
			printf("probe %s paused; the daemon no longer runs it\n", name);
			return 0;
		}
		break;
	case CLI_PROBE_RESUMED:
		if (loaded && !paused) {
			printf("probe %s resumed; the daemon runs it again\n", name);
			return 0;
		}
		break;
	default:
		if (loaded) {
			printf("probe %s %s; the daemon picked it up%s\n", name, verb, paused ? " (paused)" : "");
			return 0;
		}
	}
	return cli_fail(1, "probe %s %s in its file, but the daemon's reload does not show it %s: "
			   "see `canary probe show %s`", name, verb, verb, name);
}

/* Whether one of the daemon's diagnostics is about file ("FILE:LINE:COL: ..." or "FILE: ..."). */
static bool names_file(const json_t *diagnostics, const char *file)
{
	size_t i, n = file ? strlen(file) : 0;
	json_t *v;

	json_array_foreach(diagnostics, i, v)
		if (n > 0 && json_is_string(v) && strncmp(json_string_value(v), file, n) == 0 &&
		    json_string_value(v)[n] == ':')
			return true;
	return false;
}

int cli_probe_reload(const struct cfg *cfg, const char *name, enum cli_probe_change change, const char *file,
		     bool *refused_file)
{
	const char *verb = change_verbs[change], *sock = cfg->control_socket;
	json_t *req = json_pack("{s:s}", "cmd", "reload"), *a = NULL;
	int rc = req ? cli_control_call(sock, req, RELOAD_TIMEOUT_MS, &a) : -ENOMEM, status = 1;

	if (refused_file)
		*refused_file = false;

	if (rc == 0 && json_is_true(json_object_get(a, "ok"))) {
		status = report_reloaded(a, name, change);
	} else if (rc == 0) {
		json_t *err = json_object_get(a, "error"), *v;
		size_t i;
		cli_fail(0, "probe %s %s in its file, but the daemon refused to reload: %s", name, verb,
			 json_is_string(err) ? json_string_value(err) : "(no reason given)");
		json_array_foreach(json_object_get(a, "diagnostics"), i, v)
			if (json_is_string(v))
				fprintf(stderr, "  %s\n", json_string_value(v));
		if (refused_file)
			*refused_file = names_file(json_object_get(a, "diagnostics"), file);
		fprintf(stderr, "canary: the daemon still runs the config it had; `canary config check -c %s` "
				"shows what is wrong\n", cfg->path);
	} else if (rc == -ENOENT || rc == -ECONNREFUSED) {
		printf("probe %s %s; no daemon is running (%s %s): %s\n", name, verb,
		       rc == -ENOENT ? "no socket at" : "nothing listens on", sock, change_later[change]);
		status = 0;
	} else if (rc == -EACCES) {
		/* The change is made; only the telling failed, and the operator has a way to do that. */
		printf("probe %s %s; the daemon could not be told (permission denied on %s): run "
		       "`systemctl reload canary` to apply it\n", name, verb, sock);
		status = 0;
	} else {
		cli_fail(0, "probe %s %s in its file, but the daemon at %s could not be asked to reload: %s", name, verb,
			 sock, rc == -ETIMEDOUT ? "no answer within 10 s" : strerror(-rc));
		fprintf(stderr, "canary: run `systemctl reload canary` to apply it\n");
	}
	json_decref(a);
	json_decref(req);
	return status;
}

/* ------------------------------------------------------------------ rm, pause, resume */

/* Loads the config without secrets and finds probe name in it, or says why not (cmd: "probe rm"). */
static int find_probe(const char *config, const char *name, const char *cmd, struct cfg **cfg,
		      struct probe_def **def)
{
	*def = NULL;
	*cfg = cli_load_config(cli_config_path(config), CFG_SKIP_SECRETS);
	if (*cfg == NULL || cli_check_target(*cfg, cmd, name, NULL) < 0)
		return 1;
	*def = cfg_find_probe(*cfg, name);
	return 0;
}

int cli_probe_rm(int argc, char **argv)
{
	const char *config = NULL, *name = NULL;
	struct probe_def *def = NULL;
	struct cfg *cfg = NULL;
	int rc = cli_name_args(argc, argv, "probe rm", rm_usage, &config, NULL, &name);

	if (rc >= 0)
		return rc;
	rc = find_probe(config, name, "probe rm", &cfg, &def);
	if (rc == 0 && unlink(def->file) < 0)
		rc = cli_fail(1, "probe rm: cannot remove %s: %s", def->file, strerror(errno));
	if (rc == 0) {
		char *dir = dir_of(def->file);
		if (dir)
			sync_dir(dir);
		free(dir);
		rc = cli_probe_reload(cfg, name, CLI_PROBE_REMOVED, NULL, NULL);
	}
	cfg_free(cfg);
	return rc;
}

/* Sets or removes "paused" in the probe's file, keeping everything else as written. */
static int set_paused(int argc, char **argv, bool pause)
{
	const char *config = NULL, *name = NULL, *cmd = pause ? "probe pause" : "probe resume";
	struct probe_def *def = NULL;
	struct cfg *cfg = NULL;
	json_t *root = NULL;
	char *text = NULL;
	int rc = cli_name_args(argc, argv, cmd, pause ? pause_usage : resume_usage, &config, NULL, &name);

	if (rc >= 0)
		return rc;
	rc = find_probe(config, name, cmd, &cfg, &def);
	if (rc == 0 && def->paused == pause) {
		printf(pause ? "probe %s is already paused\n" : "probe %s is not paused\n", name);
		goto out;
	}
	/* raw is the file as parsed, before any ${...} was resolved: references are written back as they were. */
	if (rc == 0 && (root = json_copy(def->raw)) == NULL)
		rc = cli_fail(1, "%s: out of memory", cmd);
	if (rc == 0 && pause)
		json_object_set_new(root, "paused", json_true());
	else if (rc == 0)
		json_object_del(root, "paused");
	if (rc == 0 && (text = cli_probe_text(root)) == NULL)
		rc = cli_fail(1, "%s: out of memory", cmd);
	if (rc == 0 && (rc = cli_write_atomic(def->file, text, strlen(text), true)) < 0)
		rc = cli_fail(1, "%s: cannot write %s: %s", cmd, def->file, strerror(-rc));
	if (rc == 0)
		rc = cli_probe_reload(cfg, name, pause ? CLI_PROBE_PAUSED : CLI_PROBE_RESUMED, NULL, NULL);
out:
	free(text);
	json_decref(root);
	cfg_free(cfg);
	return rc;
}

int cli_probe_pause(int argc, char **argv)
{
	return set_paused(argc, argv, true);
}

int cli_probe_resume(int argc, char **argv)
{
	return set_paused(argc, argv, false);
}
