/*
 * netaddr.c - owns the address rules of the policy: parsing the text of a
 * `connect`, `accept` or `unix` key into struct netaddr (the grammar is in
 * netaddr.h), matching a socket address against one, matching against a
 * whole configuration (config_match_address), and writing an address as a
 * record's target.
 *
 * Runs inside host programs on every connect and accept: never allocates,
 * never makes a system call, never resolves a name, never reads past the
 * socket address length it is given.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/un.h>

#include <bsd/string.h>

#include "config.h"
#include "netaddr.h"

/* Decimal 0..max with at least one digit and no sign; -1 when not. */
static long netaddr_number(const char *s, size_t len, long max)
{
	long n = 0;

	if (len == 0 || len > 6)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		n = n * 10 + (s[i] - '0');
	}
	return n <= max ? n : -1;
}

/* PORTS = N | N-M | '*' */
static const char *netaddr_ports(struct netaddr *out, const char *s)
{
	const char *dash;
	long low, high;

	if (strcmp(s, "*") == 0) {
		out->port_low = 1;
		out->port_high = 65535;
		return NULL;
	}
	dash = strchr(s, '-');
	if (dash == NULL) {
		low = high = netaddr_number(s, strlen(s), 65535);
	} else {
		low = netaddr_number(s, (size_t)(dash - s), 65535);
		high = netaddr_number(dash + 1, strlen(dash + 1), 65535);
	}
	if (low < 1 || high < 1)
		return "port must be a number from 1 to 65535";
	if (low > high)
		return "port range must run from low to high";
	out->port_low = (uint16_t)low;
	out->port_high = (uint16_t)high;
	return NULL;
}

/* Zeroes the bits of address past prefix; 1 when any was set. */
static int netaddr_host_bits(uint8_t *address, size_t bytes, unsigned prefix)
{
	int had = 0;

	for (size_t i = 0; i < bytes; i++) {
		unsigned first = (unsigned)i * 8;
		uint8_t keep;

		if (prefix >= first + 8)
			continue;
		keep = prefix <= first ? 0 : (uint8_t)(0xff << (8 - (prefix - first)));
		if (address[i] & (uint8_t)~keep)
			had = 1;
		address[i] &= keep;
	}
	return had;
}

/* IPV4 exactly as a dotted quad of decimal parts 0..255. */
static int netaddr_ipv4(const char *s, size_t len, uint8_t out[4])
{
	size_t start = 0;
	int part = 0;

	for (size_t i = 0; i <= len; i++) {
		long n;

		if (i < len && s[i] != '.')
			continue;
		if (part == 4 || i - start > 3)
			return -1;
		n = netaddr_number(s + start, i - start, 255);
		if (n < 0)
			return -1;
		out[part++] = (uint8_t)n;
		start = i + 1;
	}
	return part == 4 ? 0 : -1;
}

/* "/BITS" from s (len bytes, starting at '/') into out->prefix_bits. */
static const char *netaddr_prefix(struct netaddr *out, const char *s,
				  size_t len, unsigned max)
{
	long n = netaddr_number(s + 1, len - 1, max);

	if (n < 0)
		return max == 32 ? "prefix length must be 0 to 32" :
			"prefix length must be 0 to 128";
	out->prefix_bits = (uint8_t)n;
	return NULL;
}

/* HOST (host_len bytes at host). */
static const char *netaddr_host(struct netaddr *out, const char *host,
				size_t host_len)
{
	char v6[INET6_ADDRSTRLEN + 8];
	const char *slash, *why, *close;
	size_t addr_len;

	if (host_len == 1 && host[0] == '*') {
		out->family = NETADDR_ANY;
		return NULL;
	}
	if (host[0] == '[') {
		close = memchr(host, ']', host_len);
		if (close == NULL)
			return "'[' without ']' around an IPv6 address";
		/* [V6] [V6/BITS] [V6]/BITS */
		addr_len = (size_t)(close - host) - 1;
		slash = memchr(host + 1, '/', addr_len);
		out->prefix_bits = 128;
		if (slash != NULL) {
			if (close + 1 != host + host_len)
				return "expected [ADDRESS]:PORT";
			why = netaddr_prefix(out, slash, (size_t)(close - slash), 128);
			if (why != NULL)
				return why;
			addr_len = (size_t)(slash - host) - 1;
		} else if (close + 1 != host + host_len) {
			if (close[1] != '/')
				return "expected [ADDRESS]:PORT";
			why = netaddr_prefix(out, close + 1,
					     (size_t)(host + host_len - close - 1), 128);
			if (why != NULL)
				return why;
		}
		if (addr_len == 0 || addr_len >= sizeof(v6))
			return "not an IPv6 address";
		memcpy(v6, host + 1, addr_len);
		v6[addr_len] = '\0';
		if (inet_pton(AF_INET6, v6, out->address) != 1)
			return "not an IPv6 address";
		out->family = NETADDR_IPV6;
		if (netaddr_host_bits(out->address, 16, out->prefix_bits))
			return "address has bits set past its prefix length";
		return NULL;
	}
	if (memchr(host, ':', host_len) != NULL)
		return "write an IPv6 address in brackets: [ADDRESS]:PORT";
	slash = memchr(host, '/', host_len);
	addr_len = slash != NULL ? (size_t)(slash - host) : host_len;
	out->prefix_bits = 32;
	if (netaddr_ipv4(host, addr_len, out->address) < 0) {
		for (size_t i = 0; i < addr_len; i++)
			if ((host[i] < '0' || host[i] > '9') && host[i] != '.')
				return "HOST must be a numeric address, CIDR or * (names are not resolved)";
		return "not an IPv4 address";
	}
	if (slash != NULL) {
		why = netaddr_prefix(out, slash, host_len - addr_len, 32);
		if (why != NULL)
			return why;
	}
	out->family = NETADDR_IPV4;
	if (netaddr_host_bits(out->address, 4, out->prefix_bits))
		return "address has bits set past its prefix length";
	return NULL;
}

static const char *netaddr_unix(struct netaddr *out, const char *text)
{
	char pattern[PATHGLOB_MAX];
	const char *why = NULL;

	out->family = NETADDR_UNIX;
	if (text[0] == '@') {
		out->abstract = 1;
		if (text[1] == '\0')
			return "an abstract name needs at least one byte after '@'";
		/* the glob sees "@x" as "/x" */
		if (snprintf(pattern, sizeof(pattern), "/%s", text + 1) >=
		    (int)sizeof(pattern))
			return "is longer than a socket path (107 bytes)";
	} else if (text[0] == '/') {
		strlcpy(pattern, text, sizeof(pattern));
	} else {
		return "must be an absolute path or @abstract-name";
	}
	if (strlen(text) >= sizeof(((struct sockaddr_un *)0)->sun_path))
		return "is longer than a socket path (107 bytes)";
	if (pathglob_compile(&out->glob, pattern, &why) < 0)
		return why;
	return NULL;
}

int netaddr_parse(struct netaddr *out, const char *text, int accept, int is_unix,
		  const char **why)
{
	const char *colon, *problem;

	memset(out, 0, sizeof(*out));
	if (is_unix) {
		problem = netaddr_unix(out, text);
		goto out;
	}
	colon = strrchr(text, ':');
	if (colon != NULL && colon > text && text[0] == '[' && colon[-1] != ']' &&
	    strchr(colon, ']') != NULL)
		colon = NULL;     /* "[::1]" without a port: the ':' is inside */
	if (colon == NULL) {
		if (accept && text[0] != '[' && strpbrk(text, "./") == NULL &&
		    text[0] != '\0') {
			out->family = NETADDR_ANY;
			problem = netaddr_ports(out, text);
			goto out;
		}
		problem = accept ? "expected [ADDRESS]:PORT" : "expected HOST:PORT";
		goto out;
	}
	problem = netaddr_ports(out, colon + 1);
	if (problem != NULL)
		goto out;
	if (colon == text) {
		out->family = NETADDR_ANY;
		problem = accept ? NULL : "expected HOST:PORT";
		goto out;
	}
	if (text[0] == '[' && strchr(text, ']') == NULL) {
		problem = "'[' without ']' around an IPv6 address";
		goto out;
	}
	problem = netaddr_host(out, text, (size_t)(colon - text));
out:
	if (why != NULL)
		*why = problem;
	return problem == NULL ? 0 : -EINVAL;
}

/* Compares the first bits bits of a and b. */
static int netaddr_prefix_equal(const uint8_t *a, const uint8_t *b,
				unsigned bits)
{
	unsigned whole = bits / 8, rest = bits % 8;

	if (memcmp(a, b, whole) != 0)
		return 0;
	if (rest == 0)
		return 1;
	return ((a[whole] ^ b[whole]) & (uint8_t)(0xff << (8 - rest))) == 0;
}

static const uint8_t netaddr_v4_mapped[12] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
};

/*
 * The family, address bytes and port of an internet address: 0 or -1.
 * A v4-mapped IPv6 address comes back as IPv4.
 */
static int netaddr_inet(const struct sockaddr *sa, socklen_t salen,
			int *family, const uint8_t **address, uint16_t *port)
{
	if (sa->sa_family == AF_INET && salen >= (socklen_t)sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;

		*family = NETADDR_IPV4;
		*address = (const uint8_t *)&in->sin_addr;
		*port = ntohs(in->sin_port);
		return 0;
	}
	if (sa->sa_family == AF_INET6 && salen >= (socklen_t)sizeof(struct sockaddr_in6)) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
		const uint8_t *bytes = in6->sin6_addr.s6_addr;

		*port = ntohs(in6->sin6_port);
		if (memcmp(bytes, netaddr_v4_mapped, 12) == 0) {
			*family = NETADDR_IPV4;
			*address = bytes + 12;
		} else {
			*family = NETADDR_IPV6;
			*address = bytes;
		}
		return 0;
	}
	return -1;
}

/*
 * The name of a Unix socket address as the glob sees it: the path, or
 * "/name" for an abstract name (NUL bytes in it become '@'). 1 when
 * abstract, 0 when a path, -1 when unnamed or not AF_UNIX.
 */
static int netaddr_unix_name(const struct sockaddr *sa, socklen_t salen,
			     char *out, size_t size)
{
	const struct sockaddr_un *un = (const struct sockaddr_un *)sa;
	size_t off = offsetof(struct sockaddr_un, sun_path), len, n = 0;

	if (sa->sa_family != AF_UNIX || salen <= (socklen_t)off || size < 2)
		return -1;
	len = (size_t)salen - off;
	if (len > sizeof(un->sun_path))
		len = sizeof(un->sun_path);
	if (un->sun_path[0] == '\0') {
		if (len < 2)
			return -1;
		out[n++] = '/';
		for (size_t i = 1; i < len && n + 1 < size; i++)
			out[n++] = un->sun_path[i] == '\0' ? '@' : un->sun_path[i];
		out[n] = '\0';
		return 1;
	}
	for (size_t i = 0; i < len && un->sun_path[i] != '\0' && n + 1 < size; i++)
		out[n++] = un->sun_path[i];
	out[n] = '\0';
	return 0;
}

int netaddr_match(const struct netaddr *a, const struct sockaddr *sa,
		  socklen_t salen)
{
	const uint8_t *address;
	uint16_t port;
	int family;

	if (sa == NULL || salen < (socklen_t)sizeof(sa_family_t))
		return 0;
	if (a->family == NETADDR_UNIX) {
		char name[sizeof(((struct sockaddr_un *)0)->sun_path) + 2];
		int abstract = netaddr_unix_name(sa, salen, name, sizeof(name));

		if (abstract < 0 || abstract != a->abstract || name[0] != '/')
			return 0;
		return pathglob_match(&a->glob, name, strlen(name), NULL);
	}
	if (netaddr_inet(sa, salen, &family, &address, &port) < 0)
		return 0;
	if (port < a->port_low || port > a->port_high)
		return 0;
	if (a->family == NETADDR_ANY)
		return 1;
	if (a->family != family)
		return 0;
	return netaddr_prefix_equal(address, a->address, a->prefix_bits);
}

int netaddr_format(const struct sockaddr *sa, socklen_t salen,
		   const char *transport, char *out, size_t size)
{
	char text[INET6_ADDRSTRLEN];
	const uint8_t *address;
	uint16_t port;
	int family, n;

	if (size == 0)
		return -EINVAL;
	out[0] = '\0';
	if (sa == NULL || salen < (socklen_t)sizeof(sa_family_t))
		return -EINVAL;
	if (sa->sa_family == AF_UNIX) {
		char name[sizeof(((struct sockaddr_un *)0)->sun_path) + 2];
		int abstract = netaddr_unix_name(sa, salen, name, sizeof(name));

		if (abstract < 0)
			n = snprintf(out, size, "unix:");
		else if (abstract)
			n = snprintf(out, size, "unix:@%s", name + 1);
		else
			n = snprintf(out, size, "unix:%s", name);
		return n < 0 ? -EINVAL : (int)strnlen(out, size);
	}
	if (sa->sa_family != AF_INET && sa->sa_family != AF_INET6) {
		snprintf(out, size, "family:%d", (int)sa->sa_family);
		return -EAFNOSUPPORT;
	}
	if (netaddr_inet(sa, salen, &family, &address, &port) < 0)
		return -EINVAL;
	if (inet_ntop(family == NETADDR_IPV4 ? AF_INET : AF_INET6, address, text,
		      sizeof(text)) == NULL)
		return -EINVAL;
	if (family == NETADDR_IPV4)
		n = snprintf(out, size, "%s:%s:%u", transport, text, port);
	else
		n = snprintf(out, size, "%s:[%s]:%u", transport, text, port);
	return n < 0 ? -EINVAL : (int)strnlen(out, size);
}

int config_match_address(const struct config *cfg,
			 enum config_address_kind kind,
			 const struct sockaddr *sa, socklen_t salen)
{
	if (sa == NULL || salen < (socklen_t)sizeof(sa_family_t))
		return -1;
	if (sa->sa_family == AF_UNIX)
		kind = CONFIG_ADDRESS_UNIX;
	else if (sa->sa_family != AF_INET && sa->sa_family != AF_INET6)
		return -1;
	for (size_t i = 0; i < cfg->address_count; i++) {
		const struct config_address *a = &cfg->addresses[i];

		if (a->kind == kind && netaddr_match(&a->compiled, sa, salen))
			return (int)a->rule;
	}
	return -1;
}

unsigned config_address_kinds(const struct config *cfg)
{
	unsigned kinds = 0;

	for (size_t i = 0; i < cfg->address_count; i++)
		kinds |= 1u << cfg->addresses[i].kind;
	return kinds;
}
