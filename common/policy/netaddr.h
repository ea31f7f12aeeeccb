/*
 * netaddr.h - socket address rules: the text of a `connect`, `accept` or
 * `unix` key compiled into a fixed form at configuration load, and the
 * matcher the shim runs on the address of each connect and accept
 * (implemented in netaddr.c; pure logic, no I/O, no allocation).
 *
 * Grammar (one address; a key may list several separated by blanks):
 *
 *   connect = HOST:PORTS
 *   accept  = HOST:PORTS | :PORTS | PORTS          (no host: any local address)
 *   unix    = /GLOB | @GLOB                         (@: abstract socket name)
 *
 *   HOST  = IPV4 | IPV4/BITS | [IPV6] | [IPV6/BITS] | [IPV6]/BITS | *
 *           IPV4 dotted quad, each part 0..255 in decimal, exactly 4 parts;
 *           IPV6 as inet_pton(3) takes it (no zone "%eth0"); BITS 0..32 for
 *           IPv4, 0..128 for IPv6 (host bits set below the prefix are an
 *           error: "10.0.0.1/8" says something the writer did not mean).
 *           '*' is any IPv4 or IPv6 address. Names are never resolved: a
 *           rule holds numbers only, so matching never blocks on DNS.
 *   PORTS = N | N-M | *     N, M 1..65535, N <= M; '*' is every port.
 *   GLOB  = a pathglob (pathglob.h) over the socket path; an abstract name
 *           "@x/y" is matched as the path "/x/y" of the abstract namespace.
 *
 * An IPv4-mapped IPv6 address (::ffff:10.0.0.5, what a dual-stack socket
 * reports) matches the IPv4 rules as the IPv4 address it carries, and only
 * them.
 */
#ifndef PHITRAIL_NETADDR_H
#define PHITRAIL_NETADDR_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "pathglob.h"

enum netaddr_family {
	NETADDR_ANY = 0,       /* '*' host or no host: every IPv4 and IPv6 */
	NETADDR_IPV4,
	NETADDR_IPV6,
	NETADDR_UNIX,          /* path or abstract name glob */
};

struct netaddr {
	uint8_t family;        /* enum netaddr_family */
	uint8_t prefix_bits;   /* IPv4 0..32, IPv6 0..128 */
	uint8_t abstract;      /* NETADDR_UNIX: @name */
	uint16_t port_low, port_high;  /* inclusive; 1..65535 */
	uint8_t address[16];   /* network order, bits past the prefix zero */
	struct pathglob glob;  /* NETADDR_UNIX only */
};

/* Longest text netaddr_format writes, with NUL ("unix:" + 108 + slack). */
#define NETADDR_TEXT_MAX 128

/*
 * Compiles text (NUL-terminated) for a rule of the given kind: accept
 * nonzero allows the host to be left out. unix nonzero parses a GLOB.
 * Returns 0, or -EINVAL with *why set to a static message.
 */
int netaddr_parse(struct netaddr *out, const char *text, int accept, int is_unix,
		  const char **why);

/*
 * 1 when the socket address sa (salen bytes, as the kernel or the program
 * gave it) matches a, else 0. Never reads past salen.
 */
int netaddr_match(const struct netaddr *a, const struct sockaddr *sa,
		  socklen_t salen);

/*
 * Writes sa as a target ("tcp:10.0.0.5:2575", "udp:[::1]:53",
 * "unix:/run/x.sock", "unix:@name", "unix:" for an unnamed socket) into
 * out (size bytes). transport is "tcp", "udp" or another word for the
 * internet families. Returns the length, or -EAFNOSUPPORT (out then says
 * "family:N"), -EINVAL for a short address.
 */
int netaddr_format(const struct sockaddr *sa, socklen_t salen,
		   const char *transport, char *out, size_t size);

#endif
