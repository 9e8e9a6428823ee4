/* ctlclient.h - a raw client of the daemon's control socket for tests: sends any bytes, reads answer lines. */
#ifndef CANARY_CTLCLIENT_H
#define CANARY_CTLCLIENT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/*
 * cli_control_call is the client canary itself uses; tests need one that can
 * also send garbage, pipeline requests and read answers one at a time.
 */
struct t_ctl {
	int fd;
	char buf[256 * 1024];      /* what was read and not yet returned */
	size_t len;
};

/* Connects to path, retrying up to 2 s while nothing listens yet. Fails the test otherwise. A new client. */
struct t_ctl *t_ctl_open(const char *path);
void t_ctl_close(struct t_ctl *c);
/* Sends len bytes; false when the daemon has closed the connection (EPIPE, ECONNRESET). */
bool t_ctl_send(struct t_ctl *c, const char *data, size_t len);
/* Sends line and a newline. */
bool t_ctl_sendl(struct t_ctl *c, const char *line);
/*
 * The next answer line as a JSON object (a new reference; anything else fails
 * the test), or NULL when the connection ended (*eof) or timeout_ms passed.
 */
json_t *t_ctl_read(struct t_ctl *c, int timeout_ms, bool *eof);
/* Sends line and returns its answer; fails the test without one. */
json_t *t_ctl_call(struct t_ctl *c, const char *line, int timeout_ms);

#endif
