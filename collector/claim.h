/*
 * claim.h - a forked child's claim of the spool file it made (handoff.h).
 */
#ifndef PHITRAILD_CLAIM_H
#define PHITRAILD_CLAIM_H

/*
 * Takes the claim that arrived on sock with descriptor fd (closed in every
 * case): verifies the peer and the file, renames it to .spool and follows
 * it with the peer's verified identity. 0, or a negative errno with the
 * reason in *why (the file, when it is the peer's .claim file, is then an
 * ordinary fallback file).
 */
int claim_take(int sock, int fd, const char **why);

#endif
