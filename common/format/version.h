/*
 * version.h - the one version string of phitrail's programs (the build may
 * set PHITRAIL_VERSION).
 */
#ifndef PHITRAIL_VERSION_H
#define PHITRAIL_VERSION_H

#ifndef PHITRAIL_VERSION
#define PHITRAIL_VERSION "0.1.0"
#endif

#endif
