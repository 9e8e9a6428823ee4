/* alertfx.h - test helpers for the fake alert receivers in build/fakeapi (Slack webhook, Instatus, generic hook). */
#ifndef CANARY_ALERTFX_H
#define CANARY_ALERTFX_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* The Bearer key the receiver's fake Instatus API accepts (fakeapi --instatus-key's default). */
#define T_ALERTFX_INSTATUS_KEY "test-key"

/*
 * Starts $FAKEAPI_BIN (default build/fakeapi) on an ephemeral loopback port,
 * stored in *port. The process dies with the test process that started it
 * (PR_SET_PDEATHSIG), so a failed assertion leaves nothing behind. Aborts the
 * test if it does not start within 5 s.
 */
pid_t t_alertfx_start(int *port);
/* SIGTERM, then SIGKILL after 5 s; reaps it. Accepts pid <= 0. */
void t_alertfx_stop(pid_t pid);

/* POSTs json to /_alerts/script. Returns the HTTP status (200, or 400 for a bad script), -1 on error. */
int t_alertfx_script(int port, const char *json);
/* POSTs /_alerts/reset. Returns the HTTP status or -1. */
int t_alertfx_reset(int port);

/*
 * The log of route ("slack", "instatus", "hook"; NULL: all), oldest first.
 * New reference, NULL on error.
 */
json_t *t_alertfx_log(int port, const char *route);

/*
 * Waits (in the receiver, no polling) until the log holds count requests of
 * route (NULL: any) answered status (0: any), or timeout_ms passes. Returns
 * the matching entries, which may be fewer: the caller checks
 * json_array_size. New reference, NULL on error.
 */
json_t *t_alertfx_wait(int port, const char *route, int count, int status, int timeout_ms);

/* ---- the blocking loopback HTTP/1.1 client under the helpers above ---- */

struct t_alertfx_resp {
	int status;		/* -1: no complete answer */
	char *head;		/* new: status line and header lines, NUL-terminated */
	char *body;		/* new: body_len bytes, NUL-terminated */
	size_t body_len;
};

/*
 * Sends one request to 127.0.0.1:port with "Connection: close" and
 * Content-Length; headers (NULL or complete "Name: value\r\n" lines) are
 * added. Never half-closes, so a parked /_alerts/wait stays parked. Returns
 * the connected socket, or -1.
 */
int t_alertfx_send(int port, const char *method, const char *path, const char *headers, const char *body);

/*
 * Reads the answer on fd (from t_alertfx_send) for up to timeout_ms, then
 * closes fd. Fills *out (free with t_alertfx_resp_free). Returns out->status.
 */
int t_alertfx_recv(int fd, int timeout_ms, struct t_alertfx_resp *out);

/* t_alertfx_send then t_alertfx_recv. */
int t_alertfx_request(int port, const char *method, const char *path, const char *headers, const char *body,
		      int timeout_ms, struct t_alertfx_resp *out);

/* Copies the value of header name (case-insensitive) into out; false if absent. */
bool t_alertfx_header(const struct t_alertfx_resp *r, const char *name, char *out, size_t size);

/* Frees what *r holds. Accepts an answer that was never filled, if zeroed. */
void t_alertfx_resp_free(struct t_alertfx_resp *r);

#endif
