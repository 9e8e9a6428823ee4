/* duration.c - parsing and printing of durations such as "250ms", "30s", "5m", "1h", "1d". */
#include "probes/probe.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static const struct {
	const char *suffix;
	int64_t ms;
} units[] = {
	{ "ms", 1 }, { "s", 1000 }, { "m", 60 * 1000 }, { "h", 3600 * 1000 }, { "d", 86400 * 1000 },
};

/* Longest first, so that "ms" is not read as "m" followed by junk. */
static int64_t unit_ms(const char *s, size_t len)
{
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strlen(units[i].suffix) == len && memcmp(s, units[i].suffix, len) == 0)
			return units[i].ms;
	return 0;
}

int probe_duration_parse_n(const char *s, size_t len, int64_t *ms)
{
	size_t i = 0;
	int64_t n = 0;

	if (len == 0 || s[0] < '0' || s[0] > '9')
		return -EINVAL;
	while (i < len && s[i] >= '0' && s[i] <= '9') {
		if (n > (INT64_MAX / 10) - 10)
			return -ERANGE;
		n = n * 10 + (s[i++] - '0');
	}
	int64_t unit = unit_ms(s + i, len - i);
	if (unit == 0)
		return -EINVAL;
	if (n > INT64_MAX / unit)
		return -ERANGE;
	*ms = n * unit;
	return 0;
}

int probe_duration_parse(const char *s, int64_t *ms)
{
	return probe_duration_parse_n(s, strlen(s), ms);
}

char *probe_duration_format(int64_t ms, char *buf, size_t size)
{
	if (ms != 0 && ms % 86400000 == 0)
		snprintf(buf, size, "%" PRId64 "d", ms / 86400000);
	else if (ms != 0 && ms % 3600000 == 0)
		snprintf(buf, size, "%" PRId64 "h", ms / 3600000);
	else if (ms != 0 && ms % 60000 == 0)
		snprintf(buf, size, "%" PRId64 "m", ms / 60000);
	else if (ms != 0 && ms % 1000 == 0)
		snprintf(buf, size, "%" PRId64 "s", ms / 1000);
	else
		snprintf(buf, size, "%" PRId64 "ms", ms);
	return buf;
}
