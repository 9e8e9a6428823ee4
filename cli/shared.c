/* shared.c - what the incident, maintenance and alert commands share: times, cells, JSON, usage, the store. */
#include "cli/cli_int.h"
#include "storage/storage.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

/* ------------------------------------------------------------------ times, numbers, the store */

char *cli_time_utc(int64_t ms, char *buf, size_t size)
{
	char iso[64];

	/* The RFC 3339 form without its "T" and "Z": one clock for tables and JSON alike. */
	cli_time_rfc3339(ms, iso, sizeof(iso));
	if (strlen(iso) == 20) {
		iso[10] = ' ';
		iso[19] = '\0';
	}
	snprintf(buf, size, "%s", iso);
	return buf;
}

char *cli_span(int64_t ms, char *buf, size_t size)
{
	long long s = ms > 0 ? (long long)(ms / 1000) : 0;

	if (s < 60)
		snprintf(buf, size, "%llds", s);
	else if (s < 3600)
		snprintf(buf, size, "%lldm %llds", s / 60, s % 60);
	else if (s < 86400)
		snprintf(buf, size, "%lldh %lldm", s / 3600, s % 3600 / 60);
	else
		snprintf(buf, size, "%lldd %lldh", s / 86400, s % 86400 / 3600);
	return buf;
}

int cli_parse_id(const char *s, int64_t *out)
{
	char *end = NULL;

	if (s == NULL || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || v <= 0)
		return -EINVAL;
	*out = v;
	return 0;
}

int cli_store_open(const struct cfg *cfg, unsigned flags, struct store **out)
{
	struct store_opts so = { .path = cfg->db_path, .flags = flags };
	char *err = NULL;
	int rc = 0;

	if (!(flags & STORE_READONLY) && mkdir(cfg->state_dir, 0750) < 0 && errno != EEXIST) {
		rc = -errno;
		cli_fail(0, "cannot create %s: %s", cfg->state_dir, strerror(-rc));
		return rc;
	}
	rc = store_open(&so, out, &err);
	if (rc == -ENOENT && (flags & STORE_READONLY))
		cli_fail(0, "no database at %s yet (has the daemon run?)", cfg->db_path);
	else if (rc < 0 && err)
		cli_fail(0, "%s", err);
	else if (rc < 0)
		cli_fail(0, "cannot open %s: %s", cfg->db_path, strerror(-rc));
	free(err);
	return rc;
}

void cli_json_print(const json_t *v)
{
	json_dumpf(v, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(9));
	putchar('\n');
}

int cli_usage_error(const char *usage, const char *fmt, ...)
{
	const char *end = strstr(usage, "\n\n");
	va_list ap;

	if (fmt) {
		fputs("canary: ", stderr);
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
		fputc('\n', stderr);
	}
	fprintf(stderr, "%.*s\n", end ? (int)(end - usage) : (int)strlen(usage), usage);
	return CLI_USAGE;
}

int cli_subcommand(int argc, char **argv, const char *const *subs, const char *usage, int *status)
{
	*status = 0;
	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		fputs(usage, stdout);
		return -1;
	}
	for (int i = 0; argc >= 2 && subs[i]; i++)
		if (strcmp(argv[1], subs[i]) == 0)
			return i;
	if (argc < 2)
		*status = cli_usage_error(usage, "%s: which subcommand?", argv[0]);
	else
		*status = cli_usage_error(usage, "%s: unknown subcommand \"%s\"", argv[0], argv[1]);
	return -1;
}

/* ------------------------------------------------------------------ output */

json_t *cli_json_text(const char *s)
{
	json_t *j = s ? json_string(s) : json_null();

	if (j == NULL) {
		char *copy = strdup(s);
		for (char *p = copy; p && *p; p++)
			if ((unsigned char)*p >= 0x80)
				*p = '?';
		j = copy ? json_string(copy) : NULL;
		free(copy);
	}
	return j ? j : json_null();
}

json_t *cli_json_time(int64_t ms)
{
	char buf[64];

	if (ms <= 0 || strcmp(cli_time_rfc3339(ms, buf, sizeof(buf)), "?") == 0)
		return json_null();
	return json_string(buf);
}

void cli_put_flat(FILE *out, const char *s, size_t max)
{
	size_t chars = 0, n = 0;

	for (const char *p = s; *p; p++)
		chars += ((unsigned char)*p & 0xC0) != 0x80;
	size_t keep = max > 3 && chars > max ? max - 3 : SIZE_MAX;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if ((*p & 0xC0) != 0x80 && n++ == keep) {
			fputs("...", out);
			return;
		}
		putc(*p < 0x20 || *p == 0x7f ? ' ' : *p, out);
	}
}

/* Prints s inside a Markdown table cell: "|" escaped, a line break as <br>. */
static void md_text(FILE *out, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '|')
			fputs("\\|", out);
		else if (*p == '\n')
			fputs("<br>", out);
		else if (*p != '\r')
			putc(*p < 0x20 || *p == 0x7f ? ' ' : *p, out);
	}
}

/*
 * Prints s as a code span inside a table cell. The fence is one backtick longer
 * than the longest run in s (CommonMark), padded with spaces when s starts or
 * ends with one; "|" stays escaped (GFM tables read \| before code spans), and
 * line breaks become spaces, as a code span would show them.
 */
static void md_code(FILE *out, const char *s)
{
	size_t run = 0, longest = 0, len = strlen(s);

	for (const char *p = s; *p; p++) {
		run = *p == '`' ? run + 1 : 0;
		longest = run > longest ? run : longest;
	}
	bool pad = len > 0 && (s[0] == '`' || s[len - 1] == '`' || s[0] == ' ' || s[len - 1] == ' ');
	for (size_t i = 0; i <= longest; i++)
		putc('`', out);
	fputs(pad ? " " : "", out);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '|')
			fputs("\\|", out);
		else
			putc(*p < 0x20 || *p == 0x7f ? ' ' : *p, out);
	}
	fputs(pad ? " " : "", out);
	for (size_t i = 0; i <= longest; i++)
		putc('`', out);
}

void cli_put_cell(FILE *out, bool md, const char *text, const char *detail)
{
	if (md)
		md_text(out, text);
	else
		cli_put_flat(out, text, 0);
	if (detail == NULL)
		return;
	fputs(*text ? ": " : "", out);
	if (md)
		md_code(out, detail);
	else
		cli_put_flat(out, detail, 0);
}


/* ------------------------------------------------------------------ times given, probes named, uptimes */

/* Reads exactly n digits at *p into *v, advancing *p. */
static bool read_digits(const char **p, int n, int *v)
{
	*v = 0;
	for (int i = 0; i < n; i++, (*p)++) {
		if (**p < '0' || **p > '9')
			return false;
		*v = *v * 10 + (**p - '0');
	}
	return true;
}

int cli_parse_time(const char *s, int64_t now, int64_t *out)
{
	struct tm tm = { 0 }, back;
	int y, mo, d, h, mi, sec = 0, oh = 0, om = 0, sign = 0, frac_ms = 0;
	const char *p = s;

	if (strcmp(s, "now") == 0) {
		*out = now;
		return 0;
	}
	if (!read_digits(&p, 4, &y) || *p++ != '-' || !read_digits(&p, 2, &mo) || *p++ != '-' ||
	    !read_digits(&p, 2, &d) || (*p != 'T' && *p != 't' && *p != ' ') || (p++, !read_digits(&p, 2, &h)) ||
	    *p++ != ':' || !read_digits(&p, 2, &mi))
		return -EINVAL;
	if (*p == ':' && (p++, !read_digits(&p, 2, &sec)))
		return -EINVAL;
	/* A fraction keeps its milliseconds; finer digits are dropped, as the clock is in ms. */
	if (*p == '.' || *p == ',') {
		int scale = 100;
		if (*++p < '0' || *p > '9')
			return -EINVAL;
		for (; *p >= '0' && *p <= '9'; p++, scale /= 10)
			frac_ms += (*p - '0') * scale;
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		sign = *p++ == '+' ? 1 : -1;
		if (!read_digits(&p, 2, &oh))
			return -EINVAL;
		p += *p == ':';
		if (!read_digits(&p, 2, &om) || oh > 23 || om > 59)
			return -EINVAL;
	}
	if (*p != '\0')
		return -EINVAL;
	tm = (struct tm){ .tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h, .tm_min = mi, .tm_sec = sec };
	time_t t = timegm(&tm);
	/* timegm normalises 2026-02-30 to March 2nd: a date that does not come back unchanged is wrong. */
	if (gmtime_r(&t, &back) == NULL || back.tm_year != y - 1900 || back.tm_mon != mo - 1 || back.tm_mday != d ||
	    back.tm_hour != h || back.tm_min != mi || back.tm_sec != sec)
		return -EINVAL;
	*out = ((int64_t)t - sign * (oh * 3600 + om * 60)) * 1000 + frac_ms;
	return 0;
}

bool cli_probe_has_tag(const struct probe_def *d, const char *tag)
{
	for (size_t k = 0; d && tag && k < d->ntags; k++)
		if (strcmp(d->tags[k], tag) == 0)
			return true;
	return false;
}

/*
 * The names (tag false) or every tag (tag true) of cfg's probes, as a new
 * NULL-terminated array of borrowed strings for probe_nearest; NULL when out of memory.
 */
static const char **probe_words(const struct cfg *cfg, bool tags)
{
	size_t n = 0;

	for (size_t i = 0; i < cfg->nprobes; i++)
		n += tags ? cfg->probes[i]->ntags : 1;
	const char **v = calloc(n + 1, sizeof(*v));
	n = 0;
	for (size_t i = 0; v && i < cfg->nprobes; i++)
		for (size_t k = 0; k < (tags ? cfg->probes[i]->ntags : 1); k++)
			v[n++] = tags ? cfg->probes[i]->tags[k] : cfg->probes[i]->name;
	return v;
}

int cli_check_target(const struct cfg *cfg, const char *cmd, const char *probe, const char *tag)
{
	const char *word = probe ? probe : tag;

	if (word == NULL || (probe && cfg_find_probe(cfg, probe)))
		return 0;
	for (size_t i = 0; !probe && i < cfg->nprobes; i++)
		if (cli_probe_has_tag(cfg->probes[i], tag))
			return 0;
	const char **words = probe_words(cfg, probe == NULL);
	const char *near = words ? probe_nearest(word, words, NULL) : NULL;
	if (near)
		cli_fail(0, "%s: no probe %s \"%s\" in %s (did you mean \"%s\"?)", cmd, probe ? "named" : "has the tag",
			 word, cfg->path, near);
	else
		cli_fail(0, "%s: no probe %s \"%s\" in %s", cmd, probe ? "named" : "has the tag", word, cfg->path);
	free(words);
	return -ENOENT;
}

const char *cli_probe_state(bool paused, const struct store_status *st)
{
	if (paused)
		return "paused";
	return !st->has_run ? "unknown" : st->last_ok ? "up" : "down";
}

json_t *cli_json_ms(int64_t us)
{
	return us >= 0 ? json_real((double)us / 1000.0) : json_null();
}

char *cli_uptime_text(int64_t ok, int64_t runs, char *buf, size_t size)
{
	if (runs <= 0) {
		snprintf(buf, size, "-");
		return buf;
	}
	double pct = 100.0 * (double)ok / (double)runs;
	/* Rounding alone would show 100.00% for 1 failure in 20,000 runs, or 0.00% for 1 pass. */
	if (ok < runs && pct > 99.99)
		pct = 99.99;
	else if (ok > 0 && pct < 0.01)
		pct = 0.01;
	snprintf(buf, size, "%.2f%%", pct);
	return buf;
}

const char *cli_step_error(const char *error, const char *step)
{
	size_t n = step ? strlen(step) : 0;

	if (error == NULL)
		return "";
	if (step != NULL && strncmp(error, "step \"", 6) == 0 && strncmp(error + 6, step, n) == 0 &&
	    strncmp(error + 6 + n, "\": ", 3) == 0)
		return error + 6 + n + 3;
	return error;
}

char *cli_ms_text(int64_t us, char *buf, size_t size)
{
	if (us < 0)
		snprintf(buf, size, "-");
	else
		snprintf(buf, size, "%.1f ms", (double)us / 1000.0);
	return buf;
}
