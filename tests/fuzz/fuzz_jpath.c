/* fuzz_jpath.c - libFuzzer harness: probe_jpath_parse on the input, then probe_jpath_eval on a fixed document. */
#include "probes/probe.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Arrays, nesting, odd keys, "length" as a real member, every JSON type. */
static const char doc_text[] =
	"{\"items\":[{\"id\":1,\"name\":\"a\"},{\"id\":2,\"name\":\"b\"},{\"id\":3,\"name\":\"c\"}],"
	"\"data\":{\"user\":{\"name\":\"Ada\",\"tags\":[\"x\",\"y\"]}},"
	"\"a.b\":{\"c d\":5},\"sp ace\":\"v\",\"br]\\\"k\":7,\"str\":\"caf\\u00e9!\","
	"\"obj\":{\"k\":1,\"j\":2},\"empty\":[],\"meta\":{\"length\":42},\"n\":null,\"num\":3.5,"
	"\"\":{\"\":[[[]]]},\"t\":true}";

static json_t *doc;

/*
 * Parses exactly size bytes (libFuzzer's buffer has no terminator, so an
 * over-read is caught by ASan); a path that parses is evaluated on doc and on
 * a scalar root.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct probe_perr err = { 0 };
	struct probe_jpath *p;
	json_t *v;

	if (doc == NULL) {
		doc = json_loads(doc_text, 0, NULL);
		if (doc == NULL)
			abort();
	}
	p = probe_jpath_parse((const char *)data, size, &err);
	if (p == NULL)
		return 0;
	v = probe_jpath_eval(p, doc);
	json_decref(v);
	v = json_integer(7);
	json_decref(probe_jpath_eval(p, v));
	json_decref(v);
	probe_jpath_free(p);
	return 0;
}
