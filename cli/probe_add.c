/* probe_add.c - `canary probe add`: a probe from options or a file, validated as config check does, written atomically. */
#include "cli/cli_int.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* As the loader: a probe file is at most 4 MiB. */
#define INPUT_MAX (4 * 1024 * 1024)

static const char add_usage[] =
	"usage: canary probe add [-c CONFIG] NAME --url URL [--method M] [--header 'K: V']...\n"
	"                        [--json-body JSON] [--expect 'ASSERTION']... [--every 30s]\n"
	"                        [--timeout 10s] [--tag T]... [--channel C]...\n"
	"                        [--description TEXT] [--replace]\n"
	"       canary probe add [-c CONFIG] NAME --from FILE|- [--replace]\n\n"
	"Writes probe NAME to probes_dir/NAME.json and asks the running daemon to reload.\n"
	"With options it is a single-step probe; --from takes any probe file (- reads\n"
	"stdin), whose \"name\", if it has one, must be NAME. Before anything is written the\n"
	"probe is checked as `canary config check` checks it. Its ${env:..}, ${file:..}\n"
	"and ${cred:..} references are resolved by the daemon, with its environment and\n"
	"credentials: one this shell cannot resolve is a warning here, and a probe the\n"
	"daemon refuses is undone (removed, or put back as it was). The file keeps the\n"
	"reference, never the value; it is pretty-printed and put in place atomically.\n\n"
	"  -c, --config FILE       the main config file\n"
	"      --url URL           what to request (http:// or https://)\n"
	"      --method M          GET (the default), POST, ...\n"
	"      --header 'K: V'     a request header; repeat for more\n"
	"      --json-body JSON    a JSON request body\n"
	"      --expect ASSERTION  such as 'status == 200' or 'latency < 500ms'; repeat for more\n"
	"      --every DURATION    how often it runs (default: the config's, else 30s)\n"
	"      --timeout DURATION  the deadline of a run (default: the config's, else 10s)\n"
	"      --tag T             a tag; repeat for more\n"
	"      --channel C         an alert channel of the main config; repeat for more\n"
	"      --description TEXT  what the probe is for\n"
	"      --from FILE|-       the probe's JSON, from a file or stdin\n"
	"      --replace           overwrite NAME.json if it exists\n\n"
	"Exit status: 0 added, 1 refused (invalid, or the name is taken) or an error, 2 on a\n"
	"usage error.\n";

struct add_args {
	const char *config, *name, *from, *url, *method, *json_body, *every, *timeout, *description;
	json_t *headers, *expect, *tags, *channels; /* new, as the options came */
	json_t *body;                               /* --json-body, parsed; new */
	int64_t every_ms, timeout_ms;
	bool replace;
};

static void add_args_clear(struct add_args *a)
{
	json_decref(a->headers);
	json_decref(a->expect);
	json_decref(a->tags);
	json_decref(a->channels);
	json_decref(a->body);
}

int cli_read_input(const char *path, char **text, size_t *len)
{
	bool std = strcmp(path, "-") == 0;
	int fd = std ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC), rc = 0;
	size_t n = 0, cap = 0;
	char *buf = NULL;

	if (fd < 0)
		return -errno;
	for (;;) {
		if (n + 65536 + 1 > cap) {
			size_t ncap = cap ? cap * 2 : 65536 * 2;
			char *b = ncap <= 2 * (size_t)INPUT_MAX ? realloc(buf, ncap) : NULL;
			if (b == NULL) {
				rc = ncap > 2 * (size_t)INPUT_MAX ? -EFBIG : -ENOMEM;
				break;
			}
			buf = b;
			cap = ncap;
		}
		ssize_t r = read(fd, buf + n, cap - n - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = -errno;
			break;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > INPUT_MAX) {
			rc = -EFBIG;
			break;
		}
	}
	if (!std)
		close(fd);
	if (rc < 0) {
		free(buf);
		return rc;
	}
	if (buf == NULL && (buf = malloc(1)) == NULL)
		return -ENOMEM;
	buf[n] = '\0';
	*text = buf;
	*len = n;
	return 0;
}

/* ------------------------------------------------------------------ options, one by one */

/* Probe names become file names: letters, digits, '.', '_' or '-', starting with a letter or digit. */
static bool name_ok(const char *s)
{
	static const char word[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-";
	size_t n = strlen(s);

	return n > 0 && n <= 128 && isalnum((unsigned char)s[0]) && strspn(s, word) == n;
}

/* The 1-based column, in characters, of byte off of s. */
static int column(const char *s, size_t off)
{
	int col = 1;

	for (size_t i = 0; i < off && s[i]; i++)
		col += ((unsigned char)s[i] & 0xC0) != 0x80;
	return col;
}

/* Appends s to the array *arr (created on first use). */
static void push(json_t **arr, const char *s)
{
	if (*arr == NULL)
		*arr = json_array();
	json_array_append_new(*arr, json_string(s));
}

/* "Name: value" into a->headers, the value without the spaces around it. Returns 0 or 1 having said why not. */
static int add_header(struct add_args *a, const char *s)
{
	const char *colon = strchr(s, ':'), *v, *end;
	const char *key;
	json_t *old;
	char *name;

	if (colon == NULL)
		return cli_fail(1, "--header \"%s\": no ':' between the name and the value, as in 'Accept: text/html'", s);
	for (v = colon + 1; *v == ' ' || *v == '\t'; v++)
		;
	for (end = v + strlen(v); end > v && (end[-1] == ' ' || end[-1] == '\t'); end--)
		;
	for (key = s; *key == ' ' || *key == '\t'; key++)
		;
	size_t klen = (size_t)(colon - key);
	while (klen > 0 && (key[klen - 1] == ' ' || key[klen - 1] == '\t'))
		klen--;
	if (klen == 0)
		return cli_fail(1, "--header \"%s\": the header has no name", s);
	if ((name = strndup(key, klen)) == NULL)
		return cli_fail(1, "probe add: out of memory");
	if (a->headers == NULL)
		a->headers = json_object();
	json_object_foreach(a->headers, key, old) {
		if (strcasecmp(key, name) == 0) {
			free(name);
			return cli_fail(1, "--header \"%s\": %s is already given", s, key);
		}
	}
	json_object_set_new(a->headers, name, json_stringn(v, (size_t)(end - v)));
	free(name);
	return 0;
}

static int add_expect(struct add_args *a, const char *s)
{
	struct probe_assert as = { 0 };
	struct probe_perr err = { 0 };

	if (probe_assert_parse(s, &as, &err) < 0)
		return cli_fail(1, "--expect \"%s\": column %d: %s", s, column(s, err.offset), err.msg);
	probe_assert_clear(&as);
	push(&a->expect, s);
	return 0;
}

static int add_body(struct add_args *a, const char *s)
{
	json_error_t jerr;

	json_decref(a->body);
	a->body = json_loads(s, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr);
	if (a->body != NULL)
		return 0;
	if (strchr(s, '\n'))
		return cli_fail(1, "--json-body is not JSON: line %d, column %d: %s", jerr.line, jerr.column, jerr.text);
	return cli_fail(1, "--json-body is not JSON: column %d: %s", jerr.column, jerr.text);
}

static int add_duration(const char *opt, const char *s, int64_t *ms)
{
	if (probe_duration_parse(s, ms) == 0)
		return 0;
	return cli_fail(1, "%s \"%s\": not a duration such as 30s, 500ms or 5m", opt, s);
}

/*
 * Refuses an option's value that is not UTF-8, which a JSON file cannot hold:
 * it would otherwise be dropped or changed without a word. Returns 0 or 1.
 */
static int utf8_arg(const struct option *o, const char *s)
{
	json_t *j = json_string(s);

	if (j != NULL) {
		json_decref(j);
		return 0;
	}
	return cli_fail(1, "probe add: the value of --%s is not UTF-8 text", o->name);
}

/* Parses argv into a. Returns -1 to go on, or the exit status (0 after --help). */
static int add_parse(int argc, char **argv, struct add_args *a)
{
	enum { O_URL = 256, O_METHOD, O_HEADER, O_BODY, O_EXPECT, O_EVERY, O_TIMEOUT, O_TAG, O_CHANNEL, O_DESC,
	       O_FROM, O_REPLACE };
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },	  { "url", required_argument, NULL, O_URL },
		{ "method", required_argument, NULL, O_METHOD },   { "header", required_argument, NULL, O_HEADER },
		{ "json-body", required_argument, NULL, O_BODY },  { "expect", required_argument, NULL, O_EXPECT },
		{ "every", required_argument, NULL, O_EVERY },	   { "timeout", required_argument, NULL, O_TIMEOUT },
		{ "tag", required_argument, NULL, O_TAG },	   { "channel", required_argument, NULL, O_CHANNEL },
		{ "description", required_argument, NULL, O_DESC }, { "from", required_argument, NULL, O_FROM },
		{ "replace", no_argument, NULL, O_REPLACE },	   { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool step_opts = false;
	int c, rc = 0, li = -1;

	/* getopt names the program in its messages. */
	argv[0] = (char *)"canary probe add";
	optind = 0;
	while (rc == 0 && (c = getopt_long(argc, argv, "c:h", opts, &li)) != -1) {
		step_opts |= c >= O_URL && c <= O_DESC;
		/* What goes into the file: the long options from --url to --description. */
		if (c >= O_URL && c <= O_DESC && (rc = utf8_arg(&opts[li], optarg)) != 0)
			break;
		switch (c) {
		case 'c': a->config = optarg; break;
		case O_URL: a->url = optarg; break;
		case O_METHOD: a->method = optarg; break;
		case O_HEADER: rc = add_header(a, optarg); break;
		case O_BODY: rc = add_body(a, optarg); break;
		case O_EXPECT: rc = add_expect(a, optarg); break;
		case O_EVERY: rc = add_duration("--every", a->every = optarg, &a->every_ms); break;
		case O_TIMEOUT: rc = add_duration("--timeout", a->timeout = optarg, &a->timeout_ms); break;
		case O_TAG: push(&a->tags, optarg); break;
		case O_CHANNEL: push(&a->channels, optarg); break;
		case O_DESC: a->description = optarg; break;
		case O_FROM: a->from = optarg; break;
		case O_REPLACE: a->replace = true; break;
		case 'h': fputs(add_usage, stdout); return 0;
		default: return cli_usage_error(add_usage, NULL);
		}
	}
	if (rc != 0)
		return rc;
	if (optind == argc)
		return cli_usage_error(add_usage, "probe add: which name? (probe add NAME ...)");
	if (optind != argc - 1)
		return cli_usage_error(add_usage, "probe add: unexpected \"%s\"", argv[optind + 1]);
	a->name = argv[optind];
	if (a->from && step_opts)
		return cli_usage_error(add_usage, "probe add: --from takes the whole probe from its file: no other "
						  "option but -c and --replace goes with it");
	if (!a->from && !a->url)
		return cli_usage_error(add_usage, "probe add: --url URL (a single-step probe) or --from FILE, please");
	if (!name_ok(a->name))
		return cli_fail(1, "probe add: \"%s\" is not a probe name: letters, digits, '.', '_' or '-', "
				   "starting with a letter or digit", a->name);
	return -1;
}

/* ------------------------------------------------------------------ the probe's text */

/* The single-step probe the options describe, keys in a fixed order. New. */
static json_t *from_options(const struct add_args *a)
{
	json_t *o = json_object();

	json_object_set_new(o, "name", json_string(a->name));
	if (a->description)
		json_object_set_new(o, "description", cli_json_text(a->description));
	json_object_set_new(o, "url", cli_json_text(a->url));
	if (a->method)
		json_object_set_new(o, "method", cli_json_text(a->method));
	if (a->headers)
		json_object_set(o, "headers", a->headers);
	if (a->body)
		json_object_set(o, "json", a->body);
	if (a->expect)
		json_object_set(o, "expect", a->expect);
	if (a->every)
		json_object_set_new(o, "every", json_string(a->every));
	if (a->timeout)
		json_object_set_new(o, "timeout", json_string(a->timeout));
	if (a->tags)
		json_object_set(o, "tags", a->tags);
	if (a->channels)
		json_object_set_new(o, "alert", json_pack("{s:O}", "channels", a->channels));
	return o;
}

/*
 * text with "name": name added as the object's last member, so that every
 * position the loader reports stays where the operator wrote it. The loader
 * would otherwise name the probe after the input (<stdin>, another file name).
 */
static char *with_name(const char *text, size_t len, bool empty, const char *name, size_t *out_len)
{
	char *out = NULL;

	while (len > 0 && strchr(" \t\r\n", text[len - 1]))
		len--;
	if (len == 0 || text[len - 1] != '}')
		return NULL;
	int n = asprintf(&out, "%.*s%s\"name\": \"%s\"}", (int)(len - 1), text, empty ? "" : ", ", name);
	*out_len = n > 0 ? (size_t)n : 0;
	return n > 0 ? out : NULL;
}

/* Validates text as display; prints the diagnostics. Returns 0 or 1. */
static int validate(const struct cfg *cfg, const char *display, const char *text, size_t len)
{
	struct cfg_diags diags = { 0 };
	struct probe_def *def = NULL;
	int rc = cfg_parse_probe(display, text, len, cfg, &def, &diags);

	cfg_diags_print(&diags, stderr);
	if (rc < 0 && diags.n == 0)
		cli_fail(0, "%s: %s", display, strerror(-rc));
	cfg_diags_free(&diags);
	probe_def_unref(def);
	return rc < 0 ? 1 : 0;
}

/*
 * Reads --from's input and checks it where the operator wrote it, so that
 * FILE:LINE:COL points into their text. Returns 0 and *root (new), or 1.
 */
static int from_input(const struct cfg *cfg, const struct add_args *a, json_t **root)
{
	const char *display = strcmp(a->from, "-") == 0 ? "<stdin>" : a->from;
	char *text = NULL, *named = NULL;
	size_t len = 0, nlen = 0;
	json_t *name;
	int rc;

	if (strcmp(a->from, "-") == 0 && isatty(STDIN_FILENO))
		fprintf(stderr, "canary: reading the probe's JSON from stdin (end it with Ctrl-D)\n");
	if ((rc = cli_read_input(a->from, &text, &len)) < 0)
		return cli_fail(1, "probe add: cannot read %s: %s", display,
				rc == -EFBIG ? "larger than 4 MiB" : strerror(-rc));
	*root = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
	name = json_object_get(*root, "name");
	if (json_is_object(*root) && name == NULL)
		named = with_name(text, len, json_object_size(*root) == 0, a->name, &nlen);
	/* Invalid JSON is reported by the loader, with its position. */
	rc = validate(cfg, display, named ? named : text, named ? nlen : len);
	if (rc == 0 && json_is_string(name) && strcmp(json_string_value(name), a->name) != 0)
		rc = cli_fail(1, "probe add: %s names its probe \"%s\", not \"%s\": make them agree, or drop \"name\"",
			      display, json_string_value(name), a->name);
	if (rc != 0) {
		json_decref(*root);
		*root = NULL;
	}
	free(named);
	free(text);
	return rc;
}

/* ------------------------------------------------------------------ the name, the file */

/*
 * Refuses a name that is taken: by path itself (unless replace), or by
 * another file. Returns 0 and *old (borrowed; NULL when path defines no
 * probe), or 1.
 */
static int check_free(const struct cfg *cfg, const char *name, const char *path, bool replace,
		      const struct probe_def **old)
{
	struct stat st;

	*old = NULL;
	for (size_t i = 0; i < cfg->nprobes; i++) {
		const struct probe_def *d = cfg->probes[i];
		bool same_file = d->file && strcmp(d->file, path) == 0;
		if (same_file)
			*old = d;
		if (same_file && !replace)
			return cli_fail(1, "probe add: %s already exists (probe \"%s\"); --replace overwrites it", path,
					d->name);
		if (same_file && strcmp(d->name, name) != 0)
			return cli_fail(1, "probe add: %s defines probe \"%s\"; replacing it would remove that probe: "
					   "`canary probe rm %s` first", path, d->name, d->name);
		if (!same_file && strcmp(d->name, name) == 0)
			return cli_fail(1, "probe add: probe \"%s\" is already defined in %s", name, d->file);
	}
	/* A file the loader skipped still holds the name: never overwrite it unasked. */
	if (!replace && stat(path, &st) == 0)
		return cli_fail(1, "probe add: %s already exists; --replace overwrites it", path);
	return 0;
}

/*
 * Resolves the probe's ${...} references as the daemon will. This shell may
 * lack the daemon's environment and credentials, so a failure is a warning:
 * the daemon's reload is the judge (and a refusal is undone).
 */
static void try_secrets(struct cfg *cfg, const char *path, const char *text)
{
	struct cfg_diags diags = { 0 };
	struct probe_def *def = NULL;
	unsigned flags = cfg->flags;

	cfg->flags &= ~(unsigned)CFG_SKIP_SECRETS;
	if (cfg_parse_probe(path, text, strlen(text), cfg, &def, &diags) < 0 && diags.n > 0) {
		fprintf(stderr, "canary: warning: this shell cannot resolve every secret of the probe; the daemon "
				"resolves them with its own environment and credentials:\n");
		cfg_diags_print(&diags, stderr);
	}
	cfg->flags = flags;
	cfg_diags_free(&diags);
	probe_def_unref(def);
}

/* Puts path back as it was before a replacement (or removes the new file) after the daemon refused it. */
static void undo(const char *path, bool existed, const char *before, size_t len)
{
	int rc = existed ? (before ? cli_write_atomic(path, before, len, true) : -ENODATA)
			 : (unlink(path) < 0 ? -errno : 0);

	if (rc == 0)
		fprintf(stderr, "canary: %s was %s: nothing changed\n", path, existed ? "put back as it was" : "removed");
	else
		fprintf(stderr, "canary: %s could not be %s (%s): fix it or `canary probe rm` it\n", path,
			existed ? "put back as it was" : "removed", strerror(-rc));
}

int cli_probe_add(int argc, char **argv)
{
	struct add_args a = { 0 };
	const struct probe_def *old = NULL;
	struct cfg *cfg = NULL;
	json_t *root = NULL;
	char *path = NULL, *text = NULL, *before = NULL;
	size_t before_len = 0;
	struct stat st;
	int rc = add_parse(argc, argv, &a);

	if (rc >= 0)
		goto out;
	rc = 1;
	/*
	 * The other probes' and the channels' secrets are the daemon's business:
	 * an operator's shell (without the daemon's credentials) must still be
	 * able to add a probe. The new probe's own are tried below.
	 */
	cfg = cli_load_config(cli_config_path(a.config), CFG_SKIP_SECRETS);
	if (cfg == NULL) {
		cli_fail(0, "probe add: nothing was written: the config must load first (`canary config check -c %s`)",
			 cli_config_path(a.config));
		goto out;
	}
	if (asprintf(&path, "%s/%s.json", cfg->probes_dir, a.name) < 0) {
		path = NULL;
		goto out;
	}
	if (check_free(cfg, a.name, path, a.replace, &old) != 0)
		goto out;
	if (a.from && from_input(cfg, &a, &root) != 0)
		goto out;
	if (!a.from)
		root = from_options(&a);
	if ((text = cli_probe_text(root)) == NULL) {
		cli_fail(0, "probe add: out of memory");
		goto out;
	}
	/*
	 * The text to be written, checked where it will live: exactly what the
	 * daemon and `config check` will load (relative ${file:..} included).
	 */
	if (validate(cfg, path, text, strlen(text)) != 0) {
		cli_fail(0, "probe add: %s refused, nothing was written (the positions are in the file as it would "
			    "have been)", a.name);
		goto out;
	}
	try_secrets(cfg, path, text);
	bool existed = stat(path, &st) == 0, refused = false;
	if (existed && cli_read_input(path, &before, &before_len) < 0)
		before = NULL; /* then a refused replacement cannot be undone: said below */
	if ((rc = cli_write_atomic(path, text, strlen(text), a.replace)) == -EEXIST)
		rc = cli_fail(1, "probe add: %s already exists; --replace overwrites it", path);
	else if (rc < 0)
		rc = cli_fail(1, "probe add: cannot write %s: %s", path, strerror(-rc));
	else
		rc = cli_probe_reload(cfg, a.name, existed ? CLI_PROBE_REPLACED : CLI_PROBE_ADDED, path, &refused);
	if (refused)
		undo(path, existed, before, before_len);
	/* A replacement is what was given: a pause the old file held is not carried over unasked. */
	if (rc == 0 && old && old->paused && !json_is_true(json_object_get(root, "paused")))
		fprintf(stderr, "canary: note: %s was paused and its new definition is not: `canary probe pause %s` "
				"pauses it again\n", a.name, a.name);
out:
	free(before);
	free(text);
	free(path);
	json_decref(root);
	cfg_free(cfg);
	add_args_clear(&a);
	return rc;
}
