#!/usr/bin/env python3
"""fhir_check.py BUNDLE JSONL [DICOM_RULE...] - checks a `--format fhir` Bundle against the
records it was made from (`--format json`, one object per line) with only
the json module: the elements FHIR R4 requires of an AuditEvent (type,
action, recorded, agent with requestor, source.observer, entity.what), their
value sets, and that every record field landed where the README's mapping
says (records of the DICOM_RULEs, or with detail protocol "dicom", are
110103 DICOM Instances Accessed). Prints what is wrong and exits 1, or prints the count and exits 0."""
import json
import re
import sys

DCM = "http://dicom.nema.org/resources/ontology/DCM"
EXT = "urn:phitrail:fhir:"
INSTANT = re.compile(r"^([0-9]{4})-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T"
                     r"([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?"
                     r"(Z|[+-]((0[0-9]|1[0-3]):[0-5][0-9]|14:00))$")
ACTIONS = {"PHI File Viewed": "R", "PHI File Modified": "U",
           "PHI File Created": "C", "PHI File Deleted": "D",
           "PHI File Renamed": "U", "PHI File Permissions Changed": "U",
           "PHI File Access Denied": "R", "PHI Directory Listed": "R",
           "PHI Connection Opened": "E", "PHI Connection Accepted": "E",
           "PHI Message Sent": "R", "PHI Message Received": "C"}
EVENT_IDS = {"110110", "110103", "110100", "110112", "110113"}
errors = []


def bad(where, what):
    errors.append("%s: %s" % (where, what))


def ext(element, name):
    for e in element.get("extension", []):
        if e.get("url") == EXT + name:
            return e.get("valueString")
    return None


def no_empty(where, value):
    """FHIR forbids empty strings, arrays and objects anywhere."""
    if value in ("", [], {}):
        bad(where, "empty value")
    elif isinstance(value, dict):
        for k, v in value.items():
            no_empty(where + "." + k, v)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            no_empty("%s[%d]" % (where, i), v)


def check(ae, rec, where):
    no_empty(where, ae)
    if ae.get("resourceType") != "AuditEvent":
        bad(where, "resourceType is not AuditEvent")
    t = ae.get("type", {})
    if t.get("system") != DCM or t.get("code") not in EVENT_IDS:
        bad(where, "type is not a DCM event id: %r" % t)
    if ae.get("action") not in ("C", "R", "U", "D", "E"):
        bad(where, "action not in C/R/U/D/E: %r" % ae.get("action"))
    if not INSTANT.match(ae.get("recorded", "")):
        bad(where, "recorded is not an instant: %r" % ae.get("recorded"))
    if ae.get("outcome") not in ("0", "4", "8", "12"):
        bad(where, "outcome not in 0/4/8/12")
    agents = ae.get("agent", [])
    if not agents or any(not isinstance(a.get("requestor"), bool) for a in agents):
        bad(where, "agent missing or without requestor")
    if [a.get("requestor") for a in agents].count(True) != 1:
        bad(where, "not exactly one requesting agent")
    if "observer" not in ae.get("source", {}):
        bad(where, "source.observer missing")
    for e in ae.get("entity", []):
        if "what" not in e:
            bad(where, "entity without what")
    if rec is None:
        return
    # the mapping, field by field
    ev = rec["event_type"]
    if ev in ACTIONS and ae.get("action") != ACTIONS[ev]:
        bad(where, "%s should be action %s, is %s" % (ev, ACTIONS[ev], ae.get("action")))
    dicom = (rec.get("detail") or {}).get("protocol") == "dicom" or rec.get("rule") in sys.argv[3:]
    want_code = "110103" if dicom else "110110"
    if ev in ACTIONS and t.get("code") != want_code:
        bad(where, "%s should be event id %s" % (ev, want_code))
    if [c["code"] for c in ae.get("subtype", []) if c["system"] == "urn:phitrail:event-type"] != [ev]:
        bad(where, "subtype lacks the event type")
    if ae.get("recorded") != rec["timestamp"]:
        bad(where, "recorded %r is not the timestamp %r" % (ae.get("recorded"), rec["timestamp"]))
    want_outcome = "0" if rec.get("result") in (None, "ok") else "4"
    if ae.get("outcome") != want_outcome:
        bad(where, "outcome %r for result %r" % (ae.get("outcome"), rec.get("result")))
    person = agents[0]
    if person.get("who", {}).get("identifier", {}).get("value") != rec["actor_user_id"]:
        bad(where, "requesting agent is not the actor")
    if rec.get("uid") is not None and ext(person, "uid") != str(rec["uid"]):
        bad(where, "person agent lacks uid")
    if rec.get("exe"):
        prog = agents[1] if len(agents) > 1 else {}
        if prog.get("who", {}).get("identifier", {}).get("value") != rec["exe"]:
            bad(where, "program agent is not exe %r" % rec["exe"])
        if prog.get("altId") != str(rec["pid"]) or prog.get("requestor") is not False:
            bad(where, "program agent lacks pid or is a requestor")
        if prog.get("network", {}).get("address") != rec["host"]:
            bad(where, "program agent lacks host")
    src = ae.get("source", {})
    if src.get("site") != rec["workspace_id"]:
        bad(where, "source.site is not the workspace")
    if rec.get("host") and src.get("observer", {}).get("display") != rec["host"]:
        bad(where, "source.observer is not the host")
    if ext(ae, "record-id") != str(rec["id"]) or ext(ae, "seq") != (
            None if rec.get("seq") is None else str(rec["seq"])):
        bad(where, "record-id or seq extension wrong")
    patients = [e for e in ae.get("entity", [])
                if e.get("role", {}).get("code") == "1"
                and e["role"].get("system") == "http://terminology.hl7.org/CodeSystem/object-role"]
    if rec.get("end_user_id"):
        if len(patients) != 1 or patients[0]["what"]["identifier"]["value"] != rec["end_user_id"]:
            bad(where, "no patient entity for %r" % rec["end_user_id"])
        elif patients[0].get("type", {}).get("code") != "1":
            bad(where, "patient entity is not of type Person")
    elif patients:
        bad(where, "patient entity for a record without a patient")
    if rec.get("target"):
        targets = [e for e in ae.get("entity", []) if e.get("role", {}).get("code") == "4"]
        if not targets or targets[0]["what"]["identifier"]["value"] != rec["target"]:
            bad(where, "target entity is not %r" % rec["target"])
        details = {d["type"]: d["valueString"] for d in targets[0].get("detail", [])} if targets else {}
        if rec.get("rule") and details.get("rule") != rec["rule"]:
            bad(where, "rule missing from the target entity")
        if rec.get("target2") and details.get("target2") != rec["target2"]:
            bad(where, "target2 missing from the target entity")


def main():
    bundle = json.load(open(sys.argv[1], encoding="utf-8"))
    records = [json.loads(line) for line in open(sys.argv[2], encoding="utf-8") if line.strip()]
    if bundle.get("resourceType") != "Bundle" or bundle.get("type") != "collection":
        bad("Bundle", "not a Bundle of type collection")
    entries = bundle.get("entry", [])
    if len(entries) != len(records):
        bad("Bundle", "%d entries for %d records" % (len(entries), len(records)))
    for i, (entry, rec) in enumerate(zip(entries, records)):
        check(entry.get("resource", {}), rec, "entry[%d] (record %s)" % (i, rec.get("id")))
    for e in errors[:20]:
        print(e)
    if errors:
        sys.exit(1)
    print("%d AuditEvents match their records" % len(entries))


main()
