/*
 * detect_fhir_json.c - the FHIR detector's bounded JSON scan of message
 * bodies, one byte at a time: resourceType, Patient ids, subject/patient
 * references (Bundle entries included), and the FHIR id rules shared with
 * the request-target reading in detect_fhir.c.
 *
 * Must never allocate, build a tree, keep more than one JSON string, or
 * look at a body again once it stopped; bytes are only read.
 */
#include <string.h>

#include "detect.h"
#include "detect_impl.h"

#define FHIR_ID_MAX 64

enum json_state {
	JSON_FIRST = 0,       /* before the first non-blank byte */
	JSON_VALUE,           /* between tokens */
	JSON_STRING,
	JSON_ESCAPE,          /* after a backslash in a string */
	JSON_UNICODE,         /* reading the 4 hex digits of \uXXXX */
	JSON_LITERAL,         /* number, true, false, null */
};

/* What a key means to the scan; containers remember the key holding them. */
enum json_key {
	KEY_OTHER = 0,
	KEY_RESOURCE_TYPE,
	KEY_ID,
	KEY_REFERENCE,
	KEY_PATIENT_HOLDER,   /* "subject", "patient": references to patients */
	KEY_RESOURCE,         /* "resource": a resource object (Bundle entry) */
};

static const struct {
	const char *name;
	enum json_key key;
} json_keys[] = {
	{ "resourceType", KEY_RESOURCE_TYPE },
	{ "id", KEY_ID },
	{ "reference", KEY_REFERENCE },
	{ "subject", KEY_PATIENT_HOLDER },
	{ "patient", KEY_PATIENT_HOLDER },
	{ "resource", KEY_RESOURCE },
};

static enum json_key json_key_of(const char *s, size_t n)
{
	for (size_t i = 0; i < sizeof(json_keys) / sizeof(json_keys[0]); i++)
		if (strlen(json_keys[i].name) == n &&
		    memcmp(json_keys[i].name, s, n) == 0)
			return json_keys[i].key;
	return KEY_OTHER;
}

/* A FHIR id: [A-Za-z0-9.-]{1,64}. */
static int fhir_id_ok(const char *s, size_t n)
{
	if (n == 0 || n > FHIR_ID_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!detect_is_alpha((unsigned char)s[i]) &&
		    !detect_is_digit((unsigned char)s[i]) &&
		    s[i] != '-' && s[i] != '.')
			return 0;
	return 1;
}

/* The id of a reference "Patient/ID", ".../Patient/ID[/_history/N]"; 0 when
   the reference names no patient. */
int detect_fhir_reference_patient(const char *s, size_t n, const char **id,
				  size_t *id_n)
{
	static const char prefix[] = "Patient/";
	const size_t plen = sizeof(prefix) - 1;

	for (size_t i = 0; i + plen <= n; i++) {
		size_t end;

		if (i > 0 && s[i - 1] != '/')
			continue;
		if (memcmp(s + i, prefix, plen) != 0)
			continue;
		end = i + plen;
		while (end < n && s[end] != '/' && s[end] != '?' && s[end] != '#')
			end++;
		if (!fhir_id_ok(s + i + plen, end - i - plen))
			return 0;
		*id = s + i + plen;
		*id_n = end - i - plen;
		return 1;
	}
	return 0;
}

void detect_fhir_add_patient(struct detect_fhir_state *f, const char *id,
			     size_t n)
{
	if (fhir_id_ok(id, n))
		detect_add_id(&f->message, id, n, NULL, 0);
}

void detect_fhir_json_reset(struct detect_fhir_json *j)
{
	memset(j, 0, sizeof(*j));
}

void detect_fhir_json_stop(struct detect_fhir_state *f)
{
	f->json.stopped = 1;
	f->message.flags |= DETECT_FLAG_UNSCANNED;
}

static int json_in_object(const struct detect_fhir_json *j)
{
	return j->depth > 0 && !j->is_array[j->depth];
}

/* The resource frame open at the current depth, or NULL. */
static int json_frame_here(const struct detect_fhir_json *j)
{
	return j->frame_count > 0 &&
	    j->frames[j->frame_count - 1].depth == j->depth;
}

static void json_open(struct detect_fhir_state *f, int is_array)
{
	struct detect_fhir_json *j = &f->json;
	uint8_t holder;

	if (j->depth >= DETECT_FHIR_JSON_DEPTH_MAX) {
		detect_fhir_json_stop(f);
		return;
	}
	if (j->depth == 0)
		holder = KEY_OTHER;
	else if (j->is_array[j->depth])
		holder = j->held_by[j->depth];
	else
		holder = j->key_class[j->depth];
	j->depth++;
	j->is_array[j->depth] = (uint8_t)is_array;
	j->held_by[j->depth] = holder;
	j->key_class[j->depth] = KEY_OTHER;
	j->expect_key = !is_array;
	if (!is_array && (j->depth == 1 || holder == KEY_RESOURCE)) {
		if (j->frame_count < sizeof(j->frames) / sizeof(j->frames[0])) {
			j->frames[j->frame_count].depth = j->depth;
			j->frames[j->frame_count].is_patient = 0;
			j->frames[j->frame_count].id[0] = '\0';
			j->frame_count++;
		} else {
			f->message.flags |= DETECT_FLAG_TRUNCATED;
		}
	}
}

static void json_close(struct detect_fhir_state *f, int is_array)
{
	struct detect_fhir_json *j = &f->json;

	if (j->depth == 0 || j->is_array[j->depth] != is_array) {
		detect_fhir_json_stop(f);              /* mismatched brackets: not JSON */
		return;
	}
	if (json_frame_here(j)) {
		j->frame_count--;
		if (j->frames[j->frame_count].is_patient)
			detect_fhir_add_patient(f, j->frames[j->frame_count].id,
			    strlen(j->frames[j->frame_count].id));
	}
	j->depth--;
	j->expect_key = 0;
	if (j->depth == 0)
		j->stopped = 1;            /* the document ended */
	else if (!j->is_array[j->depth])
		j->key_class[j->depth] = KEY_OTHER;
}

static void json_string_end(struct detect_fhir_state *f)
{
	struct detect_fhir_json *j = &f->json;
	const char *s = j->string;
	size_t n = j->string_length;
	const char *id;
	size_t id_n;

	if (j->string_is_key) {
		j->key_class[j->depth] = j->string_overflow ? KEY_OTHER :
		    (uint8_t)json_key_of(s, n);
		j->expect_key = 0;
		return;
	}
	if (!json_in_object(j) || j->string_overflow)
		goto out;
	switch (j->key_class[j->depth]) {
	case KEY_RESOURCE_TYPE:
		if (!json_frame_here(j))
			break;
		j->frames[j->frame_count - 1].is_patient =
		    n == 7 && memcmp(s, "Patient", 7) == 0;
		if (j->depth == 1 && n < sizeof(j->resource_type)) {
			memcpy(j->resource_type, s, n);
			j->resource_type[n] = '\0';
		}
		break;
	case KEY_ID:
		if (json_frame_here(j) && fhir_id_ok(s, n)) {
			memcpy(j->frames[j->frame_count - 1].id, s, n);
			j->frames[j->frame_count - 1].id[n] = '\0';
		}
		break;
	case KEY_REFERENCE:
		if (j->held_by[j->depth] == KEY_PATIENT_HOLDER &&
		    detect_fhir_reference_patient(s, n, &id, &id_n))
			detect_fhir_add_patient(f, id, id_n);
		break;
	default:
		break;
	}
out:
	if (json_in_object(j))
		j->key_class[j->depth] = KEY_OTHER;
}

static void json_string_byte(struct detect_fhir_json *j, char c)
{
	if (j->string_length < sizeof(j->string))
		j->string[j->string_length++] = c;
	else
		j->string_overflow = 1;
}

int detect_hex_digit(int c)
{
	if (detect_is_digit(c))
		return c - '0';
	c = detect_to_lower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* One byte between tokens; returns 1 when the byte starts a literal. */
static void json_value_byte(struct detect_fhir_state *f, uint8_t c)
{
	struct detect_fhir_json *j = &f->json;

	switch (c) {
	case ' ': case '\t': case '\r': case '\n':
		break;
	case '{':
		json_open(f, 0);
		break;
	case '[':
		json_open(f, 1);
		break;
	case '}':
		json_close(f, 0);
		break;
	case ']':
		json_close(f, 1);
		break;
	case ':':
		j->expect_key = 0;
		break;
	case ',':
		j->expect_key = json_in_object(j);
		break;
	case '"':
		j->state = JSON_STRING;
		j->string_is_key = json_in_object(j) && j->expect_key;
		j->string_length = 0;
		j->string_overflow = 0;
		break;
	default:
		j->state = JSON_LITERAL;
		if (json_in_object(j))
			j->key_class[j->depth] = KEY_OTHER;
		break;
	}
}

void detect_fhir_json_byte(struct detect_fhir_state *f, uint8_t c)
{
	struct detect_fhir_json *j = &f->json;
	int v;

	if (j->stopped)
		return;
	switch (j->state) {
	case JSON_FIRST:
		if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
			return;
		if (c != '{') {
			detect_fhir_json_stop(f);      /* not a JSON object: XML, gzip... */
			return;
		}
		j->state = JSON_VALUE;
		json_open(f, 0);
		return;
	case JSON_VALUE:
		json_value_byte(f, c);
		return;
	case JSON_STRING:
		if (c == '"') {
			j->state = JSON_VALUE;
			json_string_end(f);
		} else if (c == '\\') {
			j->state = JSON_ESCAPE;
		} else {
			json_string_byte(j, (char)c);
		}
		return;
	case JSON_ESCAPE:
		j->state = JSON_STRING;
		switch (c) {
		case 'u':
			j->state = JSON_UNICODE;
			j->unicode_left = 4;
			j->unicode_value = 0;
			return;
		case 'n': c = '\n'; break;
		case 't': c = '\t'; break;
		case 'r': c = '\r'; break;
		case 'b': c = '\b'; break;
		case 'f': c = '\f'; break;
		default: break;            /* '"', '\\', '/' stand for themselves */
		}
		json_string_byte(j, (char)c);
		return;
	case JSON_UNICODE:
		v = detect_hex_digit(c);
		if (v < 0) {
			detect_fhir_json_stop(f);
			return;
		}
		j->unicode_value = (uint16_t)(j->unicode_value * 16 + v);
		if (--j->unicode_left == 0) {
			j->state = JSON_STRING;
			/* Only ASCII matters to the scan; the rest is a '?'
			   that no id or key accepts. */
			json_string_byte(j, j->unicode_value < 0x80 ?
			    (char)j->unicode_value : '?');
		}
		return;
	case JSON_LITERAL:
		if (detect_is_alpha(c) || detect_is_digit(c) || c == '-' ||
		    c == '+' || c == '.')
			return;
		j->state = JSON_VALUE;
		json_value_byte(f, c);
		return;
	default:
		detect_fhir_json_stop(f);
		return;
	}
}
