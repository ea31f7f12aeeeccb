/*
 * detect.h - content detectors: which patient, and what kind of message, do
 * the bytes of one direction of a PHI stream (or the head of a PHI file)
 * carry? (detect.c holds the protocol table and the shared helpers;
 * detect_hl7.c, detect_fhir.c and detect_dicom.c one protocol each.)
 *
 * Pure logic: no I/O, no allocation, no global that changes, no recursion.
 * Each stream is one fixed-size struct detect_stream (under 8 KiB) that the
 * caller owns; bytes are only read, never modified. Everything has a hard
 * limit. A detector that meets malformed or oversized input gives up on that
 * stream for good: detect_stream_gave_up() then returns a static reason, and
 * later feeds return 0 at once (messages completed before the point of giving
 * up are still returned by the feed that gave up).
 *
 * Protocols (what detect_stream_feed() expects, byte by byte):
 *
 *  hl7   HL7 v2. Either MLLP framed (the first byte of the stream is 0x0B):
 *          0x0B <segments> 0x1C 0x0D, bytes between frames are skipped (at
 *          most DETECT_HL7_JUNK_MAX between two frames);
 *        or unframed, as in files (the stream starts with "MSH"): a message
 *          runs from one segment starting "MSH" to the next one, the last
 *          one ends at detect_stream_end().
 *        Segments end with '\r' or '\n' (empty segments are ignored). MSH-1
 *        (the 4th byte) is the field separator, MSH-2 the encoding characters
 *        (component, repetition, escape, subcomponent; 1 to 5 bytes, taken
 *        from each message). message_type = MSH-9 components 1 and 2 joined by
 *        '^' ("ADT^A01"; "ACK" when there is one component; "HL7" when MSH-9
 *        is empty). patient = the ID (component 1) of the first repetition
 *        of PID-3 of the first PID segment (PID-2 when PID-3 is empty);
 *        identifiers = every repetition of PID-3 of every PID segment, each
 *        "ID" or "ID (AUTHORITY TYPE)" with the assigning authority's first
 *        subcomponent (CX.4) and the identifier type code (CX.5) when
 *        present, e.g. "4711^^^HOSP^MR" -> "4711 (HOSP MR)". Escapes \F\ \S\
 *        \T\ \R\ \E\ inside an ID are decoded. bytes = the frame from 0x0B
 *        through 0x1C, plus the 0x0D that must follow it (framed), or the
 *        message's segments with their terminators (unframed).
 *        Limits: DETECT_HL7_SEGMENT_KEEP bytes of a MSH or PID segment are
 *        parsed (a PID-3 repetition cut by it is not reported and
 *        DETECT_FLAG_TRUNCATED is set); a MSH or PID segment whose name
 *        ends past byte DETECT_HL7_MESSAGE_PARSE_MAX of its message (0x0B is
 *        byte 1) is not parsed (counted only; a PID sets
 *        DETECT_FLAG_UNSCANNED).
 *        Gives up: a frame not starting with MSH, bad MSH-1/MSH-2, 0x0B inside
 *        a frame, too much junk between frames, an unframed stream whose first
 *        segment is not MSH.
 *
 *  fhir  HTTP/1.1 (either direction: requests or responses, several in
 *        sequence on one stream; empty lines before a start line skipped).
 *        Requests: "METHOD SP target SP HTTP/1.x". The target's path (after
 *        an optional "scheme://authority", percent-decoded per segment) is
 *        searched for the first segment shaped like a resource type (an
 *        ASCII letter run starting upper case and holding a lower case
 *        letter, e.g. "Patient"; a base such as "/fhir" or "/api/FHIR/R4" is
 *        skipped), the next segment is its id unless it starts with '_' or
 *        '$' ("/Patient/4711/_history/2"). A later resource-type segment
 *        after the id (compartment search "/Patient/4711/Observation") names
 *        the message. Patient ids come from: "Patient/ID" in the path; query
 *        parameters patient=ID, patient=Patient/ID, subject=Patient/ID (also
 *        with a ":Patient" modifier, comma-separated lists, full URLs), and
 *        _id=ID on a Patient search. message_type = "METHOD TYPE" ("GET
 *        Patient"), TYPE from the path, else from the body's resourceType,
 *        else "METHOD" alone.
 *        Responses: "HTTP/1.x SP 3DIGIT ..."; message_type = "STATUS TYPE"
 *        ("200 Bundle") with TYPE the body's resourceType, or "STATUS" alone.
 *        A Location or Content-Location header naming Patient/ID counts as a
 *        patient reference. 1xx responses are consumed without a message;
 *        101 (Switching Protocols) and CONNECT give up.
 *        Bodies: Transfer-Encoding: chunked (wins), else Content-Length, else
 *        none for requests, 204 and 304; other responses without either run
 *        to detect_stream_end(). One direction cannot see a HEAD request: a
 *        response to HEAD with a Content-Length desynchronises the stream
 *        (it then usually gives up). A body whose first non-blank byte is '{' is
 *        scanned as JSON by a bounded tokenizer (no tree): the top-level
 *        "resourceType" names the message; the "id" of every resource object
 *        (the top-level one and those under a "resource" key, as in Bundle
 *        entries) whose resourceType is "Patient" is a patient id; so is the
 *        ID of every "reference": ".../Patient/ID" inside an object held by a
 *        "subject" or "patient" key. Other bodies (XML, compressed) are
 *        counted only.
 *        patient = the first patient id found, from the start line or headers
 *        first, then the body; identifiers = all of them, without repeats.
 *        bytes = start line through the end of the body (chunk framing
 *        included). Ids are accepted when they are FHIR ids
 *        ([A-Za-z0-9.-]{1,64}).
 *        Limits: header block DETECT_FHIR_HEADER_MAX bytes (one past gives
 *        up), start line DETECT_FHIR_LINE_KEEP (longer gives up; longer header
 *        lines are truncated, only their start is read), body bytes scanned
 *        DETECT_FHIR_BODY_SCAN_MAX (the rest counted, flagged), JSON nesting
 *        DETECT_FHIR_JSON_DEPTH_MAX (deeper stops the scan of that body,
 *        flagged). Gives up: not HTTP/1.x, bad or conflicting Content-Length,
 *        bad chunk framing, a header block that is too long.
 *
 *  dicom Either DICOM upper layer PDUs (the stream starts with a byte 0x01 to
 *        0x07 followed by 0x00), or a DICOM file (anything else: 128-byte
 *        preamble, "DICM", see detect_dicom_file()).
 *        PDUs: type (1 byte), reserved (1), length (4, big endian), then
 *        length bytes. A-ASSOCIATE-RQ (0x01) and -AC (0x02) are read for
 *        their presentation contexts (item 0x20/0x21: context id, result,
 *        sub-item 0x40 transfer syntax UID): the accepted syntax of each
 *        context (-AC), or the only one proposed (-RQ), is the syntax of its
 *        datasets; otherwise explicit versus implicit VR little endian is
 *        told from the first element's bytes. P-DATA-TF (0x04) holds PDV
 *        items: length (4, big endian, >= 2), context id (1), control header
 *        (1: bit 0 command, bit 1 last fragment), data. Command sets
 *        (implicit VR LE) give the command field (0000,0100) ->
 *        message_type "C-STORE-RQ", "C-FIND-RSP", ... ("DIMSE 0xNNNN" when
 *        unknown) and (0000,0800) whether a dataset follows. Datasets give
 *        PatientID (0010,0020) (not when it holds the C-FIND wildcards '*' or
 *        '?'). One message per command without a dataset, or per command and
 *        its dataset's last fragment. bytes = the PDV items of the message,
 *        each counted with its 4-byte length field. Release (0x05, 0x06),
 *        abort (0x07) and A-ASSOCIATE-RJ (0x03) are read past.
 *        Datasets of big endian or deflated syntaxes are not read (flagged).
 *        A file gives one message when its PatientID has been passed, or at
 *        detect_stream_end(); bytes = the bytes read up to that point.
 *        Limits: A-ASSOCIATE PDU length DETECT_DICOM_ASSOCIATE_MAX (one past
 *        gives up), sequence nesting DETECT_DICOM_DEPTH_MAX, elements per
 *        dataset header DETECT_DICOM_ELEMENTS_MAX.
 *        Gives up: unknown PDU type, bad lengths, a bad explicit VR, too
 *        deep nesting, a file without "DICM", a big endian or deflated file.
 *
 * Strings in struct detect_message are NUL-terminated; bytes below 0x20 and
 * 0x7F never appear: message types have them replaced by '?', and an id
 * holding one (or a ',') is not reported at all. An id that does not fit
 * patient (127 bytes) is not reported; an identifier that no longer fits the
 * list is left out; both set DETECT_FLAG_TRUNCATED.
 */
#ifndef PHITRAIL_DETECT_H
#define PHITRAIL_DETECT_H

#include <stddef.h>
#include <stdint.h>

enum detect_protocol {
	DETECT_NONE = 0,
	DETECT_HL7,
	DETECT_FHIR,
	DETECT_DICOM,
	DETECT_PROTOCOL_COUNT
};

/* "hl7", "fhir", "dicom" (exact, lower case) -> protocol; DETECT_NONE else. */
enum detect_protocol detect_protocol_from_name(const char *name);
/* The name of a protocol; NULL for DETECT_NONE or out of range. */
const char *detect_protocol_name(enum detect_protocol protocol);

#define DETECT_MESSAGE_TYPE_MAX 32
#define DETECT_PATIENT_MAX 128
#define DETECT_IDENTIFIERS_MAX 256

/* detect_message.flags */
#define DETECT_FLAG_TRUNCATED 0x1   /* an id or part of the message unread */
#define DETECT_FLAG_UNSCANNED 0x2   /* the body/dataset was not (fully) read */

/* One complete message found in a stream. */
struct detect_message {
	char message_type[DETECT_MESSAGE_TYPE_MAX]; /* "ADT^A01", "GET Patient" */
	char patient[DETECT_PATIENT_MAX];   /* first patient id; "" when none */
	char identifiers[DETECT_IDENTIFIERS_MAX]; /* all ids, ',' separated */
	uint64_t bytes;                     /* the message's size on the wire */
	unsigned flags;                     /* DETECT_FLAG_* */
};

/* Limits (see the protocol descriptions above). */
#define DETECT_HL7_SEGMENT_KEEP 4096          /* bytes of MSH/PID parsed */
#define DETECT_HL7_MESSAGE_PARSE_MAX (1u << 20) /* bytes of a message parsed */
#define DETECT_HL7_JUNK_MAX 4096              /* bytes between MLLP frames */
#define DETECT_FHIR_LINE_KEEP 4096            /* start line, header line */
#define DETECT_FHIR_HEADER_MAX 16384          /* start line + headers + CRLF */
#define DETECT_FHIR_BODY_SCAN_MAX (1u << 20)  /* body bytes scanned */
#define DETECT_FHIR_JSON_DEPTH_MAX 64
#define DETECT_FHIR_STRING_KEEP 256           /* JSON string bytes kept */
#define DETECT_DICOM_ASSOCIATE_MAX 65536      /* A-ASSOCIATE-RQ/AC length */
#define DETECT_DICOM_DEPTH_MAX 16             /* nested undefined lengths */
#define DETECT_DICOM_ELEMENTS_MAX 10000       /* elements read per dataset */
#define DETECT_DICOM_VALUE_KEEP 128           /* bytes of a value kept */

/*
 * Per-protocol state. Internal to the detectors: callers only allocate it
 * (inside struct detect_stream) and never look inside.
 */
struct detect_hl7_state {
	uint8_t mode;               /* 0 undecided, 1 MLLP, 2 unframed */
	uint8_t in_frame;           /* MLLP: between 0x0B and 0x1C */
	uint8_t after_frame;        /* MLLP: 0x1C seen, 0x0D may follow */
	uint8_t in_message;         /* a message has started */
	uint8_t segments;           /* segments of this message (saturating) */
	uint8_t pids;               /* PID segments of this message (saturating) */
	uint8_t keep;               /* current segment is MSH/PID and kept */
	char field, component, repetition, escape, subcomponent;
	uint32_t junk;              /* bytes since the last frame ended */
	uint32_t segment_length;    /* bytes of the current segment so far */
	uint64_t message_bytes;
	char segment[DETECT_HL7_SEGMENT_KEEP];
	struct detect_message message;
};

struct detect_fhir_json {
	uint8_t state;              /* tokenizer state */
	uint8_t stopped;            /* scan ended for this body */
	uint8_t expect_key;
	uint8_t string_is_key;
	uint8_t string_overflow;
	uint8_t unicode_left;       /* \uXXXX digits still to read */
	uint16_t unicode_value;
	uint8_t depth;
	uint8_t frame_count;        /* resource objects open */
	uint8_t is_array[DETECT_FHIR_JSON_DEPTH_MAX + 1];
	uint8_t held_by[DETECT_FHIR_JSON_DEPTH_MAX + 1]; /* key class of container */
	uint8_t key_class[DETECT_FHIR_JSON_DEPTH_MAX + 1]; /* last key per level */
	uint16_t string_length;
	char string[DETECT_FHIR_STRING_KEEP];
	struct {
		uint8_t depth;
		uint8_t is_patient;
		char id[65];
	} frames[4];
	char resource_type[DETECT_MESSAGE_TYPE_MAX];
};

struct detect_fhir_state {
	uint8_t phase;              /* start line, headers, body, chunk... */
	uint8_t is_response;
	uint8_t body_kind;          /* none, length, chunked, until end */
	uint8_t line_overflow;
	uint8_t seen_length;
	uint16_t status;
	uint32_t header_bytes;
	uint32_t line_length;
	uint64_t content_length;
	uint64_t body_left;         /* of the body or of the current chunk */
	uint64_t body_scanned;
	uint64_t message_bytes;
	char method[16];
	char type_from_path[DETECT_MESSAGE_TYPE_MAX];
	char line[DETECT_FHIR_LINE_KEEP];
	struct detect_fhir_json json;
	struct detect_message message;
};

struct detect_dicom_elements {
	uint8_t explicit_vr;        /* 1 explicit VR LE, 0 implicit VR LE */
	uint8_t sniff;              /* decide explicit/implicit from the bytes */
	uint8_t meta;               /* file meta group (0002) is being read */
	uint8_t state;              /* header, value, skip, done */
	uint8_t header_have, header_need;
	uint8_t depth;
	uint8_t capture_slot;       /* which value is being kept */
	uint8_t header[12];
	uint32_t elements;
	uint32_t value_left;
	uint32_t value_length;
	uint16_t command_field, data_set_type;
	uint8_t have_command_field, have_data_set_type;
	uint8_t truncated;          /* a kept value did not fit */
	uint8_t stop_after_group;   /* 0x00 command sets, 0x10 datasets */
	char transfer_syntax[65];
	char modality[17];
	char patient_id[65];
	char issuer[65];
	char other_ids[DETECT_DICOM_VALUE_KEEP];
	char value[DETECT_DICOM_VALUE_KEEP];
};

struct detect_dicom_state {
	uint8_t mode;               /* 0 undecided, 1 network, 2 file */
	uint8_t phase;              /* PDU/PDV/item phase or file phase */
	uint8_t pdu_type;
	uint8_t header_have;
	uint8_t header[12];
	uint8_t item_type;
	uint8_t context_id, context_result, proposed;
	uint8_t message_open;       /* a command has started */
	uint8_t command_done, expect_dataset, fragment_control;
	uint8_t dataset_started, dataset_unreadable;
	uint8_t reading;            /* the current fragment goes to elements */
	uint32_t pdu_left, item_left, sub_left, fragment_left;
	uint64_t message_bytes;
	uint64_t file_bytes;
	uint8_t context_syntax[256]; /* 0 unknown, 1 implicit, 2 explicit, 3 no */
	char uid[65];
	uint8_t uid_length;
	struct detect_dicom_elements elements;
	struct detect_message message;
};

struct detect_stream {
	enum detect_protocol protocol;
	const char *gave_up;        /* NULL, or why the detector stopped */
	int ended;                  /* detect_stream_end() was called */
	uint64_t bytes_fed;
	uint64_t messages;          /* complete messages found */
	uint64_t messages_dropped;  /* found but not returned: out was full */
	union {
		struct detect_hl7_state hl7;
		struct detect_fhir_state fhir;
		struct detect_dicom_state dicom;
	} u;
};

/* Starts a stream for protocol; DETECT_NONE makes a stream that finds nothing. */
void detect_stream_init(struct detect_stream *s, enum detect_protocol protocol);

/*
 * Feeds the next len bytes of one direction of the stream. Writes up to max
 * complete messages to out and returns how many (0..max); messages beyond
 * max are counted in s->messages_dropped and lost. Never fails loudly: on
 * bad input the detector gives up (see detect_stream_gave_up()).
 */
size_t detect_stream_feed(struct detect_stream *s, const void *data,
			  size_t len, struct detect_message *out, size_t max);

/*
 * The stream ended (close, end of file): completes a message that only the
 * end can complete (unframed HL7, an HTTP response body running to the
 * close, a DICOM file shorter than its header). Returns 0..max as above.
 * Further feeds find nothing.
 */
size_t detect_stream_end(struct detect_stream *s, struct detect_message *out,
			 size_t max);

/* NULL while the detector is working, else a static reason it gave up. */
const char *detect_stream_gave_up(const struct detect_stream *s);

/*
 * DICOM files: the patient from the first len bytes of a file (128-byte
 * preamble, "DICM", file meta group 0002 in explicit VR little endian, then
 * the dataset in the transfer syntax (0002,0010) names: implicit VR little
 * endian 1.2.840.10008.1.2, or explicit VR little endian (1.2.840.10008.1.2.1
 * and the encapsulated syntaxes, whose headers are explicit VR LE too)).
 * The dataset is read up to the first element after group 0010 (never to
 * pixel data); sequences of undefined length are skipped item by item.
 * out: message_type "DICOM file" or "DICOM file (MODALITY)" from (0008,0060);
 * patient = PatientID (0010,0020); identifiers = PatientID, with the Issuer
 * of Patient ID (0010,0021) as "ID (ISSUER)", then each Other Patient ID
 * (0010,1000); bytes = how many bytes of head were read.
 * Returns 0 (out filled; patient "" when the dataset names none),
 * -ENOMSG (not a DICOM file), -ENODATA (head ends before the answer; pass
 * more bytes), -EPROTONOSUPPORT (big endian or deflated syntax), -EBADMSG
 * (malformed). why (may be NULL) gets a static reason on failure.
 */
int detect_dicom_file(const void *head, size_t len, struct detect_message *out,
		      const char **why);

#endif
