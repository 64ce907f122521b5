#!/usr/bin/env python3
"""Writes the crafted (hostile) fuzz seeds: fuzz/seeds/<parser>/crafted-*.

The other seeds are copies of real reports (see fuzz/README.md); these ones are made up to start
the fuzzers at the edges the parsers must refuse: entity expansion, external entities, deep
nesting, decompression bombs, archive path tricks, truncation, ARF with fields missing.
Deterministic (gzip mtime 0, fixed zip dates), so re-running it gives the same bytes.

Usage: python3 fuzz/make_seeds.py   (from anywhere; writes next to this file)
"""

import base64
import binascii
import gzip
import io
import os
import zipfile
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
SEEDS = os.path.join(HERE, "seeds")
ZIP_DATE = (2026, 11, 1, 0, 0, 0)

# Limits the fuzzers run under (fuzz_common.hpp): crafted seeds go just past them.
MAX_EXPANDED = 8 << 20  # bombs go past it, so they trip the 100:1 ratio check first
MAX_NESTING = 8
MAX_ZIP_ENTRIES = 16
MAX_RECORDS = 128
MAX_FIELD = 4096


def write(parser, name, data):
    if isinstance(data, str):
        data = data.encode("utf-8")
    folder = os.path.join(SEEDS, parser)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "crafted-" + name), "wb") as f:
        f.write(data)


def gz(data, level=9):
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", compresslevel=level, mtime=0) as f:
        f.write(data)
    return out.getvalue()


def gz_prefixed(prefix, n, fill=b"\n"):
    """gzip of `prefix` then n bytes of `fill`, compressed in chunks (no n-byte buffer)."""
    z = zlib.compressobj(9, zlib.DEFLATED, 31)
    out = [z.compress(prefix)]
    chunk = fill * (1 << 20)
    out += [z.compress(chunk) for _ in range(n >> 20)]
    out.append(z.compress(fill * (n & ((1 << 20) - 1))))
    out.append(z.flush())
    return b"".join(out)


def gz_zeros(n):
    return gz_prefixed(b"", n, b"\0")


def zip_of(entries, compression=zipfile.ZIP_DEFLATED):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for name, data in entries:
            info = zipfile.ZipInfo(name, ZIP_DATE)
            info.compress_type = compression
            z.writestr(info, data)
    return out.getvalue()


def record(ip="192.0.2.1", count=1):
    return (
        f"<record><row><source_ip>{ip}</source_ip><count>{count}</count>"
        "<policy_evaluated><disposition>none</disposition><dkim>pass</dkim><spf>pass</spf>"
        "</policy_evaluated></row><identifiers><header_from>example.com</header_from>"
        "</identifiers><auth_results><spf><domain>example.com</domain><result>pass</result>"
        "</spf></auth_results></record>"
    )


def report(records=None, head="", meta_extra="", policy_extra="", decl=True, begin="1793491200",
           end="1793577599"):
    if records is None:
        records = record()
    return (
        ('<?xml version="1.0" encoding="UTF-8"?>\n' if decl else "")
        + head
        + "<feedback><version>1.0</version><report_metadata><org_name>fuzz.example</org_name>"
        "<email>dmarc@fuzz.example</email><report_id>fuzz-1</report_id>"
        f"<date_range><begin>{begin}</begin><end>{end}</end></date_range>{meta_extra}"
        "</report_metadata><policy_published><domain>example.com</domain><adkim>r</adkim>"
        f"<aspf>r</aspf><p>none</p><sp>none</sp><pct>100</pct>{policy_extra}</policy_published>"
        + records
        + "</feedback>\n"
    )


def aggregate_seeds():
    a = "aggregate"
    laughs = '<!DOCTYPE feedback [\n<!ENTITY lol "lol">\n'
    prev = "lol"
    for i in range(1, 10):
        laughs += f'<!ENTITY lol{i} "' + f"&{prev};" * 10 + '">\n'
        prev = f"lol{i}"
    laughs += "]>\n"
    billion = report(head=laughs).replace("fuzz.example</org_name>", "&lol9;</org_name>", 1)
    write(a, "billion-laughs.xml", billion)
    write(a, "xxe.xml", report(head='<!DOCTYPE feedback [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n')
          .replace("fuzz.example</org_name>", "&xxe;</org_name>", 1))
    write(a, "xxe-parameter.xml",
          report(head='<!DOCTYPE feedback [<!ENTITY % p SYSTEM "http://203.0.113.1/x.dtd"> %p;]>\n'))
    write(a, "doctype-public.xml",
          report(head='<!DOCTYPE feedback PUBLIC "-//X//Y" "http://203.0.113.1/feedback.dtd">\n'))
    write(a, "deep-nesting-unknown.xml",
          report(meta_extra="<x>" * 200 + "</x>" * 200))
    write(a, "deep-nesting-record.xml", report(records="<record>" * 100 + "</record>" * 100))
    write(a, "deep-nesting-root.xml", "<feedback>" * 100 + "</feedback>" * 100)
    minimal = ("<record><row><source_ip>192.0.2.1</source_ip><count>1</count></row>"
               "<identifiers><header_from>example.com</header_from></identifiers></record>")
    write(a, "many-records.xml", report(records=minimal * (MAX_RECORDS + 1)))
    write(a, "long-field.xml", report(meta_extra="<extra_contact_info>" + "A" * (MAX_FIELD + 1)
                                      + "</extra_contact_info>"))
    write(a, "long-field-split.xml",
          report(meta_extra="<extra_contact_info>" + "&amp;<![CDATA[x]]>" * 100 + "</extra_contact_info>"))
    utf16 = report().replace('encoding="UTF-8"', 'encoding="UTF-16"')
    write(a, "utf16le-bom.xml", b"\xff\xfe" + utf16.encode("utf-16-le"))
    write(a, "utf16be-bom.xml", b"\xfe\xff" + utf16.encode("utf-16-be"))
    write(a, "utf16-odd-length.xml", (b"\xff\xfe" + utf16.encode("utf-16-le"))[:-1])
    write(a, "utf8-bom.xml", b"\xef\xbb\xbf" + report().encode())
    for name, text in [("windows-1252.xml", "\x80\x93Z\xfcrich"),
                       ("windows-1252-undefined-byte.xml", "Z\xfcrich\x9d")]:
        cp1252 = report(meta_extra=f"<extra_contact_info>{text}</extra_contact_info>")
        write(a, name,
              cp1252.replace('encoding="UTF-8"', 'encoding="windows-1252"').encode("latin-1"))
    write(a, "unknown-encoding.xml", report().replace('encoding="UTF-8"', 'encoding="x-fuzz-7"'))
    write(a, "ebcdic-encoding.xml", report().replace('encoding="UTF-8"', 'encoding="IBM037"'))
    write(a, "char-refs.xml", report(meta_extra="<extra_contact_info>&#65;&#x1F600;&lt;&apos;"
                                     "</extra_contact_info>"))
    for i, ref in enumerate(["&#0;", "&#xD800;", "&#x110000;", "&undeclared;"]):
        write(a, f"char-ref-bad-{i}.xml",
              report(meta_extra=f"<extra_contact_info>{ref}</extra_contact_info>"))
    write(a, "nul-byte.xml", report().replace("fuzz-1", "fuzz\x001"))
    write(a, "invalid-utf8.xml", report().encode().replace(b"fuzz.example", b"fu\xc3\x28\xff\xfe", 1))
    write(a, "cdata-comments-pi.xml",
          report(records=record().replace("<count>1</count>",
                                          "<count><!-- c --><![CDATA[4]]><?pi x?>2</count>")))
    write(a, "mixed-content.xml", report(records="text" + record() + "&amp;more"))
    write(a, "duplicates.xml", report(meta_extra="<org_name>second</org_name><date_range>"
                                      "<begin>1</begin><end>2</end></date_range>",
                                      policy_extra="<domain>other.example</domain><p>reject</p>")
          .replace("</policy_published>",
                   "</policy_published><policy_published><domain>x.example</domain>"
                   "</policy_published>", 1))
    # One value per file for those the parser may refuse: the first refusal ends a report.
    counts = ["0", " 7 ", "4294967296", "18446744073709551615", "18446744073709551616", "-1",
              "0x10", "1e3", "", "99999999999999999999999999"]
    for i, count in enumerate(counts):
        write(a, f"count-{i}.xml", report(records=record(count=count)))
    ips = ["::ffff:1.2.3.4", "[2001:db8::1]", " 192.0.2.1 ", "::", "1:2:3:4:5:6:1.2.3.4",
           "2001:0db8:0000:0000:0000:0000:0000:0001", "1.2.3.4.5", "fe80::1%eth0", "01.02.03.004",
           "2001:db8::1::2", "1:2:3:4:5:6:7:8:9", "256.1.1.1", "1.2.3", "", "::ffff:", "[::1",
           "::ffff:1.2.3", "1::2:3:4:5:6:7:8", ":1::2", "1.2.3.4/24"]
    for i, ip in enumerate(ips):
        write(a, f"ip-{i}.xml", report(records=record(ip=ip)))
    for name, begin, end in [("epoch-huge", "99999999999999", "1"), ("epoch-float", "1337270400.5",
                             "1337270400.0"), ("epoch-negative", "-1", "-99999999999"),
                             ("epoch-reversed", "1793577599", "1793491200"),
                             ("epoch-garbage", "2026-11-01", "")]:
        write(a, name + ".xml", report(begin=begin, end=end))
    enums = record().replace("<disposition>none</disposition>", "<disposition>Quarantine "
                             "</disposition>").replace("<dkim>pass</dkim>", "<dkim>PASS</dkim>")
    enums += record().replace("<spf>pass</spf>", "<spf>hardfail</spf>").replace(
        "<result>pass</result>", "<result></result><scope>bogus</scope>")
    write(a, "enum-spellings.xml", report(records=enums, policy_extra="<np>x</np><testing>maybe"
                                          "</testing><discovery_method>dns</discovery_method>"
                                          "<adkim>z</adkim><pct>101</pct><pct>-5</pct>"))
    ns = report(decl=False).replace("<feedback>", '<d:feedback xmlns:d="urn:ietf:params:xml:ns:'
                                    'dmarc-2.0" xmlns="http://dmarc.org/dmarc-xml/0.1">')
    write(a, "namespace-prefix.xml", ns.replace("</feedback>", "</d:feedback>"))
    write(a, "wrong-root.xml", report().replace("feedback>", "report>"))
    write(a, "no-records.xml", report(records=""))
    write(a, "truncated.xml", report()[: len(report()) * 2 // 3])
    write(a, "only-decl.xml", '<?xml version="1.0"?>')
    write(a, "empty", b"")
    write(a, "bom-only", b"\xef\xbb\xbf")
    # Token mode (fuzz_common.hpp): 0x01, then bytes >= 0x80 index the element table.
    write(a, "token-mode", bytes([0x01, 0x80, 0x84, 0x86]) + b"org" + bytes([0x87, 0x85, 0x81]))


ARF_FIELDS = (
    "Feedback-Type: auth-failure\n"
    "User-Agent: fuzz/1.0\n"
    "Version: 1\n"
    "Auth-Failure: dmarc\n"
    "Original-Mail-From: <bounce@example.com>\n"
    "Original-Rcpt-To: <user@example.net>\n"
    "Arrival-Date: Thu, 05 Nov 2026 10:11:12 +0000\n"
    "Source-IP: 203.0.113.199\n"
    "Reported-Domain: example.com\n"
    "Authentication-Results: mx.example.net; dmarc=fail header.from=example.com\n"
)

ORIGINAL = (
    "From: ceo@example.com\n"
    "To: user@example.net\n"
    "Subject: Urgent wire transfer\n"
    "Message-ID: <spoof@203.0.113.199>\n"
    "Date: Thu, 05 Nov 2026 10:11:00 +0000\n"
    "\n"
    "Please pay.\n"
)


def arf(fields=ARF_FIELDS, original=ORIGINAL, feedback_headers="", outer_type=None,
        original_type="message/rfc822"):
    outer_type = outer_type or 'multipart/report; report-type=feedback-report; boundary="arf"'
    return (
        "From: dmarc-noreply@example.net\n"
        "To: ruf@example.com\n"
        "Subject: DMARC failure report for example.com\n"
        "Message-ID: <report-1@example.net>\n"
        "Date: Thu, 05 Nov 2026 10:12:00 +0000\n"
        "MIME-Version: 1.0\n"
        f"Content-Type: {outer_type}\n"
        "\n"
        "--arf\n"
        "Content-Type: text/plain\n\n"
        "This is an authentication failure report.\n"
        "--arf\n"
        f"Content-Type: message/feedback-report\n{feedback_headers}\n"
        f"{fields}"
        "--arf\n"
        f"Content-Type: {original_type}\n\n"
        f"{original}"
        "--arf--\n"
    )


def arf_seeds():
    r = "arf"
    missing_required = "".join(line + "\n" for line in ARF_FIELDS.splitlines()
                               if not line.startswith(("Feedback-Type", "User-Agent", "Version")))
    write(r, "missing-required-fields.eml", arf(fields=missing_required))
    only_type = "Feedback-Type: auth-failure\n"
    write(r, "only-feedback-type.eml", arf(fields=only_type))
    write(r, "empty-feedback-part.eml", arf(fields=""))
    write(r, "blank-lines-before-fields.eml", arf(fields="\n\n   \n" + ARF_FIELDS))
    write(r, "fields-not-headers.eml", arf(fields="this is not a field block\n" + ARF_FIELDS))
    bad_values = (
        "Feedback-Type: AUTH-FAILURE\nUser-Agent:\nVersion: 99999999999999999999\n"
        "Auth-Failure: \nSource-IP: 203.0.113.999\nArrival-Date: yesterday-ish\n"
        "Incidents: -4\nIncidents: 18446744073709551616\nReported-Domain: \n"
        "Reported-Domain: =?utf-8?B?w7zDtsOk?=.example\nReported-Domain: ..\n"
        "Original-Rcpt-To: <>\nDKIM-Domain: \xfc\nSPF-DNS: \n"
        "Identity-Alignment: none, dkim, spf, bogus\n"
    )
    write(r, "bad-values.eml", arf(fields=bad_values))
    b64 = base64.encodebytes(ARF_FIELDS.encode()).decode()
    write(r, "feedback-base64.eml", arf(fields=b64, feedback_headers="Content-Transfer-Encoding: base64\n"))
    write(r, "feedback-base64-garbage.eml",
          arf(fields="!!!!====*&^%\n", feedback_headers="Content-Transfer-Encoding: base64\n"))
    qp = ARF_FIELDS.replace("auth-failure", "auth=2Dfailure").replace("\n", "=\n\n", 1)
    write(r, "feedback-qp.eml", arf(fields=qp, feedback_headers="Content-Transfer-Encoding: quoted-printable\n"))
    write(r, "headers-only-original.eml", arf(original=ORIGINAL.split("\n\n")[0] + "\n",
                                             original_type="text/rfc822-headers"))
    write(r, "not-multipart-report.eml",
          arf(outer_type='multipart/mixed; boundary="arf"'))
    write(r, "no-boundary.eml", arf(outer_type="multipart/report; report-type=feedback-report"))
    full = arf()
    write(r, "truncated.eml", full[: len(full) // 2])
    write(r, "two-feedback-parts.eml", full.replace(
        "--arf\nContent-Type: message/rfc822",
        "--arf\nContent-Type: message/feedback-report\n\nFeedback-Type: abuse\n"
        "--arf\nContent-Type: message/rfc822", 1))
    # The report inside message/rfc822 inside ... deeper than max_nesting.
    inner = arf()
    for _ in range(MAX_NESTING + 4):
        inner = ("From: a@example.net\nMIME-Version: 1.0\nContent-Type: message/rfc822\n\n"
                 + inner)
    write(r, "nested-message-rfc822.eml", inner)
    # The feedback part at the bottom of 60 nested multiparts.
    deep = "Content-Type: message/feedback-report\n\n" + ARF_FIELDS
    for i in range(60):
        deep = f'Content-Type: multipart/mixed; boundary="b{i}"\n\n--b{i}\n{deep}--b{i}--\n'
    write(r, "deep-multipart.eml", "From: a@example.net\nMIME-Version: 1.0\n" + deep)
    long_header = "Subject: " + " ".join(["folded"] * 600).replace(" ", "\n ", 300) + "\n"
    write(r, "long-folded-header.eml", long_header + arf())
    write(r, "crlf.eml", arf().replace("\n", "\r\n"))
    write(r, "bare-cr.eml", arf().replace("\n", "\r"))
    write(r, "mixed-line-ends.eml", arf().replace("\n", "\r\n", 20).replace("Source-IP", "\rSource-IP"))
    write(r, "8bit-fields.eml",
          arf(fields=ARF_FIELDS.replace("fuzz/1.0", "f\xfc\xff\xfe/1.0")).encode("latin-1"))
    write(r, "not-a-message", b"\x00\x01\x02 binary, no header block")
    write(r, "empty", b"")
    write(r, "token-mode", bytes([0x01, 0x83, 0x86, 0x87, 0x90, 0x8a, 0x81, 0x94, 0x98, 0x91]))


def mime_message(body, content_type, encoding="base64", name="report.xml.gz"):
    """An aggregate-report e-mail with `body` (bytes) attached, encoded as `encoding` says."""
    if encoding == "base64":
        body = base64.encodebytes(body)
    body = body.decode("latin-1")
    return (
        "From: noreply-dmarc-support@google.com\n"
        "To: dmarc@example.com\n"
        "Subject: Report domain: example.com Submitter: fuzz.example Report-ID: 1\n"
        "MIME-Version: 1.0\n"
        'Content-Type: multipart/mixed; boundary="m"\n\n'
        "--m\nContent-Type: text/plain\n\nattached\n"
        f"--m\nContent-Type: {content_type}; name=\"{name}\"\n"
        f"Content-Transfer-Encoding: {encoding}\n"
        f"Content-Disposition: attachment; filename=\"{name}\"\n\n"
        f"{body}\n--m--\n"
    ).encode("latin-1")


def patch_zip_name(data, old, new):
    """Replaces an entry name in both zip headers (same length), e.g. to put a NUL in it."""
    assert len(old) == len(new)
    return data.replace(old, new)


def unpack_seeds():
    u = "unpack"
    xml = report().encode()
    xgz = gz(xml)
    # Zeros are refused by the sniffer after 512 bytes; the XML-looking bomb must hit the caps.
    write(u, "gzip-zeros-bomb.gz", gz_zeros(MAX_EXPANDED + (1 << 20)))
    write(u, "gzip-xml-bomb.gz", gz_prefixed(b"<?xml version=\"1.0\"?>\n<feedback>",
                                             MAX_EXPANDED + (1 << 20)))
    write(u, "gzip-truncated.gz", xgz[: len(xgz) // 2])
    write(u, "gzip-no-trailer.gz", xgz[:-8])
    bad_crc = bytearray(xgz)
    bad_crc[-8] ^= 0xFF
    write(u, "gzip-bad-crc.gz", bytes(bad_crc))
    write(u, "gzip-trailing-garbage.gz", xgz + b"\x00\x00garbage after the member\n")
    write(u, "gzip-members.gz", gz(xml[:200]) + gz(xml[200:]))
    write(u, "gzip-header-only.gz", b"\x1f\x8b")
    write(u, "gzip-bad-method.gz", b"\x1f\x8b\x07\x00" + xgz[4:])
    flagged = bytearray(xgz)
    flagged[3] = 0x1E  # FEXTRA|FNAME|FCOMMENT|FHCRC claimed, none present
    write(u, "gzip-bad-flags.gz", bytes(flagged))
    nested = xml
    for _ in range(MAX_NESTING + 3):
        nested = gz(nested)
    write(u, "gzip-nested-deep.gz", nested)
    write(u, "zip-dotdot.zip", zip_of([("../../etc/report.xml", xml)]))
    write(u, "zip-absolute.zip", zip_of([("/etc/report.xml", xml), ("C:\\report.xml", xml)]))
    write(u, "zip-backslash-dotdot.zip", zip_of([("a\\..\\..\\report.xml", xml)]))
    write(u, "zip-nul-name.zip", patch_zip_name(zip_of([("reportXxml", xml)]), b"reportXxml",
                                                b"report\x00xml"))
    write(u, "zip-bomb.zip", zip_of([("bomb.xml", b"<feedback>" + b"\n" * (MAX_EXPANDED + (1 << 20)))]))
    write(u, "zip-many-entries.zip", zip_of([(f"r{i}.xml", b"<feedback/>")
                                             for i in range(MAX_ZIP_ENTRIES + 4)]))
    write(u, "zip-in-zip.zip", zip_of([("inner.zip", zip_of([("report.xml", xml)]))]))
    write(u, "zip-of-gzip.zip", zip_of([("report.xml.gz", xgz)], zipfile.ZIP_STORED))
    write(u, "zip-bzip2.zip", zip_of([("report.xml", xml)], zipfile.ZIP_BZIP2))
    write(u, "zip-lzma.zip", zip_of([("report.xml", xml)], zipfile.ZIP_LZMA))
    zz = zip_of([("report.xml", xml)])
    write(u, "zip-truncated.zip", zz[: len(zz) // 2])
    enc = bytearray(zz)
    for sig in (b"PK\x03\x04", b"PK\x01\x02"):
        at = zz.find(sig)
        flag_at = at + (6 if sig == b"PK\x03\x04" else 8)
        enc[flag_at] |= 0x01  # claims to be encrypted
    write(u, "zip-claims-encrypted.zip", bytes(enc))
    write(u, "zip-empty.zip", b"PK\x05\x06" + bytes(18))
    write(u, "zip-dir-entry.zip", zip_of([("dir/", b""), ("dir/report.xml", xml)]))
    write(u, "mime-base64-garbage.eml", mime_message(b"", "application/gzip", encoding="base64")
          .replace(b"\n\n\n--m--", b"\n\n!!!$$$***===\n--m--"))
    write(u, "mime-zip-dotdot.eml", mime_message(zip_of([("../r.xml", xml)]), "application/zip",
                                                 name="r.zip"))
    uu = b"begin 644 report.xml.gz\n" + b"".join(
        binascii.b2a_uu(xgz[i:i + 45]) for i in range(0, len(xgz), 45)) + b"`\nend"
    write(u, "mime-uuencode.eml", mime_message(uu, "application/octet-stream",
                                               encoding="x-uuencode"))
    write(u, "mime-8bit-xml.eml", mime_message(xml, "text/xml", encoding="8bit",
                                               name="report.xml"))
    body = mime_message(xgz, "application/gzip").decode()
    for i in range(MAX_NESTING + 4):
        body = ("From: a@example.net\nMIME-Version: 1.0\n"
                f'Content-Type: multipart/mixed; boundary="n{i}"\n\n--n{i}\n'
                "Content-Type: message/rfc822\n\n" + body + f"\n--n{i}--\n")
    write(u, "mime-nested-deep.eml", body)
    deep = 'Content-Type: text/xml\n\n' + report()
    for i in range(100):
        deep = f'Content-Type: multipart/mixed; boundary="d{i}"\n\n--d{i}\n{deep}\n--d{i}--\n'
    write(u, "mime-multipart-100-deep.eml", "From: a@example.net\nMIME-Version: 1.0\n" + deep)
    write(u, "mime-no-body.eml", "From: a@example.net\nSubject: nothing\n")
    write(u, "mime-header-only-line.eml", "X:" + "y" * 100)
    mbox = (b"From fuzz@example.net Thu Nov  5 10:00:00 2026\n" + mime_message(xgz, "application/gzip")
            + b"\nFrom other@example.net Thu Nov  5 10:00:01 2026\n>From quoted line\n"
            + b"Subject: x\n\n" + b"z" * 2000 + b"\n")
    write(u, "mbox-two-messages.mbox", mbox)
    write(u, "mbox-truncated.mbox", mbox[: len(mbox) // 3])
    write(u, "mbox-empty-messages.mbox", b"From a\n\nFrom b\n\nFrom c\n")
    write(u, "billion-laughs.xml.gz", gz(open(os.path.join(SEEDS, "aggregate",
                                                           "crafted-billion-laughs.xml"), "rb").read()))
    write(u, "xml-not-report.xml", '<?xml version="1.0"?><html><body>hello</body></html>\n')
    write(u, "unrecognised.bin", bytes(range(256)))
    write(u, "empty", b"")
    # Token mode (fuzz_unpack.cpp): 0x01, wrapper selector, then the bytes to wrap.
    write(u, "token-mode-gzip", bytes([0x01, 0x00]) + xml)
    write(u, "token-mode-mime-gzip", bytes([0x01, 0x01]) + xml)
    write(u, "token-mode-mime-raw", bytes([0x01, 0x02]) + zip_of([("r.xml", xml)]))
    write(u, "token-mode-gzip-gzip", bytes([0x01, 0x03]) + xml)


if __name__ == "__main__":
    aggregate_seeds()
    arf_seeds()
    unpack_seeds()
