/* log.c - one line per event on stderr, with journal priority prefixes when systemd reads it. */
#include "daemon/daemon.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int max_prio = LOG_INFO;
static bool journal;

static const char *const level_names[] = {
	[LOG_EMERG] = "emerg", [LOG_ALERT] = "alert", [LOG_CRIT] = "crit",  [LOG_ERR] = "error",
	[LOG_WARNING] = "warning", [LOG_NOTICE] = "notice", [LOG_INFO] = "info", [LOG_DEBUG] = "debug",
};

/* JOURNAL_STREAM holds "dev:inode" of the stream systemd connected; only then is stderr the journal. */
static bool stderr_is_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (js == NULL || sscanf(js, "%llu:%llu", &dev, &ino) != 2 || fstat(STDERR_FILENO, &st) < 0)
		return false;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void daemon_log_init(int prio)
{
	max_prio = prio;
	journal = stderr_is_journal();
}

int daemon_log_level_parse(const char *name)
{
	if (strcmp(name, "error") == 0)
		return LOG_ERR;
	if (strcmp(name, "err") == 0)
		return LOG_ERR;
	for (int i = LOG_ERR; i <= LOG_DEBUG; i++)
		if (strcmp(level_names[i], name) == 0)
			return i;
	return -1;
}

void daemon_log(int prio, const char *fmt, ...)
{
	char line[2048];
	size_t n = 0;
	va_list ap;

	if (prio > max_prio)
		return;
	if (journal) {
		n = (size_t)snprintf(line, sizeof(line), "<%d>", prio);
	} else {
		struct timespec ts;
		struct tm tm;
		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
		n += (size_t)snprintf(line + n, sizeof(line) - n, ".%03ldZ %s: ", ts.tv_nsec / 1000000,
				      level_names[prio & 7]);
	}
	va_start(ap, fmt);
	int m = vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
	va_end(ap);
	n = m < 0 ? n : n + (size_t)m < sizeof(line) - 1 ? n + (size_t)m : sizeof(line) - 2;
	/* One line, one write: lines from the writer thread never interleave within a line. */
	for (size_t i = 0; i < n; i++)
		if (line[i] == '\n')
			line[i] = ' ';
	line[n++] = '\n';
	ssize_t w = write(STDERR_FILENO, line, n);
	(void)w;
}
