/* check_duration.c - the duration parser and formatter. */
#include "tests/tests.h"
#include "probes/probe.h"

#include <errno.h>
#include <stdint.h>

static const struct {
	const char *in;
	int rc;
	int64_t ms;
} cases[] = {
	{ "250ms", 0, 250 },    { "30s", 0, 30000 },   { "5m", 0, 300000 },
	{ "1h", 0, 3600000 },   { "1d", 0, 86400000 }, { "0s", 0, 0 },
	{ "1500ms", 0, 1500 },  { "", -EINVAL, 0 },    { "s", -EINVAL, 0 },
	{ "10", -EINVAL, 0 },   { "10 s", -EINVAL, 0 }, { "-5s", -EINVAL, 0 },
	{ "1.5s", -EINVAL, 0 }, { "5sec", -EINVAL, 0 }, { "5M", -EINVAL, 0 },
	{ "99999999999999999999d", -ERANGE, 0 },       { "9999999999999999d", -ERANGE, 0 },
};

START_TEST(parse_table)
{
	int64_t ms = -1;
	int rc = probe_duration_parse(cases[_i].in, &ms);

	ck_assert_msg(rc == cases[_i].rc, "\"%s\": rc %d, want %d", cases[_i].in, rc, cases[_i].rc);
	if (rc == 0)
		ck_assert_int_eq(ms, cases[_i].ms);
}
END_TEST

START_TEST(parse_n_stops_at_length)
{
	int64_t ms = 0;

	ck_assert_int_eq(probe_duration_parse_n("2s < junk", 2, &ms), 0);
	ck_assert_int_eq(ms, 2000);
}
END_TEST

START_TEST(format_picks_largest_exact_unit)
{
	char buf[32];

	ck_assert_str_eq(probe_duration_format(90000, buf, sizeof(buf)), "90s");
	ck_assert_str_eq(probe_duration_format(120000, buf, sizeof(buf)), "2m");
	ck_assert_str_eq(probe_duration_format(1500, buf, sizeof(buf)), "1500ms");
	ck_assert_str_eq(probe_duration_format(86400000, buf, sizeof(buf)), "1d");
	ck_assert_str_eq(probe_duration_format(0, buf, sizeof(buf)), "0ms");
}
END_TEST

Suite *duration_suite(void)
{
	Suite *s = suite_create("duration");
	TCase *tc = tcase_create("parse");

	tcase_add_loop_test(tc, parse_table, 0, sizeof(cases) / sizeof(cases[0]));
	tcase_add_test(tc, parse_n_stops_at_length);
	tcase_add_test(tc, format_picks_largest_exact_unit);
	suite_add_tcase(s, tc);
	return s;
}
