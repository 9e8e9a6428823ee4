/* check_jpath.c - JSON paths: parse errors with their offsets, and evaluation on a sample document. */
#include "tests/tests.h"
#include "probes/probe.h"

#include <string.h>

static const char doc_text[] =
	"{\"items\":[{\"id\":1,\"name\":\"a\"},{\"id\":2,\"name\":\"b\"},{\"id\":3}],"
	"\"data\":{\"user\":{\"name\":\"Ada\",\"tags\":[\"x\",\"y\"]}},"
	"\"a.b\":{\"c d\":5},\"sp ace\":\"v\",\"br]\\\"k\":7,"
	"\"meta\":{\"length\":42,\"n\":1},\"obj\":{\"x\":1,\"y\":2},"
	"\"str\":\"h\\u00e9llo\",\"num\":3.5,\"empty\":[],\"n\":null}";

static json_t *doc;

static void doc_setup(void)
{
	json_error_t jerr;

	doc = json_loads(doc_text, 0, &jerr);
	ck_assert_msg(doc != NULL, "sample document: %s", jerr.text);
}

static void doc_teardown(void)
{
	json_decref(doc);
	doc = NULL;
}

/* ------------------------------------------------------------------ parse errors */

static const struct {
	const char *path;
	size_t offset;
	const char *msg;
} bad[] = {
	{ ".", 1, "expected a key after \".\"" },
	{ ".a.", 3, "expected a key after \".\"" },
	{ ".a..b", 3, "expected a key" },
	{ ".a[", 2, "unclosed \"[\"" },
	{ "[abc]", 1, "expected an index or a \"quoted key\"" },
	{ "[]", 1, "expected an index" },
	{ "[", 0, "unclosed \"[\"" },
	{ "[0", 0, "unclosed \"[\"" },
	{ ".items[12", 6, "unclosed \"[\"" },
	{ "[\"abc", 1, "unterminated string" },
	{ "[\"a\"", 0, "unclosed \"[\"" },
	{ "[\"a\"x]", 4, "expected \"]\"" },
	{ "[1x]", 2, "expected \"]\"" },
	{ "[-]", 2, "expected digits" },
	{ "[99999999999999999999]", 1, "too large" },
	{ "[\"a\\qb\"]", 3, "unknown escape \"\\q\"" },
	{ "x", 0, "expected \".\" or \"[\"" },
	{ ".a b", 2, "expected \".\" or \"[\"" },
	{ ".a[0]b", 5, "expected \".\" or \"[\"" },
};

START_TEST(parse_errors)
{
	struct probe_perr err = { 0 };
	struct probe_jpath *p = probe_jpath_parse(bad[_i].path, strlen(bad[_i].path), &err);

	ck_assert_msg(p == NULL, "'%s' parsed", bad[_i].path);
	ck_assert_msg(err.offset == bad[_i].offset, "'%s': offset %zu, want %zu (%s)", bad[_i].path,
		      err.offset, bad[_i].offset, err.msg);
	ck_assert_msg(strstr(err.msg, bad[_i].msg) != NULL, "'%s': message '%s' lacks '%s'",
		      bad[_i].path, err.msg, bad[_i].msg);
}
END_TEST

START_TEST(parse_reads_only_len_bytes)
{
	struct probe_perr err = { 0 };
	/* The text goes on with " == 1", which is not part of the path. */
	struct probe_jpath *p = probe_jpath_parse(".items[0].id == 1", 12, &err);

	ck_assert_ptr_nonnull(p);
	json_t *v = probe_jpath_eval(p, doc);
	ck_assert_ptr_nonnull(v);
	ck_assert_int_eq(json_integer_value(v), 1);
	json_decref(v);
	probe_jpath_free(p);
	probe_jpath_free(NULL);
}
END_TEST

/* ------------------------------------------------------------------ evaluation */

static const struct {
	const char *path;
	const char *want; /* JSON text, or NULL when the path leads nowhere */
} evals[] = {
	{ ".items[0].id", "1" },
	{ ".items[1].name", "\"b\"" },
	{ ".items[00].id", "1" },
	{ ".items[-1].id", "3" },
	{ ".items[-3].name", "\"a\"" },
	{ ".items[3]", NULL },
	{ ".items[-4]", NULL },
	{ ".data.user.name", "\"Ada\"" },
	{ ".data.user.tags[1]", "\"y\"" },
	{ ".data[\"user\"][\"tags\"][0]", "\"x\"" },
	{ "[\"a.b\"][\"c d\"]", "5" },
	{ ".a.b", NULL },
	{ "[\"sp ace\"]", "\"v\"" },
	{ "[\"br]\\\"k\"]", "7" },
	{ ".items.length", "3" },
	{ ".data.user.tags.length", "2" },
	{ ".str.length", "6" },            /* bytes: the e-acute takes two */
	{ ".obj.length", "2" },
	{ ".items[0].length", "2" },
	{ ".empty.length", "0" },
	{ ".length", "11" },
	{ ".meta.length", "42" },          /* a real member wins */
	{ ".meta[\"length\"]", "42" },
	{ ".obj[\"length\"]", NULL },      /* quoted, it is a key and nothing else */
	{ ".num.length", NULL },
	{ ".items.length.x", NULL },
	{ ".n", "null" },
	{ ".n.x", NULL },
	{ ".num.x", NULL },                /* through a number */
	{ ".data.user.name.first", NULL }, /* through a string */
	{ ".items.id", NULL },             /* a key on an array */
	{ ".data[0]", NULL },              /* an index on an object */
	{ "[0]", NULL },
	{ ".nope", NULL },
};

START_TEST(eval_table)
{
	struct probe_perr err = { 0 };
	struct probe_jpath *p = probe_jpath_parse(evals[_i].path, strlen(evals[_i].path), &err);

	ck_assert_msg(p != NULL, "'%s': %s at %zu", evals[_i].path, err.msg, err.offset);
	json_t *v = probe_jpath_eval(p, doc);
	if (evals[_i].want == NULL) {
		ck_assert_msg(v == NULL, "'%s' found something", evals[_i].path);
	} else {
		json_t *want = json_loads(evals[_i].want, JSON_DECODE_ANY, NULL);
		ck_assert_ptr_nonnull(want);
		ck_assert_msg(v != NULL, "'%s' found nothing", evals[_i].path);
		ck_assert_msg(json_equal(v, want), "'%s' found something else", evals[_i].path);
		json_decref(want);
	}
	json_decref(v);
	probe_jpath_free(p);
}
END_TEST

START_TEST(empty_path_is_the_document)
{
	struct probe_perr err = { 0 };
	struct probe_jpath *p = probe_jpath_parse("", 0, &err);

	ck_assert_ptr_nonnull(p);
	size_t before = doc->refcount;
	json_t *v = probe_jpath_eval(p, doc);
	ck_assert_ptr_eq(v, doc);
	ck_assert_uint_eq(doc->refcount, before + 1);
	json_decref(v);
	ck_assert_ptr_null(probe_jpath_eval(p, NULL));
	probe_jpath_free(p);
}
END_TEST

START_TEST(eval_returns_a_new_reference)
{
	struct probe_perr err = { 0 };
	struct probe_jpath *p = probe_jpath_parse(".data.user", 10, &err);
	json_t *v;

	ck_assert_ptr_nonnull(p);
	v = probe_jpath_eval(p, doc);
	ck_assert_ptr_nonnull(v);
	/* The node must outlive the document it came from. */
	json_decref(doc);
	doc = NULL;
	ck_assert_str_eq(json_string_value(json_object_get(v, "name")), "Ada");
	json_decref(v);
	probe_jpath_free(p);
}
END_TEST

START_TEST(length_on_a_scalar_root)
{
	struct probe_perr err = { 0 };
	struct probe_jpath *p = probe_jpath_parse(".length", 7, &err);
	json_t *s = json_string("abcd"), *n = json_integer(5), *v;

	ck_assert_ptr_nonnull(p);
	v = probe_jpath_eval(p, s);
	ck_assert_ptr_nonnull(v);
	ck_assert_int_eq(json_integer_value(v), 4);
	json_decref(v);
	ck_assert_ptr_null(probe_jpath_eval(p, n));
	json_decref(s);
	json_decref(n);
	probe_jpath_free(p);
}
END_TEST

Suite *jpath_suite(void)
{
	Suite *s = suite_create("jpath");
	TCase *tc = tcase_create("parse");

	tcase_add_checked_fixture(tc, doc_setup, doc_teardown);
	tcase_add_loop_test(tc, parse_errors, 0, sizeof(bad) / sizeof(bad[0]));
	tcase_add_test(tc, parse_reads_only_len_bytes);
	suite_add_tcase(s, tc);

	tc = tcase_create("eval");
	tcase_add_checked_fixture(tc, doc_setup, doc_teardown);
	tcase_add_loop_test(tc, eval_table, 0, sizeof(evals) / sizeof(evals[0]));
	tcase_add_test(tc, empty_path_is_the_document);
	tcase_add_test(tc, eval_returns_a_new_reference);
	tcase_add_test(tc, length_on_a_scalar_root);
	suite_add_tcase(s, tc);
	return s;
}
