#!/usr/bin/env python3
"""atna_check.py OUTPUT RECORDS [--once-after K] [--dicom-rule R]... -
checks what a real rsyslog wrote (one message a line, "HOSTNAME APP-NAME
MSGID MSG" by the test's template) against the stored records (RECORDS,
`phitrail query --format json`): every record there arrived, records with
id > K exactly once (ids <= K may have been sent again after a reconnect:
counted and printed), and each message is well-formed XML (xml.etree) that
maps the record as the README says: EventID 110110, or 110103 for the
DICOM rules, EventActionCode, EventOutcomeIndicator, the user and the
process as ActiveParticipants, AuditSourceID = host, ParticipantObjectID =
the patient with type code 1 / role 1, and the file as a second object."""
import argparse
import base64
import json
import sys
import xml.etree.ElementTree as ET

ACTIONS = {"PHI File Viewed": "R", "PHI File Modified": "U",
           "PHI File Created": "C", "PHI File Deleted": "D",
           "PHI File Renamed": "U", "PHI File Access Denied": "R",
           "PHI Message Sent": "R", "PHI Message Received": "C",
           "Audit Collector Started": "E", "Audit Trail Queried": "E"}


def xml_text(s):
    """What an XML parser gives back for a record string written by
    atna_message.c. JSON output writes a byte that is not UTF-8 as \\u00XX,
    so characters up to U+00FF are taken as bytes (the test's strings hold
    no genuine Latin-1 characters); entities come back as themselves, the
    rest as the \\xNN / \\\\ escapes."""
    raw = b"".join(bytes([ord(c)]) if ord(c) < 0x100 else c.encode("utf-8") for c in s)
    res, i = [], 0
    while i < len(raw):
        b = raw[i]
        if b == 0x5c:
            res.append("\\\\"); i += 1; continue
        if (b < 0x20 and b not in (9, 10, 13)) or b == 0x7f:
            res.append("\\x%02x" % b); i += 1; continue
        for n in (1, 2, 3, 4):
            try:
                ch = raw[i:i + n].decode("utf-8")
            except UnicodeDecodeError:
                continue
            if ch in ("\ufffe", "\uffff"):
                break
            res.append(ch); i += n
            break
        else:
            res.append("\\x%02x" % b); i += 1
            continue
        if ch in ("\ufffe", "\uffff"):
            res.append("\\x%02x" % b); i += 1
    return "".join(res)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("output")
    ap.add_argument("records")
    ap.add_argument("--once-after", type=int, default=0)
    ap.add_argument("--dicom-rule", action="append", default=[])
    a = ap.parse_args()
    errors = []
    seen = {}
    for n, line in enumerate(open(a.output, encoding="utf-8", errors="surrogateescape"), 1):
        if "<?xml" not in line:
            continue
        head, xml = line.split("<?xml", 1)
        host, app, msgid = (head.split() + ["", "", ""])[:3]
        if app != "phitraild" or msgid != "IHE+RFC-3881":
            errors.append("line %d: header %r" % (n, head))
        try:
            root = ET.fromstring(("<?xml" + xml.rstrip("\n")).encode("utf-8", "surrogateescape"))
        except ET.ParseError as e:
            errors.append("line %d: not well-formed XML: %s" % (n, e))
            continue
        rid = None
        for poi in root.findall("ParticipantObjectIdentification"):
            code = poi.find("ParticipantObjectIDTypeCode")
            if code is not None and code.get("csd-code") == "phitrail-record":
                rid = int(poi.get("ParticipantObjectID"))
        if rid is None:
            errors.append("line %d: no record id" % n)
            continue
        seen.setdefault(rid, []).append((host, root))
    records = [json.loads(l) for l in open(a.records, encoding="utf-8") if l.strip()]
    dups = []
    for rec in records:
        rid = rec["id"]
        got = seen.get(rid, [])
        if not got:
            errors.append("record %d (%s) did not arrive" % (rid, rec["event_type"]))
            continue
        if len(got) > 1:
            if rid > a.once_after:
                errors.append("record %d arrived %d times" % (rid, len(got)))
            dups.append(rid)
        host, root = got[0]
        ev = root.find("EventIdentification")
        eid = ev.find("EventID").get("csd-code")
        if rec["event_type"].startswith("PHI "):
            want = "110103" if rec.get("rule") in a.dicom_rule or \
                (rec.get("detail") or {}).get("protocol") == "dicom" else "110110"
            if eid != want:
                errors.append("record %d: EventID %s, not %s" % (rid, eid, want))
        if rec["event_type"] in ACTIONS and ev.get("EventActionCode") != ACTIONS[rec["event_type"]]:
            errors.append("record %d: action %s" % (rid, ev.get("EventActionCode")))
        want_outcome = "0" if rec.get("result") in (None, "ok") else "4"
        if ev.get("EventOutcomeIndicator") != want_outcome:
            errors.append("record %d: outcome %s" % (rid, ev.get("EventOutcomeIndicator")))
        if ev.get("EventDateTime") != rec["timestamp"]:
            errors.append("record %d: EventDateTime %s" % (rid, ev.get("EventDateTime")))
        parts = root.findall("ActiveParticipant")
        if not parts or parts[0].get("UserID") != xml_text(rec["actor_user_id"]) or \
                parts[0].get("UserIsRequestor") != "true":
            errors.append("record %d: the user is not the requesting participant" % rid)
        if rec.get("exe") and (len(parts) < 2 or parts[1].get("UserID") != xml_text(rec["exe"])
                               or parts[1].get("AlternativeUserID") != str(rec["pid"])):
            errors.append("record %d: the process participant" % rid)
        src = root.find("AuditSourceIdentification")
        if src is None or src.get("AuditSourceID") != rec.get("host"):
            errors.append("record %d: AuditSourceID" % rid)
        pois = root.findall("ParticipantObjectIdentification")
        patients = [p for p in pois if p.get("ParticipantObjectTypeCode") == "1"
                    and p.get("ParticipantObjectTypeCodeRole") == "1"]
        if rec.get("end_user_id"):
            if [p.get("ParticipantObjectID") for p in patients] != [xml_text(rec["end_user_id"])]:
                errors.append("record %d: patient object %r, not %r" % (
                    rid, [p.get("ParticipantObjectID") for p in patients], rec["end_user_id"]))
        elif patients:
            errors.append("record %d: a patient object without a patient" % rid)
        if rec.get("target"):
            files = [p for p in pois if p.get("ParticipantObjectTypeCodeRole") == "4"]
            if not files or files[0].get("ParticipantObjectID") != xml_text(rec["target"]):
                errors.append("record %d: file object %r, not %r" % (
                    rid, files[0].get("ParticipantObjectID") if files else None, rec["target"]))
            elif rec.get("rule"):
                rules = [base64.b64decode(d.get("value")).decode() for d in files[0]
                         if d.tag == "ParticipantObjectDetail" and d.get("type") == "rule"]
                if rules != [rec["rule"]]:
                    errors.append("record %d: rule detail %r" % (rid, rules))
    for e in errors[:25]:
        print(e)
    print("atna: %d records checked, %d messages, %d record(s) arrived more than once%s"
          % (len(records), sum(len(v) for v in seen.values()), len(dups),
             (" (ids %s)" % ",".join(map(str, dups[:20]))) if dups else ""))
    sys.exit(1 if errors else 0)


main()
