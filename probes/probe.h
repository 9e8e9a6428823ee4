/* probe.h - the probe engine's public API: durations, flows, templating, assertions, runs. */
#ifndef CANARY_PROBE_H
#define CANARY_PROBE_H

#include <stddef.h>
#include <stdint.h>

/*
 * Parses a duration: digits followed by one of ms, s, m, h, d ("250ms", "30s", "1d").
 * Stores milliseconds in *ms. Returns 0, -EINVAL on bad syntax or -ERANGE on overflow.
 * The _n form reads exactly len bytes of s, which need not be NUL-terminated.
 */
int probe_duration_parse(const char *s, int64_t *ms);
int probe_duration_parse_n(const char *s, size_t len, int64_t *ms);

/* Formats ms in the largest unit that divides it exactly ("90s", "2m"). Returns buf. */
char *probe_duration_format(int64_t ms, char *buf, size_t size);

#endif
