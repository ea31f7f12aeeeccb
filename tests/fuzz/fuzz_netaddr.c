/*
 * fuzz_netaddr.c - the input is "rule\nkind\naddress bytes": the rule text
 * is compiled as a connect, accept or unix address (kind's first byte
 * chooses), then matched against the remaining bytes taken as a socket
 * address of every family and length, and formatted as a target. Checks
 * the promises: a parse either succeeds or says why; a compiled rule is
 * within its limits; matching and formatting never read past the given
 * length (the address is an exact-size heap copy) and a target is always
 * NUL-terminated within its buffer.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "netaddr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char rule[512];
	const uint8_t *nl = memchr(data, '\n', size);
	size_t rule_len = nl != NULL ? (size_t)(nl - data) : size;
	const uint8_t *rest = nl != NULL ? nl + 1 : data + size;
	size_t rest_len = (size_t)(data + size - rest);
	struct netaddr a;
	const char *why = NULL;
	char out[NETADDR_TEXT_MAX];
	int kind = 0, rc;
	uint8_t *copy;

	if (rule_len >= sizeof(rule))
		rule_len = sizeof(rule) - 1;
	memcpy(rule, data, rule_len);
	rule[rule_len] = '\0';
	if (rest_len > 0) {
		kind = rest[0] % 3;
		rest++;
		rest_len--;
	}
	rc = netaddr_parse(&a, rule, kind == 1, kind == 2, &why);
	assert((rc == 0) == (why == NULL));
	if (rc == 0) {
		assert(a.family <= NETADDR_UNIX);
		if (a.family != NETADDR_UNIX) {
			assert(a.port_low >= 1 && a.port_low <= a.port_high);
			assert(a.prefix_bits <= (a.family == NETADDR_IPV4 ? 32 : 128));
		}
	}
	if (rest_len > 1024)
		rest_len = 1024;
	copy = malloc(rest_len + 1);
	if (copy == NULL)
		return 0;
	memcpy(copy, rest, rest_len);
	for (int family = 0; family < 3; family++) {
		static const sa_family_t families[] = { AF_INET, AF_INET6, AF_UNIX };

		if (rest_len >= sizeof(sa_family_t))
			memcpy(copy, &families[family], sizeof(sa_family_t));
		if (rc == 0)
			(void)netaddr_match(&a, (struct sockaddr *)copy,
					    (socklen_t)rest_len);
		int n = netaddr_format((struct sockaddr *)copy, (socklen_t)rest_len,
				       "tcp", out, sizeof(out));
		assert(memchr(out, '\0', sizeof(out)) != NULL);
		if (n >= 0)
			assert((size_t)n == strlen(out));
	}
	free(copy);
	return 0;
}
