/* control.c - the client side of the daemon's control socket. */
#include "cli/cli_int.h"

#include <errno.h>

int cli_control_call(const char *socket_path, const json_t *req, int timeout_ms, json_t **answer)
{
	(void)socket_path;
	(void)req;
	(void)timeout_ms;
	(void)answer;
	return -ENOSYS;
}
