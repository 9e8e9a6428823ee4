/* check_assert.c - assertions: parsing (with exact error columns), evaluation, and values as text. */
#include "tests/tests.h"
#include "probes/probe.h"

#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ parsing */

static const struct {
	const char *text;
	enum probe_subject_kind kind;
	enum probe_op op;
	size_t nvals;
	enum probe_val_type type; /* of the first value */
	double num;
	bool duration;
	const char *str;
} good[] = {
	{ "status == 200", PROBE_SUBJ_STATUS, PROBE_OP_EQ, 1, PROBE_VAL_NUM, 200, false, NULL },
	{ "  status   !=\t404  ", PROBE_SUBJ_STATUS, PROBE_OP_NE, 1, PROBE_VAL_NUM, 404, false, NULL },
	{ "latency < 250ms", PROBE_SUBJ_LATENCY, PROBE_OP_LT, 1, PROBE_VAL_NUM, 250, true, NULL },
	{ "latency <= 2s", PROBE_SUBJ_LATENCY, PROBE_OP_LE, 1, PROBE_VAL_NUM, 2000, true, NULL },
	{ "latency > 1.5", PROBE_SUBJ_LATENCY, PROBE_OP_GT, 1, PROBE_VAL_NUM, 1.5, false, NULL },
	{ "latency >= 5m", PROBE_SUBJ_LATENCY, PROBE_OP_GE, 1, PROBE_VAL_NUM, 300000, true, NULL },
	{ "latency == 1h", PROBE_SUBJ_LATENCY, PROBE_OP_EQ, 1, PROBE_VAL_NUM, 3600000, true, NULL },
	{ "tls.days_left > 1d", PROBE_SUBJ_TLS_DAYS, PROBE_OP_GT, 1, PROBE_VAL_NUM, 86400000, true, NULL },
	{ "tls.days_left >= 14", PROBE_SUBJ_TLS_DAYS, PROBE_OP_GE, 1, PROBE_VAL_NUM, 14, false, NULL },
	{ "body contains \"hello world\"", PROBE_SUBJ_BODY, PROBE_OP_CONTAINS, 1, PROBE_VAL_STR, 0, false, "hello world" },
	/* contains and matches take their value as text, as written. */
	{ "body contains 1.50", PROBE_SUBJ_BODY, PROBE_OP_CONTAINS, 1, PROBE_VAL_STR, 0, false, "1.50" },
	{ "body !contains error", PROBE_SUBJ_BODY, PROBE_OP_NCONTAINS, 1, PROBE_VAL_STR, 0, false, "error" },
	{ "body matches \"^ok\\\\.$\"", PROBE_SUBJ_BODY, PROBE_OP_MATCHES, 1, PROBE_VAL_STR, 0, false, "^ok\\.$" },
	{ "status matches 2..", PROBE_SUBJ_STATUS, PROBE_OP_MATCHES, 1, PROBE_VAL_STR, 0, false, "2.." },
	{ "header.Content-Type == application/json", PROBE_SUBJ_HEADER, PROBE_OP_EQ, 1, PROBE_VAL_STR, 0, false, "application/json" },
	{ "header.x-req-id exists", PROBE_SUBJ_HEADER, PROBE_OP_EXISTS, 0, 0, 0, false, NULL },
	{ "json.missing !exists", PROBE_SUBJ_JSON, PROBE_OP_NEXISTS, 0, 0, 0, false, NULL },
	{ "json.items[0].id == 1", PROBE_SUBJ_JSON, PROBE_OP_EQ, 1, PROBE_VAL_NUM, 1, false, NULL },
	{ "json[\"a b\"].c == \"x y\"", PROBE_SUBJ_JSON, PROBE_OP_EQ, 1, PROBE_VAL_STR, 0, false, "x y" },
	{ "json == null", PROBE_SUBJ_JSON, PROBE_OP_EQ, 1, PROBE_VAL_NULL, 0, false, NULL },
	{ "json.ok == true", PROBE_SUBJ_JSON, PROBE_OP_EQ, 1, PROBE_VAL_BOOL, 1, false, NULL },
	{ "json.ok != false", PROBE_SUBJ_JSON, PROBE_OP_NE, 1, PROBE_VAL_BOOL, 0, false, NULL },
	{ "json.s == \"say \\\"hi\\\"\\n\\t\\\\\\/\"", PROBE_SUBJ_JSON, PROBE_OP_EQ, 1, PROBE_VAL_STR, 0, false, "say \"hi\"\n\t\\/" },
	{ "json.s == \"\"", PROBE_SUBJ_JSON, PROBE_OP_EQ, 1, PROBE_VAL_STR, 0, false, "" },
	{ "json.s == \"42\"", PROBE_SUBJ_JSON, PROBE_OP_EQ, 1, PROBE_VAL_STR, 0, false, "42" },
	{ "json.v == -3.25e2", PROBE_SUBJ_JSON, PROBE_OP_EQ, 1, PROBE_VAL_NUM, -325, false, NULL },
	{ "json.v == +5", PROBE_SUBJ_JSON, PROBE_OP_EQ, 1, PROBE_VAL_NUM, 5, false, NULL },
	{ "json.v == .5", PROBE_SUBJ_JSON, PROBE_OP_EQ, 1, PROBE_VAL_NUM, 0.5, false, NULL },
	{ "json.v == 0", PROBE_SUBJ_JSON, PROBE_OP_EQ, 1, PROBE_VAL_NUM, 0, false, NULL },
	{ "json.v == 1e3x", PROBE_SUBJ_JSON, PROBE_OP_EQ, 1, PROBE_VAL_STR, 0, false, "1e3x" },
	{ "json.v == nullx", PROBE_SUBJ_JSON, PROBE_OP_EQ, 1, PROBE_VAL_STR, 0, false, "nullx" },
	{ "json.v == inf", PROBE_SUBJ_JSON, PROBE_OP_EQ, 1, PROBE_VAL_STR, 0, false, "inf" },
	{ "json.v == 5M", PROBE_SUBJ_JSON, PROBE_OP_EQ, 1, PROBE_VAL_STR, 0, false, "5M" },
	{ "json.v == a\"b", PROBE_SUBJ_JSON, PROBE_OP_EQ, 1, PROBE_VAL_STR, 0, false, "a\"b" },
	{ "status in [200, 201, 204]", PROBE_SUBJ_STATUS, PROBE_OP_IN, 3, PROBE_VAL_NUM, 200, false, NULL },
	{ "status in [200]", PROBE_SUBJ_STATUS, PROBE_OP_IN, 1, PROBE_VAL_NUM, 200, false, NULL },
	{ "status in [ 200 ,201 ]", PROBE_SUBJ_STATUS, PROBE_OP_IN, 2, PROBE_VAL_NUM, 200, false, NULL },
	{ "latency in [100ms, 1]", PROBE_SUBJ_LATENCY, PROBE_OP_IN, 2, PROBE_VAL_NUM, 100, true, NULL },
	{ "json.x in [\"a, b]\", 1]", PROBE_SUBJ_JSON, PROBE_OP_IN, 2, PROBE_VAL_STR, 0, false, "a, b]" },
	{ "status == \"200\"", PROBE_SUBJ_STATUS, PROBE_OP_EQ, 1, PROBE_VAL_STR, 0, false, "200" },
};

START_TEST(parse_good)
{
	struct probe_assert a;
	struct probe_perr err = { 0 };
	int rc = probe_assert_parse(good[_i].text, &a, &err);

	ck_assert_msg(rc == 0, "'%s': %s at %zu", good[_i].text, err.msg, err.offset);
	ck_assert_str_eq(a.text, good[_i].text);
	ck_assert_int_eq(a.subj.kind, good[_i].kind);
	ck_assert_int_eq(a.op, good[_i].op);
	ck_assert_uint_eq(a.nvals, good[_i].nvals);
	if (a.nvals > 0) {
		ck_assert_int_eq(a.vals[0].type, good[_i].type);
		ck_assert_msg(a.vals[0].duration == good[_i].duration, "'%s': duration", good[_i].text);
		if (good[_i].type == PROBE_VAL_STR)
			ck_assert_str_eq(a.vals[0].str, good[_i].str);
		else
			ck_assert_double_eq(a.vals[0].num, good[_i].num);
	}
	ck_assert_msg((a.re != NULL) == (a.op == PROBE_OP_MATCHES), "'%s': regex", good[_i].text);
	probe_assert_clear(&a);
	ck_assert_ptr_null(a.text);
	ck_assert_ptr_null(a.vals);
}
END_TEST

START_TEST(parse_mixed_list)
{
	struct probe_assert a;
	struct probe_perr err = { 0 };

	ck_assert_int_eq(probe_assert_parse("json.x in [\"a,[b]\", 2s, -1.5, true, false, null, word]",
					    &a, &err), 0);
	ck_assert_uint_eq(a.nvals, 7);
	ck_assert_int_eq(a.vals[0].type, PROBE_VAL_STR);
	ck_assert_str_eq(a.vals[0].str, "a,[b]");
	ck_assert_int_eq(a.vals[1].type, PROBE_VAL_NUM);
	ck_assert(a.vals[1].duration);
	ck_assert_double_eq(a.vals[1].num, 2000);
	ck_assert_int_eq(a.vals[2].type, PROBE_VAL_NUM);
	ck_assert_double_eq(a.vals[2].num, -1.5);
	ck_assert_int_eq(a.vals[3].type, PROBE_VAL_BOOL);
	ck_assert_double_eq(a.vals[3].num, 1);
	ck_assert_int_eq(a.vals[4].type, PROBE_VAL_BOOL);
	ck_assert_double_eq(a.vals[4].num, 0);
	ck_assert_int_eq(a.vals[5].type, PROBE_VAL_NULL);
	ck_assert_int_eq(a.vals[6].type, PROBE_VAL_STR);
	ck_assert_str_eq(a.vals[6].str, "word");
	probe_assert_clear(&a);
}
END_TEST

START_TEST(parse_subjects)
{
	struct probe_subject s;
	struct probe_perr err = { 0 };

	ck_assert_int_eq(probe_subject_parse("header.X-Req-Id", 15, &s, &err), 0);
	ck_assert_int_eq(s.kind, PROBE_SUBJ_HEADER);
	ck_assert_str_eq(s.header, "X-Req-Id");
	probe_subject_clear(&s);
	ck_assert_ptr_null(s.header);
	ck_assert_int_eq(probe_subject_parse("json.a[0]", 9, &s, &err), 0);
	ck_assert_int_eq(s.kind, PROBE_SUBJ_JSON);
	ck_assert_ptr_nonnull(s.path);
	probe_subject_clear(&s);
	probe_subject_clear(&s);
	ck_assert_int_eq(probe_subject_parse("json", 4, &s, &err), 0);
	probe_subject_clear(&s);
	/* Only the given bytes count. */
	ck_assert_int_eq(probe_subject_parse("status == 1", 6, &s, &err), 0);
	ck_assert_int_eq(s.kind, PROBE_SUBJ_STATUS);
	ck_assert_int_ne(probe_subject_parse("jsonx", 5, &s, &err), 0);
	ck_assert_uint_eq(err.offset, 0);
	ck_assert_ptr_nonnull(strstr(err.msg, "unknown subject \"jsonx\""));
	ck_assert_int_ne(probe_subject_parse("", 0, &s, &err), 0);
	ck_assert_ptr_nonnull(strstr(err.msg, "expected a subject"));
}
END_TEST

static const struct {
	const char *text;
	size_t offset;
	const char *msg;
} bad[] = {
	{ "", 0, "empty assertion" },
	{ "   ", 0, "empty assertion" },
	{ "stauts == 200", 0, "unknown subject \"stauts\" (use status, latency, body, header.NAME, json.PATH or tls.days_left)" },
	{ "tls.days > 3", 0, "unknown subject \"tls.days\"" },
	{ "json_x == 3", 0, "unknown subject \"json_x\"" },
	{ "an_extremely_long_subject_name_that_goes_on_and_on == 1", 0, "unknown subject \"an_extremely_long_subject_name_that_goes...\"" },
	{ "status", 6, "expected an operator after \"status\"" },
	{ "  status  ", 8, "expected an operator" },
	{ "status => 200", 7, "unknown operator \"=>\" (use ==" },
	{ "status = 200", 7, "unknown operator \"=\"" },
	{ "status <> 200", 7, "unknown operator \"<>\"" },
	{ "status contain x", 7, "unknown operator \"contain\"" },
	{ "status ==200", 9, "expected a blank after the operator \"==\"" },
	{ "status <=5", 9, "expected a blank after the operator \"<=\"" },
	{ "status in[200]", 9, "expected a blank after the operator \"in\"" },
	{ "status==200", 6, "expected a blank between the subject and the operator" },
	{ "status == ", 9, "expected a value after \"==\"" },
	{ "status ==", 9, "expected a value after \"==\"" },
	{ "body contains", 13, "expected a value after \"contains\"" },
	{ "body == \"abc", 8, "unterminated string" },
	{ "body == \"abc\\\"", 8, "unterminated string" },
	{ "body == \"a\\qb\"", 10, "unknown escape \"\\q\"" },
	{ "status < \"abc\"", 9, "operator \"<\" needs a number or a duration" },
	{ "status >= abc", 10, "operator \">=\" needs a number or a duration" },
	{ "status <= true", 10, "operator \"<=\" needs a number" },
	{ "status > null", 9, "operator \">\" needs a number" },
	{ "latency == fast", 11, "latency is compared with a number" },
	{ "latency != \"1\"", 11, "latency is compared with a number" },
	{ "latency contains 1", 8, "operator \"contains\" does not apply to latency" },
	{ "latency matches 1", 8, "operator \"matches\" does not apply to latency" },
	{ "latency in [1, fast]", 15, "latency is compared with a number" },
	{ "body matches \"(\"", 13, "invalid regular expression: " },
	{ "body matches a[", 13, "invalid regular expression: " },
	{ "status == 200 300", 14, "unexpected \"300\" after the value (quote values that contain spaces)" },
	{ "body contains hello world", 20, "unexpected \"world\" after the value" },
	{ "body == \"a\"b", 11, "unexpected \"b\" after the value" },
	{ "status == 1e999", 10, "number \"1e999\" is out of range" },
	{ "status == 99999999999999999999d", 10, "is out of range" },
	{ "header. exists", 7, "expected a header name after \"header.\"" },
	{ "header exists", 6, "expected a header name" },
	{ "header.X/Y == 1", 8, "invalid character \"/\" in a header name" },
	{ "json. == 1", 5, "expected a key after \".\"" },
	{ "json.a..b == 1", 7, "expected a key after \".\"" },
	{ "json.a[abc] == 1", 7, "expected an index or a \"quoted key\"" },
	{ "json.a[1 == 1", 6, "unclosed \"[\"" },
	{ "json[\"a b == 1", 5, "unterminated string" },
	{ "  json.x[\"k\"]x == 1", 13, "expected \".\" or \"[\"" },
	{ "status exists 1", 14, "unexpected \"1\" after \"exists\"" },
	{ "status !exists now", 15, "unexpected \"now\" after \"!exists\"" },
	{ "status in 200", 10, "expected \"[\" after \"in\"" },
	{ "status in", 9, "expected \"[\" after \"in\"" },
	{ "status in []", 11, "empty list after \"in\"" },
	{ "status in [ ]", 12, "empty list" },
	{ "status in [200, 201", 10, "unclosed \"[\"" },
	{ "status in [200,", 10, "unclosed \"[\"" },
	{ "status in [\"a]", 11, "unterminated string" },
	{ "status in [200 201]", 15, "expected \",\" or \"]\" before \"201]\"" },
	{ "status in [200,]", 15, "expected a value after \",\"" },
	{ "status in [,200]", 11, "expected a value after \"in\"" },
	{ "status in [200] x", 16, "unexpected \"x\" after the list" },
};

START_TEST(parse_bad)
{
	struct probe_assert a;
	struct probe_perr err = { 0 };
	int rc = probe_assert_parse(bad[_i].text, &a, &err);

	ck_assert_msg(rc < 0, "'%s' parsed", bad[_i].text);
	ck_assert_msg(err.offset == bad[_i].offset, "'%s': offset %zu, want %zu (%s)", bad[_i].text,
		      err.offset, bad[_i].offset, err.msg);
	ck_assert_msg(strstr(err.msg, bad[_i].msg) != NULL, "'%s': message '%s' lacks '%s'",
		      bad[_i].text, err.msg, bad[_i].msg);
	/* Nothing is left to free. */
	ck_assert_ptr_null(a.text);
	ck_assert_ptr_null(a.vals);
	ck_assert_uint_eq(a.nvals, 0);
	ck_assert_ptr_null(a.re);
	ck_assert_ptr_null(a.subj.path);
	ck_assert_ptr_null(a.subj.header);
}
END_TEST

START_TEST(clear_is_idempotent)
{
	struct probe_assert a;
	struct probe_perr err = { 0 };

	memset(&a, 0, sizeof(a));
	probe_assert_clear(&a);
	ck_assert_int_eq(probe_assert_parse("body matches ^a", &a, &err), 0);
	ck_assert_ptr_nonnull(a.re);
	probe_assert_clear(&a);
	ck_assert_ptr_null(a.re);
	ck_assert_ptr_null(a.text);
	probe_assert_clear(&a);
}
END_TEST

/* ------------------------------------------------------------------ evaluation */

static const char body_text[] =
	"{\"id\":42,\"name\":\"Widget\",\"price\":\"19.99\",\"count\":\"12\",\"ratio\":0.25,\"big\":1e300,"
	"\"tags\":[\"new\",\"sale\",7,true,null,1.5],"
	"\"data\":{\"user\":{\"name\":\"Ada Lovelace\",\"active\":true,\"score\":3.5}},"
	"\"empty\":\"\",\"nil\":null,\"flag\":false,\"obj\":{\"k\":1,\"length\":9},"
	"\"key with space\":\"yes\",\"q\":\"a\\\"b\\nc\",\"three\":3.0,\"zero\":\"a\\u0000b\"}";

static const char headers_text[] =
	"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nX-Req-Id: abc\r\n\r\n";

static struct probe_resp resp;

static void resp_setup(void)
{
	memset(&resp, 0, sizeof(resp));
	resp.status = 201;
	resp.latency_ms = 123.4;
	resp.body = body_text;
	resp.body_len = sizeof(body_text) - 1;
	resp.headers = headers_text;
	resp.headers_len = sizeof(headers_text) - 1;
	resp.has_tls = true;
	resp.tls_days_left = 30;
}

static void resp_teardown(void)
{
	probe_resp_clear(&resp);
}

/* Parses text, evaluates it on r and checks the outcome and, when want is not NULL, *actual. */
static void check_eval(struct probe_resp *r, const char *text, bool pass, const char *want)
{
	struct probe_assert a;
	struct probe_perr err = { 0 };
	char *actual = (char *)"unset";

	ck_assert_msg(probe_assert_parse(text, &a, &err) == 0, "'%s': %s at %zu", text, err.msg,
		      err.offset);
	bool got = probe_assert_eval(&a, r, &actual);
	ck_assert_msg(got == pass, "'%s': %s, actual %s", text, got ? "held" : "failed",
		      actual ? actual : "(null)");
	if (pass) {
		ck_assert_msg(actual == NULL, "'%s': actual set on success", text);
	} else {
		ck_assert_msg(actual != NULL, "'%s': no actual", text);
		if (want != NULL)
			ck_assert_msg(strcmp(actual, want) == 0, "'%s': actual '%s', want '%s'", text,
				      actual, want);
	}
	/* Without an actual to fill, the outcome is the same. */
	ck_assert(probe_assert_eval(&a, r, NULL) == pass);
	free(actual);
	probe_assert_clear(&a);
}

static const struct {
	const char *text;
	bool pass;
	const char *actual;
} evals[] = {
	/* status */
	{ "status == 201", true, NULL },
	{ "status == 200", false, "201" },
	{ "status != 200", true, NULL },
	{ "status != 201", false, "201" },
	{ "status == 201.0", true, NULL },
	{ "status == \"201\"", true, NULL },
	{ "status == true", false, "201" },
	{ "status < 300", true, NULL },
	{ "status <= 201", true, NULL },
	{ "status > 201", false, "201" },
	{ "status >= 201", true, NULL },
	{ "status in [200, 201, 204]", true, NULL },
	{ "status in [200, 204]", false, "201" },
	{ "status in [\"201\", true]", true, NULL },
	{ "status matches ^2..$", true, NULL },
	{ "status matches \"^3\"", false, "201" },
	{ "status contains 20", true, NULL },
	{ "status !contains 20", false, "201" },
	{ "status exists", true, NULL },
	{ "status !exists", false, "201" },
	/* latency */
	{ "latency < 2s", true, NULL },
	{ "latency < 100ms", false, "123.4" },
	{ "latency > 123", true, NULL },
	{ "latency == 123.4", true, NULL },
	{ "latency <= 123.4", true, NULL },
	{ "latency >= 124", false, "123.4" },
	{ "latency != 123.4", false, "123.4" },
	{ "latency in [123.4, 1s]", true, NULL },
	/* tls */
	{ "tls.days_left > 14", true, NULL },
	{ "tls.days_left < 14", false, "30" },
	/* body */
	{ "body contains \"Ada Lovelace\"", true, NULL },
	{ "body contains Widget", true, NULL },
	{ "body contains \"\"", true, NULL },
	{ "body !contains error", true, NULL },
	{ "body matches \"\\\"active\\\": *true\"", true, NULL },
	{ "body matches ^\\{.*\\}$", true, NULL },
	{ "body matches ^Widget", false, NULL },
	{ "body > 3", false, NULL },
	/* headers */
	{ "header.content-type == application/json", true, NULL },
	{ "header.CONTENT-TYPE contains json", true, NULL },
	{ "header.X-Req-Id == abc", true, NULL },
	{ "header.x-req-id == \"abd\"", false, "\"abc\"" },
	{ "header.x-req-id exists", true, NULL },
	{ "header.X-Req exists", false, "nothing (no header X-Req)" },
	{ "header.X-Missing !exists", true, NULL },
	{ "header.X-Missing != abc", false, "nothing (no header X-Missing)" },
	{ "header.X-Missing !contains abc", false, "nothing (no header X-Missing)" },
	{ "header.x-req-id !exists", false, "\"abc\"" },
	/* json: numbers, numeric strings */
	{ "json.id == 42", true, NULL },
	{ "json.id == \"42\"", true, NULL },
	{ "json.id != 41", true, NULL },
	{ "json.id > 41.5", true, NULL },
	{ "json.id < 1h", true, NULL },
	{ "json.id matches ^4[0-9]$", true, NULL },
	{ "json.price == 19.99", true, NULL },
	{ "json.price == \"19.99\"", true, NULL },
	{ "json.price > 19", true, NULL },
	{ "json.price < 20", true, NULL },
	{ "json.price >= 20", false, "\"19.99\"" },
	{ "json.count >= 12", true, NULL },
	{ "json.name > 3", false, "\"Widget\"" },
	{ "json.name == 3", false, "\"Widget\"" },
	{ "json.ratio == 0.25", true, NULL },
	{ "json.ratio == \"0.25\"", true, NULL },
	{ "json.ratio contains 25", true, NULL },
	{ "json.big == 1e300", true, NULL },
	{ "json.three == 3", true, NULL },
	{ "json.three == x", false, "3" },
	{ "json.data.user.score == 3.5", true, NULL },
	/* json: strings, booleans, null */
	{ "json.name == Widget", true, NULL },
	{ "json.name == widget", false, "\"Widget\"" },
	{ "json.q == x", false, "\"a\\\"b\\nc\"" },
	{ "json.data.user.name contains Love", true, NULL },
	{ "json.data.user.active == true", true, NULL },
	{ "json.data.user.active == false", false, "true" },
	{ "json.data.user.active == \"true\"", true, NULL },
	{ "json.data.user.active == 1", false, "true" },
	{ "json.nil == null", true, NULL },
	{ "json.nil exists", true, NULL },
	{ "json.nil != null", false, "null" },
	{ "json.nil == \"null\"", true, NULL },
	{ "json.flag == false", true, NULL },
	{ "json.empty == \"\"", true, NULL },
	{ "json.empty.length == 0", true, NULL },
	{ "json[\"key with space\"] == yes", true, NULL },
	{ "json.zero contains b", true, NULL },
	{ "json.zero == \"a\"", false, "\"a\\u0000b\"" },
	{ "json.zero matches ^a$", true, NULL },
	/* json: arrays and objects */
	{ "json.tags contains sale", true, NULL },
	{ "json.tags contains 7", true, NULL },
	{ "json.tags contains true", true, NULL },
	{ "json.tags contains null", true, NULL },
	{ "json.tags contains 1.5", true, NULL },
	{ "json.tags contains sal", false, NULL },
	{ "json.tags contains old", false, "[\"new\",\"sale\",7,true,null,1.5]" },
	{ "json.tags !contains old", true, NULL },
	{ "json.tags !contains new", false, NULL },
	{ "json.tags.length == 6", true, NULL },
	{ "json.tags[-1] == 1.5", true, NULL },
	{ "json.tags == x", false, "[\"new\",\"sale\",7,true,null,1.5]" },
	{ "json.data contains user", true, NULL },
	{ "json.data !contains nobody", true, NULL },
	{ "json.data.user matches \"\\\"score\\\":3.5\"", true, NULL },
	{ "json.data == 1", false,
	  "{\"user\":{\"name\":\"Ada Lovelace\",\"active\":true,\"score\":3.5}}" },
	{ "json.obj.length == 9", true, NULL },
	/* json: in */
	{ "json.id in [\"a\", 42, true]", true, NULL },
	{ "json.nil in [1, null]", true, NULL },
	{ "json.flag in [true, \"x\"]", false, "false" },
	{ "json.name in [Gadget, \"Widget\"]", true, NULL },
	/* json: missing */
	{ "json.tags[9] exists", false, "nothing (json.tags[9] not found)" },
	{ "json.tags[9] !exists", true, NULL },
	{ "json.missing == 1", false, "nothing (json.missing not found)" },
	{ "json.missing != 1", false, "nothing (json.missing not found)" },
	{ "json.name.first == x", false, "nothing (json.name.first not found)" },
	{ "json[\"a b\"] in [1]", false, "nothing (json[\"a b\"] not found)" },
	{ "json exists", true, NULL },
};

START_TEST(eval_table)
{
	check_eval(&resp, evals[_i].text, evals[_i].pass, evals[_i].actual);
}
END_TEST

START_TEST(body_is_parsed_once)
{
	const char *why = "unset";
	struct probe_subject s;
	struct probe_perr err = { 0 };

	check_eval(&resp, "json.id == 42", true, NULL);
	ck_assert(resp.json_tried);
	json_t *cached = resp.json;
	ck_assert_ptr_nonnull(cached);
	check_eval(&resp, "json.name == Widget", true, NULL);
	ck_assert_ptr_eq(resp.json, cached);

	ck_assert_int_eq(probe_subject_parse("json.nope", 9, &s, &err), 0);
	ck_assert_ptr_null(probe_subject_get(&s, &resp, &why));
	ck_assert_str_eq(why, "json.nope not found");
	ck_assert_ptr_null(probe_subject_get(&s, &resp, NULL));
	probe_subject_clear(&s);

	probe_resp_clear(&resp);
	ck_assert_ptr_null(resp.json);
	ck_assert(!resp.json_tried);
	probe_resp_clear(&resp);
}
END_TEST

START_TEST(subject_values)
{
	struct probe_subject s;
	struct probe_perr err = { 0 };
	json_t *v;

	ck_assert_int_eq(probe_subject_parse("latency", 7, &s, &err), 0);
	v = probe_subject_get(&s, &resp, NULL);
	ck_assert(json_is_real(v));
	ck_assert_double_eq(json_real_value(v), 123.4);
	json_decref(v);
	probe_subject_clear(&s);
	ck_assert_int_eq(probe_subject_parse("status", 6, &s, &err), 0);
	v = probe_subject_get(&s, &resp, NULL);
	ck_assert(json_is_integer(v));
	ck_assert_int_eq(json_integer_value(v), 201);
	json_decref(v);
	probe_subject_clear(&s);
	ck_assert_int_eq(probe_subject_parse("body", 4, &s, &err), 0);
	v = probe_subject_get(&s, &resp, NULL);
	ck_assert(json_is_string(v));
	ck_assert_uint_eq(json_string_length(v), sizeof(body_text) - 1);
	json_decref(v);
	probe_subject_clear(&s);
}
END_TEST

START_TEST(not_json)
{
	static const char html[] = "<html>oops</html>";
	struct probe_resp r = { .status = 500, .body = html, .body_len = sizeof(html) - 1 };

	check_eval(&r, "json.id == 1", false, NULL);
	ck_assert(r.json_tried);
	ck_assert_ptr_null(r.json);
	ck_assert_str_ne(r.json_error, "");

	struct probe_assert a;
	struct probe_perr err = { 0 };
	char *actual = NULL;
	ck_assert_int_eq(probe_assert_parse("json.id == 1", &a, &err), 0);
	ck_assert(!probe_assert_eval(&a, &r, &actual));
	ck_assert_msg(strncmp(actual, "nothing (body is not JSON: ", 27) == 0, "actual '%s'", actual);
	free(actual);
	probe_assert_clear(&a);

	check_eval(&r, "json !exists", true, NULL);
	check_eval(&r, "json exists", false, NULL);
	check_eval(&r, "body contains oops", true, NULL);
	check_eval(&r, "tls.days_left exists", false, "nothing (no TLS)");
	check_eval(&r, "tls.days_left > 0", false, "nothing (no TLS)");
	check_eval(&r, "header.Content-Type exists", false, "nothing (no header Content-Type)");
	probe_resp_clear(&r);

	struct probe_resp empty = { .status = 204 };
	check_eval(&empty, "json exists", false, "nothing (body is not JSON: the body is empty)");
	check_eval(&empty, "body == \"\"", true, NULL);
	probe_resp_clear(&empty);
}
END_TEST

START_TEST(scalar_json_bodies)
{
	static const char num[] = " 17 ";
	struct probe_resp r = { .status = 200, .body = num, .body_len = sizeof(num) - 1 };

	check_eval(&r, "json == 17", true, NULL);
	check_eval(&r, "json > 16", true, NULL);
	/* As a string, " 17 " is not entirely a number: strtod stops at the last blank. */
	check_eval(&r, "body == 17", false, "\" 17 \"");
	check_eval(&r, "body == \" 17 \"", true, NULL);
	probe_resp_clear(&r);
}
END_TEST

START_TEST(header_lookup)
{
	static const char h[] =
		"HTTP/1.1 200 OK\r\nSet-Cookie: a=1\r\nset-cookie: b=2\r\nX-Pad:   v w \t\r\n"
		"X-Empty:\r\nContent-Length: 17\r\nX-Timeout: 5m\r\nX-Neg: -3\r\nX-Lf: unix\n\r\n";
	struct probe_resp r = { .status = 200, .headers = h, .headers_len = sizeof(h) - 1 };

	check_eval(&r, "header.set-cookie == a=1", true, NULL);
	check_eval(&r, "header.X-Pad == \"v w\"", true, NULL);
	check_eval(&r, "header.x-empty == \"\"", true, NULL);
	check_eval(&r, "header.x-empty exists", true, NULL);
	check_eval(&r, "header.Content-Length == 17", true, NULL);
	check_eval(&r, "header.Content-Length > 16", true, NULL);
	check_eval(&r, "header.Content-Length in [\"17\"]", true, NULL);
	check_eval(&r, "header.X-Timeout == 5m", true, NULL);
	check_eval(&r, "header.X-Timeout < 10m", true, NULL);
	check_eval(&r, "header.X-Timeout == \"5m\"", true, NULL);
	check_eval(&r, "header.X-Timeout > 4", false, "\"5m\"");
	check_eval(&r, "header.X-Neg < 0", true, NULL);
	check_eval(&r, "header.X-Lf == unix", true, NULL);
	check_eval(&r, "header.HTTP exists", false, "nothing (no header HTTP)");
	check_eval(&r, "header.X-Pa !exists", true, NULL);
}
END_TEST

START_TEST(bodies_that_are_not_text)
{
	static const char nul[] = "ab\0cd";
	static const char bin[] = "\xff\xfe" "abc";
	struct probe_resp r = { .status = 200, .body = nul, .body_len = 5 };

	check_eval(&r, "body contains cd", true, NULL);
	check_eval(&r, "body matches ^ab$", true, NULL);
	check_eval(&r, "body == ab", false, "\"ab\\u0000cd\"");
	r.body = bin;
	r.body_len = sizeof(bin) - 1;
	check_eval(&r, "body contains abc", true, NULL);
	check_eval(&r, "body == x", false, "\"\\xff\\xfeabc\"");
}
END_TEST

START_TEST(long_actuals_are_cut)
{
	char body[401], want[200];
	struct probe_resp r = { .status = 200, .body = body, .body_len = 400 };

	/* 200 two-byte characters: the cut must fall between two of them. */
	for (int i = 0; i < 200; i++)
		memcpy(body + 2 * i, "\xc3\xa9", 2);
	body[400] = '\0';
	want[0] = '"';
	memcpy(want + 1, body, 120);
	strcpy(want + 121, "...\"");
	check_eval(&r, "body == x", false, want);

	/* An odd offset: 119 bytes of content fit, not 120. */
	body[0] = 'a';
	memmove(body + 1, body + 2, 398);
	r.body_len = 399;
	want[0] = '"';
	memcpy(want + 1, body, 119);
	strcpy(want + 120, "...\"");
	check_eval(&r, "body == x", false, want);

	/* Compact JSON is cut too. */
	static const char arr[] = "[\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\","
				  "\"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\","
				  "\"cccccccccccccccccccccccccccccccccccccccccccccccccc\"]";
	struct probe_resp j = { .status = 200, .body = arr, .body_len = sizeof(arr) - 1 };
	struct probe_assert a;
	struct probe_perr err = { 0 };
	char *actual = NULL;
	ck_assert_int_eq(probe_assert_parse("json == 1", &a, &err), 0);
	ck_assert(!probe_assert_eval(&a, &j, &actual));
	ck_assert_uint_eq(strlen(actual), 123);
	ck_assert_int_eq(strncmp(actual, arr, 120), 0);
	ck_assert_str_eq(actual + 120, "...");
	free(actual);
	probe_resp_clear(&j);

	/* ... and not inside a UTF-8 sequence: the e-acute would straddle byte 120. */
	char doc[200];
	strcpy(doc, "[\"");
	memset(doc + 2, 'a', 117);
	strcpy(doc + 119, "\xc3\xa9\xc3\xa9\xc3\xa9\"]");
	j.body = doc;
	j.body_len = strlen(doc);
	ck_assert(!probe_assert_eval(&a, &j, &actual));
	ck_assert_uint_eq(strlen(actual), 122);
	ck_assert_int_eq(strncmp(actual, doc, 119), 0);
	ck_assert_str_eq(actual + 119, "...");
	free(actual);
	probe_assert_clear(&a);
	probe_resp_clear(&j);
}
END_TEST

/* ------------------------------------------------------------------ values as text */

static const struct {
	const char *json; /* JSON text of the value */
	const char *want;
} texts[] = {
	{ "\"abc\"", "abc" },
	{ "\"h\\u00e9\"", "h\xc3\xa9" },
	{ "\"\"", "" },
	{ "42", "42" },
	{ "-7", "-7" },
	{ "9007199254740993", "9007199254740993" },
	{ "2.5", "2.5" },
	{ "3.0", "3" },
	{ "-0.0", "0" },
	{ "0.1", "0.1" },
	{ "123.4", "123.4" },
	{ "1e300", "1e+300" },
	{ "0.30000000000000004", "0.30000000000000004" },
	{ "true", "true" },
	{ "false", "false" },
	{ "null", "null" },
	{ "[1, \"a\", [true]]", "[1,\"a\",[true]]" },
	{ "{\"b\": 1, \"a\": [null]}", "{\"b\":1,\"a\":[null]}" },
	{ "{}", "{}" },
};

START_TEST(value_text_table)
{
	json_t *v = json_loads(texts[_i].json, JSON_DECODE_ANY, NULL);

	ck_assert_ptr_nonnull(v);
	char *t = probe_value_text(v);
	ck_assert_ptr_nonnull(t);
	ck_assert_str_eq(t, texts[_i].want);
	free(t);
	json_decref(v);
}
END_TEST

START_TEST(value_text_of_nothing)
{
	ck_assert_ptr_null(probe_value_text(NULL));
}
END_TEST

Suite *assert_suite(void)
{
	Suite *s = suite_create("assert");
	TCase *tc = tcase_create("parse");

	tcase_add_loop_test(tc, parse_good, 0, sizeof(good) / sizeof(good[0]));
	tcase_add_test(tc, parse_mixed_list);
	tcase_add_test(tc, parse_subjects);
	tcase_add_loop_test(tc, parse_bad, 0, sizeof(bad) / sizeof(bad[0]));
	tcase_add_test(tc, clear_is_idempotent);
	suite_add_tcase(s, tc);

	tc = tcase_create("eval");
	tcase_add_checked_fixture(tc, resp_setup, resp_teardown);
	tcase_add_loop_test(tc, eval_table, 0, sizeof(evals) / sizeof(evals[0]));
	tcase_add_test(tc, body_is_parsed_once);
	tcase_add_test(tc, subject_values);
	tcase_add_test(tc, not_json);
	tcase_add_test(tc, scalar_json_bodies);
	tcase_add_test(tc, header_lookup);
	tcase_add_test(tc, bodies_that_are_not_text);
	tcase_add_test(tc, long_actuals_are_cut);
	suite_add_tcase(s, tc);

	tc = tcase_create("value_text");
	tcase_add_loop_test(tc, value_text_table, 0, sizeof(texts) / sizeof(texts[0]));
	tcase_add_test(tc, value_text_of_nothing);
	suite_add_tcase(s, tc);
	return s;
}
