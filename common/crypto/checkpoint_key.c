/*
 * checkpoint_key.c - the Ed25519 keys that sign checkpoints and retention
 * cuts (checkpoint.h): making them, their key ids, their text forms and
 * their files; and the small-file and hex helpers the checkpoint text
 * files share (checkpoint_private.h).
 *
 * Must never leave a secret key in memory it frees or in a file others
 * can read, nor accept a key file that is short, long, padded or not hex.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "checkpoint.h"
#include "checkpoint_private.h"

#define SECRET_KEY_PREFIX "PHITRAIL-SECRET-KEY-1 "
#define SECRET_KEY_PREFIX_BYTES (sizeof(SECRET_KEY_PREFIX) - 1)
#define SEED_BYTES 32
#define SEED_HEX_BYTES ((size_t)2 * SEED_BYTES)
#define PUBLIC_KEY_HEX_BYTES ((size_t)2 * CHECKPOINT_PUBLIC_KEY_BYTES)
#define KEY_FILE_MAX_BYTES 256

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int checkpoint_hex_decode(const char *text, size_t len, unsigned char *out,
		      size_t room, size_t *out_len)
{
	size_t i;

	if (len % 2 != 0)
		return -EINVAL;
	for (i = 0; i < len; i++)
		if (hex_digit(text[i]) < 0)
			return -EINVAL;
	if (len / 2 > room)
		return -EMSGSIZE;
	for (i = 0; i < len / 2; i++)
		out[i] = (unsigned char)(hex_digit(text[2 * i]) << 4 |
					 hex_digit(text[2 * i + 1]));
	*out_len = len / 2;
	return 0;
}

size_t checkpoint_without_newline(const char *text, size_t len)
{
	return len > 0 && text[len - 1] == '\n' ? len - 1 : len;
}

/* ---- files ---- */

/* Creates path with O_EXCL and mode, writes data and syncs; unlinks what
 * it created when anything fails. */
static int write_new_file(const char *path, mode_t mode, const void *data, size_t len)
{
	const unsigned char *p = data;
	size_t done = 0;
	ssize_t n;
	int fd, rc = 0;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0)
		return -errno;
	/* The umask may have narrowed mode; a secret key must not be wider. */
	if (fchmod(fd, mode) < 0) {
		rc = -errno;
		goto out;
	}
	while (done < len) {
		n = write(fd, p + done, len - done);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			goto out;
		}
		done += (size_t)n;
	}
	if (fsync(fd) < 0)
		rc = -errno;
out:
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	if (rc < 0)
		unlink(path);
	return rc;
}

/* checkpoint_private.h */
int checkpoint_read_small_file(const char *path, char *buf, size_t room,
			   size_t *len, mode_t *mode)
{
	struct stat st;
	size_t done = 0;
	ssize_t n;
	int fd, rc = 0;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = -EINVAL;
		goto out;
	}
	*mode = st.st_mode & 07777;
	for (;;) {
		if (done == room) {
			char extra;

			n = read(fd, &extra, 1);
			if (n < 0 && errno == EINTR)
				continue;
			rc = n == 0 ? 0 : n < 0 ? -errno : -EMSGSIZE;
			break;
		}
		n = read(fd, buf + done, room - done);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			break;
		}
		if (n == 0)
			break;
		done += (size_t)n;
	}
	*len = done;
out:
	close(fd);
	return rc;
}

/* ---- keys ---- */

void checkpoint_key_id(const unsigned char public_key[CHECKPOINT_PUBLIC_KEY_BYTES],
		       unsigned char out[CHECKPOINT_KEY_ID_BYTES])
{
	unsigned char digest[crypto_hash_sha256_BYTES];

	crypto_hash_sha256(digest, public_key, CHECKPOINT_PUBLIC_KEY_BYTES);
	memcpy(out, digest, CHECKPOINT_KEY_ID_BYTES);
}

int checkpoint_key_from_seed(struct checkpoint_key *key, const unsigned char seed[SEED_BYTES])
{
	if (crypto_sign_seed_keypair(key->public_key, key->secret_key, seed) != 0)
		return -EIO;
	checkpoint_key_id(key->public_key, key->key_id);
	return 0;
}

int checkpoint_key_generate(struct checkpoint_key *key)
{
	if (crypto_sign_keypair(key->public_key, key->secret_key) != 0)
		return -EIO;
	checkpoint_key_id(key->public_key, key->key_id);
	return 0;
}

void checkpoint_key_wipe(struct checkpoint_key *key)
{
	sodium_memzero(key, sizeof(*key));
}

int checkpoint_secret_key_save(const char *path, const struct checkpoint_key *key)
{
	char line[SECRET_KEY_PREFIX_BYTES + SEED_HEX_BYTES + 2];
	int rc;

	/* libsodium's secret key begins with the seed. */
	memcpy(line, SECRET_KEY_PREFIX, SECRET_KEY_PREFIX_BYTES);
	sodium_bin2hex(line + SECRET_KEY_PREFIX_BYTES, SEED_HEX_BYTES + 1,
		       key->secret_key, SEED_BYTES);
	line[sizeof(line) - 2] = '\n';
	rc = write_new_file(path, 0600, line, sizeof(line) - 1);
	sodium_memzero(line, sizeof(line));
	return rc;
}

int checkpoint_secret_key_load(const char *path, struct checkpoint_key *key)
{
	char buf[KEY_FILE_MAX_BYTES];
	unsigned char seed[SEED_BYTES];
	size_t len = 0, seed_len = 0;
	mode_t mode = 0;
	int rc;

	rc = checkpoint_read_small_file(path, buf, sizeof(buf), &len, &mode);
	if (rc == -EMSGSIZE)
		rc = -EINVAL;
	if (rc < 0)
		goto out;
	if (mode & 077) {
		rc = -EPERM;
		goto out;
	}
	len = checkpoint_without_newline(buf, len);
	if (len != SECRET_KEY_PREFIX_BYTES + SEED_HEX_BYTES ||
	    memcmp(buf, SECRET_KEY_PREFIX, SECRET_KEY_PREFIX_BYTES) != 0) {
		rc = -EINVAL;
		goto out;
	}
	rc = checkpoint_hex_decode(buf + SECRET_KEY_PREFIX_BYTES, SEED_HEX_BYTES, seed,
			sizeof(seed), &seed_len);
	if (rc < 0) {
		rc = -EINVAL;
		goto out;
	}
	rc = checkpoint_key_from_seed(key, seed);
out:
	sodium_memzero(buf, sizeof(buf));
	sodium_memzero(seed, sizeof(seed));
	return rc;
}

void checkpoint_public_key_to_text(const unsigned char public_key[CHECKPOINT_PUBLIC_KEY_BYTES],
				   char out[CHECKPOINT_PUBLIC_KEY_TEXT_BYTES])
{
	sodium_bin2hex(out, CHECKPOINT_PUBLIC_KEY_TEXT_BYTES, public_key,
		       CHECKPOINT_PUBLIC_KEY_BYTES);
}

int checkpoint_public_key_from_text(const char *text, size_t len,
				    unsigned char public_key[CHECKPOINT_PUBLIC_KEY_BYTES])
{
	unsigned char buf[CHECKPOINT_PUBLIC_KEY_BYTES];
	size_t got = 0;

	len = checkpoint_without_newline(text, len);
	if (len != PUBLIC_KEY_HEX_BYTES ||
	    checkpoint_hex_decode(text, len, buf, sizeof(buf), &got) < 0)
		return -EINVAL;
	memcpy(public_key, buf, sizeof(buf));
	return 0;
}

int checkpoint_public_key_save(const char *path,
			       const unsigned char public_key[CHECKPOINT_PUBLIC_KEY_BYTES])
{
	char line[CHECKPOINT_PUBLIC_KEY_TEXT_BYTES];

	checkpoint_public_key_to_text(public_key, line);
	line[sizeof(line) - 1] = '\n';
	return write_new_file(path, 0644, line, sizeof(line));
}

int checkpoint_public_key_load(const char *path,
			       unsigned char public_key[CHECKPOINT_PUBLIC_KEY_BYTES])
{
	char buf[KEY_FILE_MAX_BYTES];
	size_t len = 0;
	mode_t mode;
	int rc;

	rc = checkpoint_read_small_file(path, buf, sizeof(buf), &len, &mode);
	if (rc == -EMSGSIZE)
		return -EINVAL;
	if (rc < 0)
		return rc;
	return checkpoint_public_key_from_text(buf, len, public_key);
}

