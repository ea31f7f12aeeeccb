/*
 * detect_fhir_target.c - the FHIR detector's reading of an HTTP request
 * target (or a Location / Content-Location header): the resource type and
 * id of its path, a Patient id there or in a compartment, and the patient
 * search parameters of its query, percent-decoded. Fed by detect_fhir.c;
 * the exact behaviour is written down in detect.h.
 *
 * Must never allocate or keep more than one path segment or parameter
 * value; bytes are only read.
 */
#include <string.h>

#include "detect.h"
#include "detect_impl.h"

#define FHIR_SEGMENT_MAX 128

/* A FHIR resource type: letters, starting upper case, holding a lower case
   letter ("Patient", "MedicationRequest"; not "FHIR", "R4", "metadata"). */
static int fhir_type_shaped(const char *s, size_t n)
{
	int lower = 0;

	if (n == 0 || n >= DETECT_MESSAGE_TYPE_MAX || !detect_is_upper((unsigned char)s[0]))
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (!detect_is_alpha((unsigned char)s[i]))
			return 0;
		lower |= detect_is_lower((unsigned char)s[i]);
	}
	return lower;
}

/* Percent-decodes n bytes of s into out (cap bytes); returns the length or
   cap when it does not fit. Bad escapes are kept as they are. */
static size_t fhir_percent_decode(const char *s, size_t n, char *out,
				  size_t cap)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		int hi, lo;

		if (c == '%' && i + 2 < n && (hi = detect_hex_digit((unsigned char)s[i + 1])) >= 0 &&
		    (lo = detect_hex_digit((unsigned char)s[i + 2])) >= 0) {
			c = (char)(hi * 16 + lo);
			i += 2;
		}
		if (o >= cap)
			return cap;
		out[o++] = c;
	}
	return o;
}

enum path_state { PATH_TYPE = 0, PATH_ID, PATH_COMPARTMENT, PATH_DONE };

/*
 * Reads the path of a target (or a Location header): Patient ids, and when
 * set_type the message's resource type. Returns the type of the first
 * resource-type segment through *is_patient_type (1 when it is Patient).
 */
static void fhir_read_path(struct detect_fhir_state *f, const char *path,
			   size_t n, int set_type, int *is_patient_type)
{
	enum path_state st = PATH_TYPE;
	size_t i = 0;

	*is_patient_type = 0;
	while (i < n && st != PATH_DONE) {
		char seg[FHIR_SEGMENT_MAX];
		size_t start, seg_n;

		while (i < n && path[i] == '/')
			i++;
		start = i;
		while (i < n && path[i] != '/')
			i++;
		if (i == start)
			break;
		seg_n = fhir_percent_decode(path + start, i - start, seg,
		    sizeof(seg));
		if (seg_n >= sizeof(seg))
			seg_n = 0;        /* too long to be a type or an id */
		switch (st) {
		case PATH_TYPE:
			if (!fhir_type_shaped(seg, seg_n))
				break;
			*is_patient_type = seg_n == 7 && memcmp(seg, "Patient", 7) == 0;
			if (set_type) {
				memcpy(f->type_from_path, seg, seg_n);
				f->type_from_path[seg_n] = '\0';
			}
			st = PATH_ID;
			break;
		case PATH_ID:
			if (seg_n == 0 || seg[0] == '_' || seg[0] == '$') {
				st = PATH_DONE;
				break;
			}
			if (*is_patient_type)
				detect_fhir_add_patient(f, seg, seg_n);
			st = PATH_COMPARTMENT;
			break;
		case PATH_COMPARTMENT:
			if (set_type && fhir_type_shaped(seg, seg_n)) {
				memcpy(f->type_from_path, seg, seg_n);
				f->type_from_path[seg_n] = '\0';
			}
			st = PATH_DONE;
			break;
		default:
			break;
		}
	}
}

/* Search parameters naming patients (tables over if chains). */
enum param_kind {
	PARAM_PATIENT,        /* bare id or Patient/ID */
	PARAM_SUBJECT,        /* Patient/ID only */
	PARAM_PATIENT_ID,     /* _id on a Patient search */
};

static const struct {
	const char *name;
	enum param_kind kind;
} fhir_params[] = {
	{ "patient", PARAM_PATIENT },
	{ "patient:Patient", PARAM_PATIENT },
	{ "subject:Patient", PARAM_PATIENT },
	{ "subject", PARAM_SUBJECT },
	{ "_id", PARAM_PATIENT_ID },
};

static void fhir_param_value(struct detect_fhir_state *f, enum param_kind kind,
			     const char *v, size_t n)
{
	const char *id;
	size_t id_n;

	if (detect_fhir_reference_patient(v, n, &id, &id_n)) {
		if (kind != PARAM_PATIENT_ID)
			detect_fhir_add_patient(f, id, id_n);
		return;
	}
	if (kind != PARAM_SUBJECT && memchr(v, '/', n) == NULL)
		detect_fhir_add_patient(f, v, n);
}

static void fhir_read_query(struct detect_fhir_state *f, const char *q,
			    size_t n, int is_patient_type)
{
	size_t i = 0;

	while (i < n) {
		size_t start = i, eq;
		char name[32], value[1024];
		size_t name_n, value_n;

		while (i < n && q[i] != '&')
			i++;
		for (eq = start; eq < i && q[eq] != '='; eq++)
			;
		name_n = fhir_percent_decode(q + start, eq - start, name,
		    sizeof(name));
		value_n = eq < i ? fhir_percent_decode(q + eq + 1, i - eq - 1,
		    value, sizeof(value)) : 0;
		i++;
		if (name_n >= sizeof(name) || value_n >= sizeof(value))
			continue;
		for (size_t p = 0; p < sizeof(fhir_params) / sizeof(fhir_params[0]); p++) {
			enum param_kind kind = fhir_params[p].kind;
			size_t v = 0;

			if (strlen(fhir_params[p].name) != name_n ||
			    memcmp(fhir_params[p].name, name, name_n) != 0)
				continue;
			if (kind == PARAM_PATIENT_ID && !is_patient_type)
				break;
			while (v < value_n) {   /* comma-separated values */
				size_t vs = v;

				while (v < value_n && value[v] != ',')
					v++;
				fhir_param_value(f, kind, value + vs, v - vs);
				v++;
			}
			break;
		}
	}
}

/* detect_impl.h */
void detect_fhir_read_target(struct detect_fhir_state *f, const char *t,
			     size_t n, int set_type)
{
	size_t path_start = 0, path_end, query_end, colon = 0;
	int is_patient_type;

	/* absolute form: a scheme (letters) then "://" */
	while (colon < n && detect_is_alpha((unsigned char)t[colon]))
		colon++;
	if (colon > 0 && n - colon >= 3 && memcmp(t + colon, "://", 3) == 0) {
		path_start = colon + 3;
		while (path_start < n && t[path_start] != '/')
			path_start++;
	}
	for (path_end = path_start; path_end < n && t[path_end] != '?' &&
	    t[path_end] != '#'; path_end++)
		;
	for (query_end = path_end; query_end < n && t[query_end] != '#'; query_end++)
		;
	fhir_read_path(f, t + path_start, path_end - path_start, set_type,
	    &is_patient_type);
	if (path_end < query_end && t[path_end] == '?')
		fhir_read_query(f, t + path_end + 1, query_end - path_end - 1,
		    is_patient_type);
}

