/*
 * ask.c - one exchange with the collector for the reading verbs: the
 * request sent on the query socket (client.c), or run on the store file of
 * --db (dbfile.c), each record handed to the verb's callback; and what the
 * user is told when the collector cannot be reached, refuses or answers
 * badly.
 *
 * Must never: print on stdout (the verb's records go there).
 */
#include <err.h>
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "client.h"
#include "filters.h"

void
cli_explain_connect_error(const char *socket_path, int error)
{
	if (error == -EACCES || error == -EPERM)
		warnx("cannot reach the collector at %s: %s (querying "
		      "needs root or the configured auditors group)",
		      socket_path, strerror(-error));
	else if (error == -ENOENT || error == -ECONNREFUSED)
		warnx("cannot reach the collector at %s: %s (is phitraild "
		      "running? start it, or give --config FILE of the "
		      "deployment you mean)", socket_path, strerror(-error));
	else
		warnx("cannot reach the collector at %s: %s (is "
		      "phitraild running?)", socket_path, strerror(-error));
}

int
cli_ask_collector(const char *socket_path, const struct query_request *q,
		  cli_record_callback callback, void *context, int64_t *count,
		  const volatile sig_atomic_t *stop)
{
	char message[512];
	int fd, rc;

	if (cli_store_file != NULL)
		return stop && *stop ? 0 :
			cli_db_ask(cli_store_file, q, callback, context, count);
	fd = cli_client_connect(socket_path);
	if (fd < 0) {
		cli_explain_connect_error(socket_path, fd);
		return CLI_EXIT_FAILURE;
	}
	rc = cli_client_exchange(fd, q, callback, context, count, message,
				 sizeof(message));
	close(fd);
	if (rc == -EINTR && stop && *stop)
		return 0;
	if (rc == -EREMOTEIO) {
		warnx("the collector refused the query: %s", message);
		return CLI_EXIT_FAILURE;
	}
	if (rc < 0) {
		warnx("the query failed: %s", message[0] ? message :
		      strerror(-rc));
		return CLI_EXIT_FAILURE;
	}
	if (rc > 0)
		return rc;
	if (message[0])
		warnx("warning: %s", message);
	return 0;
}
