/* fuzz_assert.c - libFuzzer harness: probe_assert_parse on the input, then probe_assert_eval on fixed responses. */
#include "probes/probe.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char body_json[] =
	"{\"id\":42,\"name\":\"Widget\",\"price\":\"19.99\",\"ratio\":0.25,\"big\":1e300,"
	"\"tags\":[\"new\",\"sale\",7,true,null,1.5],"
	"\"data\":{\"user\":{\"name\":\"Ada Lovelace\",\"active\":true,\"score\":3.5}},"
	"\"empty\":\"\",\"nil\":null,\"flag\":false,\"obj\":{\"k\":1,\"length\":9},"
	"\"key with space\":\"yes\",\"q\":\"a\\\"b\\nc\",\"zero\":\"a\\u0000b\"}";
static const char body_html[] = "<html><body>502 Bad Gateway</body></html>";
static const char headers_text[] =
	"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nX-Req-Id: abc\r\n"
	"Set-Cookie: a=1\r\nSet-Cookie: b=2\r\nEmpty:\r\n\r\n";

/*
 * Every other input gives the empty response NULL headers, as struct
 * probe_resp allows (run.c and http.c give ""): regressions/assert/ once
 * crashed find_header that way.
 */
static bool null_headers(void)
{
	static unsigned n;

	return (n++ & 1) != 0;
}

/* Evaluates a on r, with and without an actual, and frees what it cached. */
static void eval_on(const struct probe_assert *a, struct probe_resp *r)
{
	char *actual = NULL;

	(void)probe_assert_eval(a, r, &actual);
	free(actual);
	(void)probe_assert_eval(a, r, NULL);
	probe_resp_clear(r);
}

/*
 * The parser takes NUL-terminated text: the input is copied and terminated
 * (an embedded NUL ends it early, as it would in a config string).
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct probe_assert a;
	struct probe_perr err = { 0 };
	char *text = malloc(size + 1);

	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (probe_assert_parse(text, &a, &err) == 0) {
		struct probe_resp json = {
			.status = 201, .latency_ms = 123.4, .body = body_json,
			.body_len = sizeof(body_json) - 1, .headers = headers_text,
			.headers_len = sizeof(headers_text) - 1, .has_tls = true, .tls_days_left = 30,
		};
		struct probe_resp html = {
			.status = 502, .body = body_html, .body_len = sizeof(body_html) - 1, .headers = "",
		};
		/* run.c and http.c give "" for an empty block; see null_headers. */
		struct probe_resp empty = { .status = 204, .body = "",
					    .headers = null_headers() ? NULL : "" };

		eval_on(&a, &json);
		eval_on(&a, &html);
		eval_on(&a, &empty);
		probe_assert_clear(&a);
	}
	free(text);
	return 0;
}
