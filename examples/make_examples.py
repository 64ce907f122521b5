#!/usr/bin/env python3
"""Generate the synthetic DMARC report samples in examples/reports/.

Run from anywhere:  python3 examples/make_examples.py

Writes (and first deletes) examples/reports/, then writes examples/README.md and
examples/expected.json, then re-reads everything it wrote and checks it:
every XML parses with xml.etree after unpacking, every e-mail parses with the
email package and its attachment decodes to the exact bytes that were put in,
and an independent content-sniffing walk over examples/reports/ arrives at the
same totals as expected.json.

Output is deterministic: fixed random seed, gzip mtime=0, fixed zip timestamps,
fixed MIME boundaries and dates.  Standard library only (Python 3.8+).

All data is synthetic.  Policy domains, vendors and mail hosts use reserved
names (RFC 2606 / RFC 6761: *.example, *.test), all source addresses come
from the documentation ranges 192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24
and 2001:db8::/32 (RFC 5737, RFC 3849).  Only the *reporting* organisations
(google.com, Outlook.com, Yahoo, Mail.Ru, GMX, WEB.DE, Fastmail, Amazon SES)
carry real names, because the point is to imitate what each of them sends.
"""

import base64
import calendar
import email
import email.utils
import gzip
import io
import json
import os
import quopri
import random
import re
import shutil
import time
import zipfile
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "reports")
README = os.path.join(HERE, "README.md")
EXPECTED = os.path.join(HERE, "expected.json")

RNG = random.Random(20261101)
RUA = "rua@dmarc.msp.example"          # where all four clients send their rua
MX = "mx1.msp.example"                 # the MSP's receiving MTA
NOV1 = calendar.timegm((2026, 11, 1, 0, 0, 0))   # 1793491200


def period(day):
    """Daily reporting period of 2026-11-<day>, UTC midnight to 23:59:59."""
    begin = NOV1 + (day - 1) * 86400
    return begin, begin + 86399


def rfc2822(t, tz_minutes=0):
    """RFC 5322 date for epoch t shown in a fixed zone."""
    lt = time.gmtime(t + tz_minutes * 60)
    sign = "+" if tz_minutes >= 0 else "-"
    hh, mm = divmod(abs(tz_minutes), 60)
    return time.strftime("%a, %d %b %Y %H:%M:%S", lt) + " %s%02d%02d" % (sign, hh, mm)


# --------------------------------------------------------------------------
# Published policies of the four fictional clients
# --------------------------------------------------------------------------

POLICY = {
    # staff mail on Google Workspace, transactional via a SendGrid-like ESP
    "acme.example": dict(adkim="r", aspf="r", p="quarantine", sp="quarantine",
                         np="reject", pct="100", fo="1"),
    # marketing subdomain with its own record, strict SPF alignment, monitoring
    "news.acme.example": dict(adkim="r", aspf="s", p="none", sp="none",
                              np="none", pct="100", fo="0"),
    # Microsoft 365 tenant, strict DKIM alignment, enforcing
    "globex.example": dict(adkim="s", aspf="r", p="reject", sp="reject",
                           np="reject", pct="100", fo="0"),
    # half-way roll-out: quarantine at pct=50 (so some rows are sampled_out)
    "initech.example": dict(adkim="r", aspf="r", p="quarantine", sp="none",
                            np="quarantine", pct="50", fo="0"),
}

# --------------------------------------------------------------------------
# Sending sources.  Each template: header_from, envelope_from, DKIM results
# [(d, selector, result)], SPF results [(domain, scope, result)], optional
# override (disposition, reason type, comment), count range.
# policy_evaluated is *computed* from these by DMARC alignment rules.
# --------------------------------------------------------------------------

SPOOF_ENVELOPES = ["promo-mailer.test", "vps-7731.test", "qwx-mail.test",
                   "bulk-sender.test", "mail-secure-login.test"]


def T(hf, ef, dkim, spf, lo, hi, override=None, nx=False):
    return dict(hf=hf, ef=ef, dkim=dkim, spf=spf, lo=lo, hi=hi,
                override=override, nx=nx)


TEMPLATES = {
    # ---- acme.example
    "acme_mx": T("acme.example", "acme.example", [("acme.example", "mx2026", "pass")],
                 [("acme.example", "mfrom", "pass")], 200, 1500),
    "acme_bounce_helo": T("acme.example", "", [("acme.example", "mx2026", "pass")],
                          [("mx1.acme.example", "helo", "pass")], 3, 40),
    "acme_billing": T("billing.acme.example", "billing.acme.example",
                      [("billing.acme.example", "mx2026", "pass")],
                      [("billing.acme.example", "mfrom", "pass")], 50, 300),
    "acme_gws": T("acme.example", "acme.example", [("acme.example", "google", "pass")],
                  [("acme.example", "mfrom", "pass")], 300, 2500),
    "acme_sendgrid": T("acme.example", "em4821.acme.example",
                       [("acme.example", "s1", "pass"), ("sendgrid.example", "smtpapi", "pass")],
                       [("em4821.acme.example", "mfrom", "pass")], 500, 4000),
    "acme_crm": T("acme.example", "bounces.crmvendor.example",
                  [("crmvendor.example", "crm1", "pass")],
                  [("bounces.crmvendor.example", "mfrom", "pass")], 20, 150),
    "acme_fwd": T("acme.example", "acme.example", [("acme.example", "google", "pass")],
                  [("acme.example", "mfrom", "fail")], 1, 25),
    "acme_list": T("acme.example", "lists.example",
                   [("lists.example", "lst-ed25519", "pass"), ("lists.example", "lst-rsa", "pass"),
                    ("acme.example", "google", "fail")],
                   [("lists.example", "mfrom", "pass")], 1, 12,
                   override=("none", "mailing_list", None)),
    "acme_arcfwd": T("acme.example", "acme.example", [("acme.example", "mx2026", "fail")],
                     [("acme.example", "mfrom", "softfail")], 1, 8,
                     override=("none", "forwarded", None)),
    "acme_nx_spoof": T("secure-login.acme.example", "secure-login.acme.example", [],
                       [("secure-login.acme.example", "mfrom", "none")], 1, 15, nx=True),
    # ---- news.acme.example
    "news_mailchimp": T("news.acme.example", "bounce.mcsv.example",
                        [("news.acme.example", "k1", "pass"), ("mcsv.example", "k2", "pass")],
                        [("bounce.mcsv.example", "mfrom", "pass")], 1000, 6000),
    "news_own": T("news.acme.example", "news.acme.example", [("acme.example", "mx2026", "pass")],
                  [("news.acme.example", "mfrom", "pass")], 50, 300),
    "news_misconf": T("news.acme.example", "bounce.news.acme.example", [],
                      [("bounce.news.acme.example", "mfrom", "pass")], 20, 200),
    "news_fwd": T("news.acme.example", "bounce.mcsv.example",
                  [("news.acme.example", "k1", "pass"), ("mcsv.example", "k2", "pass")],
                  [("bounce.mcsv.example", "mfrom", "fail")], 1, 20),
    # ---- globex.example
    "globex_m365": T("globex.example", "globex.example",
                     [("globex.example", "selector1", "pass"),
                      ("globex.onmicrosoft.example", "selector1-globex-example", "pass")],
                     [("globex.example", "mfrom", "pass")], 400, 3000),
    "globex_onprem": T("globex.example", "globex.example", [("globex.example", "onprem", "pass")],
                       [("globex.example", "mfrom", "pass")], 50, 400),
    "globex_mkt": T("globex.example", "mail.globex.example",
                    [("mail.globex.example", "mkt", "pass")],
                    [("mail.globex.example", "mfrom", "pass")], 100, 800),
    "globex_mailchimp": T("globex.example", "bounce.mcsv.example",
                          [("globex.example", "k1", "pass"), ("mcsv.example", "k2", "pass")],
                          [("bounce.mcsv.example", "mfrom", "pass")], 1000, 6000),
    "globex_payroll": T("globex.example", "mail.payroll-vendor.example",
                        [("payroll-vendor.example", "pv2026", "pass")],
                        [("mail.payroll-vendor.example", "mfrom", "pass")], 10, 80),
    "globex_fwd": T("globex.example", "globex.example", [("globex.example", "selector1", "pass")],
                    [("globex.example", "mfrom", "fail")], 1, 25),
    "globex_list": T("globex.example", "lists.example",
                     [("lists.example", "lst-rsa", "pass"), ("globex.example", "selector1", "fail")],
                     [("lists.example", "mfrom", "pass")], 1, 12,
                     override=("none", "mailing_list", None)),
    # ---- initech.example
    "initech_mx": T("initech.example", "initech.example", [("initech.example", "tps", "pass")],
                    [("initech.example", "mfrom", "pass")], 100, 900),
    "initech_gws": T("initech.example", "initech.example", [("initech.example", "google", "pass")],
                     [("initech.example", "mfrom", "pass")], 300, 2000),
    "initech_sendgrid": T("initech.example", "em77.initech.example",
                          [("initech.example", "s1", "pass"), ("sendgrid.example", "smtpapi", "pass")],
                          [("em77.initech.example", "mfrom", "pass")], 200, 1500),
    "initech_helpdesk": T("initech.example", "bounce.helpdesk.example",
                          [("helpdesk.example", "hd1", "pass")],
                          [("bounce.helpdesk.example", "mfrom", "pass")], 30, 200),
    "initech_helpdesk_sampled": T("initech.example", "bounce.helpdesk.example",
                                  [("helpdesk.example", "hd1", "pass")],
                                  [("bounce.helpdesk.example", "mfrom", "pass")], 30, 200,
                                  override=("none", "sampled_out", None)),
    "initech_printer": T("initech.example", "initech.example", [],
                         [("initech.example", "mfrom", "softfail")], 2, 30),
    "initech_printer_sampled": T("initech.example", "initech.example", [],
                                 [("initech.example", "mfrom", "softfail")], 2, 30,
                                 override=("none", "sampled_out", None)),
    "initech_fwd": T("initech.example", "initech.example", [("initech.example", "google", "pass")],
                     [("initech.example", "mfrom", "fail")], 1, 25),
}


def spoof_template(domain):
    """A spoofer forging From: <domain>; envelope and results vary (seeded)."""
    ef = RNG.choice([domain] + SPOOF_ENVELOPES)
    if ef == domain:
        spf = [(ef, "mfrom", RNG.choice(["fail", "fail", "softfail"]))]
    else:
        spf = [(ef, "mfrom", RNG.choice(["pass", "softfail", "none", "neutral"]))]
    dkim = [] if RNG.random() < 0.6 else [(domain, RNG.choice(["default", "s1", "mail"]), "fail")]
    return T(domain, ef, dkim, spf, 1, 40)


def org(d):
    return ".".join(d.lower().strip().split(".")[-2:])


def aligned(d, hf, mode):
    d, hf = d.lower().strip(), hf.lower().strip()
    return d == hf if mode == "s" else org(d) == org(hf)


# --------------------------------------------------------------------------
# Receivers: XML layout and quirks
# --------------------------------------------------------------------------

RECEIVERS = {
    "google": dict(org="google.com", email="noreply-dmarc-support@google.com",
                   extra="https://support.google.com/a/answer/2466580", scale=1.0,
                   fname="google.com"),
    "outlook": dict(org="Outlook.com", email="dmarcreport@microsoft.com", extra=None,
                    scale=0.7, fname="protection.outlook.com"),
    "yahoo": dict(org="Yahoo", email="dmarchelp@yahooinc.com", extra=None, scale=0.4,
                  fname="yahoo.com"),
    "mailru": dict(org="Mail.Ru", email="dmarc_support@corp.mail.ru",
                   extra="http://help.mail.ru/mail-help", scale=0.05, fname="mail.ru"),
    "gmx": dict(org="GMX", email="noreply-dmarc@sicher.gmx.net",
                extra="https://postmaster.gmx.net/en/case?c=r2002", scale=0.1, fname="gmx.net"),
    "webde": dict(org="WEB.DE", email="noreply-dmarc@sicher.web.de",
                  extra="https://postmaster.web.de/en/case?c=r2002", scale=0.1, fname="web.de"),
    "fastmail": dict(org="FastMail Pty Ltd", email="reports@fastmaildmarc.com",
                     extra="https://fastmail.com/", scale=0.05, fname="fastmail.com"),
    "ses": dict(org="AMAZON-SES", email="postmaster@amazonses.com", extra=None, scale=0.02,
                fname="amazonses.com"),
    "x9990": dict(org="Example Mail Cooperative", email="dmarc-reports@example.net",
                  extra="https://postmaster.example.net/dmarc", scale=0.1, fname="example.net"),
}

NS2 = "urn:ietf:params:xml:ns:dmarc-2.0"


class Style:
    def __init__(self, decl, indent="  ", eol="\n", trail="", final_eol=True,
                 encoding="utf-8", bom=False):
        self.decl, self.indent, self.eol, self.trail = decl, indent, eol, trail
        self.final_eol, self.encoding, self.bom = final_eol, encoding, bom


def E(tag, val, attrs=None):
    return (tag, val, attrs or {})


def esc(s):
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def ser_lines(node, st, level, out):
    tag, val, attrs = node
    ind = st.indent * level
    a = "".join(' %s="%s"' % (k, v) for k, v in attrs.items())
    if isinstance(val, list):
        out.append("%s<%s%s>" % (ind, tag, a))
        for child in val:
            ser_lines(child, st, level + 1, out)
        out.append("%s</%s>" % (ind, tag))
    else:
        out.append("%s<%s%s>%s</%s>" % (ind, tag, a, esc(val), tag))


def serialize(root, st):
    lines = []
    if st.decl:
        lines.append(st.decl)
    ser_lines(root, st, 0, lines)
    text = (st.trail + st.eol).join(lines) + st.trail
    if st.final_eol:
        text += st.eol
    data = text.encode(st.encoding)
    if st.bom:
        data = b"\xef\xbb\xbf" + data
    return data


def make_id(kind, begin, end):
    if kind == "google":
        return str(RNG.randrange(10 ** 18, 10 ** 19))
    if kind in ("outlook", "gmx", "webde"):
        return "%032x" % RNG.getrandbits(128)
    if kind == "yahoo":
        return "%d.%06d" % (end + 1 + RNG.randint(3600, 40000), RNG.randint(0, 999999))
    if kind == "mailru":
        return "%d%d" % (RNG.randrange(10 ** 18, 10 ** 19), begin)
    if kind == "fastmail":
        return str(RNG.randint(100000000, 999999999))
    if kind == "ses":
        return "%08x-%04x-4%03x-%04x-%012x" % (RNG.getrandbits(32), RNG.getrandbits(16),
                                               RNG.getrandbits(12), 0x8000 | RNG.getrandbits(14),
                                               RNG.getrandbits(48))
    if kind == "x9990":
        return "".join(RNG.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(25))
    raise KeyError(kind)


class Report:
    """One aggregate report: data, computed evaluation, rendered XML bytes."""

    def __init__(self, key, kind, domain, day, rows, quirks=(), rid_suffix=""):
        self.key, self.kind, self.domain, self.day = key, kind, domain, day
        self.rx = RECEIVERS[kind]
        self.pol = POLICY[domain]
        self.quirks = set(quirks)
        self.begin, self.end = period(day)
        self.rid = make_id(kind, self.begin, self.end) + rid_suffix
        self.records = [self._record(*r) for r in rows]
        seen = set()
        for r in self.records:
            k = (r["ip"], r["hf"], r["ef"], r.get("et"), tuple(r["dkim"]), tuple(r["spf"]),
                 r["disp"], r["pe_dkim"], r["pe_spf"])
            assert k not in seen, (key, k)
            seen.add(k)
        self.xml = serialize(*self.render())

    # -- data -------------------------------------------------------------
    def _record(self, tpl, ip, count=None, et=None):
        t = spoof_template(self.domain) if tpl == "spoof" else TEMPLATES[tpl]
        if count is None:
            count = RNG.randint(t["lo"], t["hi"])
            if t["hi"] > 50:
                count = max(1, int(count * self.rx["scale"]))
        hf = t["hf"]
        pe_dkim = "pass" if any(res == "pass" and aligned(d, hf, self.pol["adkim"])
                                for d, _s, res in t["dkim"]) else "fail"
        pe_spf = "pass" if any(res == "pass" and aligned(d, hf, self.pol["aspf"]) and
                               (scope == "mfrom" or (scope == "helo" and t["ef"] == ""))
                               for d, scope, res in t["spf"]) else "fail"
        reason = None
        if "pass" in (pe_dkim, pe_spf):
            disp = "pass" if (self.kind == "x9990" and self.pol["p"] != "none") else "none"
        elif t["override"]:
            disp, rtype, comment = t["override"]
            reason = (rtype, comment)
        elif t["nx"]:
            disp = self.pol["np"]
        elif hf == self.domain:
            disp = self.pol["p"]
        else:
            disp = self.pol["sp"]
        if reason and reason[0] == "forwarded" and self.kind in ("google", "x9990"):
            reason = ("local_policy", "arc=pass")   # how ARC-based overrides are labelled
        return dict(ip=ip, count=count, hf=hf, ef=t["ef"], et=et, dkim=list(t["dkim"]),
                    spf=list(t["spf"]), disp=disp, pe_dkim=pe_dkim, pe_spf=pe_spf,
                    reason=reason, tpl=tpl)

    def total(self):
        return sum(r["count"] for r in self.records)

    def passed(self):
        return sum(r["count"] for r in self.records if "pass" in (r["pe_dkim"], r["pe_spf"]))

    # -- rendering ----------------------------------------------------------
    def v(self, s):
        """Result value as written (one report capitalises 'pass')."""
        return s.capitalize() if ("Pass" in self.quirks and s == "pass") else s

    def date_range(self):
        end = str(self.end) + (" " if "ws" in self.quirks else "")
        return E("date_range", [E("begin", str(self.begin)), E("end", end)])

    def row(self, r):
        pe = [E("disposition", r["disp"]), E("dkim", self.v(r["pe_dkim"])),
              E("spf", self.v(r["pe_spf"]))]
        if r["reason"]:
            rtype, comment = r["reason"]
            rs = [E("type", rtype)]
            if comment is not None:
                rs.append(E("comment", comment))
            pe.append(E("reason", rs))
        count = str(r["count"])
        if "ws" in self.quirks and r is self.records[0]:
            count = " %s " % count
        return E("row", [E("source_ip", r["ip"]), E("count", count), E("policy_evaluated", pe)])

    def render(self):
        return getattr(self, "render_" + self.kind)()

    def meta(self, extra=True, generator=None):
        m = [E("org_name", self.rx["org"]), E("email", self.rx["email"])]
        if extra and self.rx["extra"]:
            m.append(E("extra_contact_info", self.rx["extra"]))
        m += [E("report_id", self.rid), self.date_range()]
        if generator:
            m.append(E("generator", generator))
        return E("report_metadata", m)

    def pp(self, *names):
        return E("policy_published", [E("domain", self.domain)] +
                 [E(n, self.pol[n]) for n in names])

    def render_google(self):
        recs = []
        for r in self.records:
            auth = [E("dkim", [E("domain", d), E("result", self.v(res)), E("selector", s)])
                    for d, s, res in r["dkim"]]
            auth += [E("spf", [E("domain", d), E("result", self.v(res))]) for d, _sc, res in r["spf"]]
            recs.append(E("record", [self.row(r), E("identifiers", [E("header_from", r["hf"])]),
                                     E("auth_results", auth)]))
        root = E("feedback", [self.meta(), self.pp("adkim", "aspf", "p", "sp", "pct", "np")] + recs)
        return root, Style('<?xml version="1.0" encoding="UTF-8" ?>')

    def render_outlook(self):
        ets = ["outlook.com", "hotmail.com", "live.com"]
        recs = []
        for i, r in enumerate(self.records):
            ids = [E("envelope_to", r["et"] or ets[i % 3]), E("envelope_from", r["ef"]),
                   E("header_from", r["hf"])]
            auth = [E("dkim", [E("domain", d), E("selector", s), E("result", self.v(res))])
                    for d, s, res in r["dkim"]]
            auth += [E("spf", [E("domain", d), E("scope", sc), E("result", self.v(res))])
                     for d, sc, res in r["spf"]]
            recs.append(E("record", [self.row(r), E("identifiers", ids), E("auth_results", auth)]))
        root = E("feedback", [E("version", "1.0"), self.meta(),
                              self.pp("adkim", "aspf", "p", "sp", "pct", "fo")] + recs,
                 {"xmlns:xsd": "http://www.w3.org/2001/XMLSchema",
                  "xmlns:xsi": "http://www.w3.org/2001/XMLSchema-instance"})
        return root, Style('<?xml version="1.0"?>', eol="\r\n", final_eol=False,
                           bom="bom" in self.quirks)

    def render_yahoo(self):
        recs = []
        for r in self.records:
            auth = [E("dkim", [E("domain", d), E("selector", s), E("result", self.v(res))])
                    for d, s, res in r["dkim"]]
            auth += [E("spf", [E("domain", d), E("result", self.v(res))]) for d, _sc, res in r["spf"]]
            recs.append(E("record", [self.row(r), E("identifiers", [E("header_from", r["hf"])]),
                                     E("auth_results", auth)]))
        root = E("feedback", [self.meta(), self.pp("adkim", "aspf", "p", "pct")] + recs)
        return root, Style('<?xml version="1.0"?>', trail="\t", final_eol=False)

    def render_mailru(self):
        recs = []
        for r in self.records:
            auth = [E("dkim", [E("domain", d), E("selector", s), E("result", self.v(res))])
                    for d, s, res in r["dkim"]]
            auth += [E("spf", [E("domain", d), E("scope", sc), E("result", self.v(res))])
                     for d, sc, res in r["spf"]]
            recs.append(E("record", [self.row(r), E("identifiers", [E("header_from", r["hf"])]),
                                     E("auth_results", auth)]))
        root = E("feedback", [self.meta(), self.pp("adkim", "aspf", "p", "sp", "pct")] + recs)
        return root, Style("<?xml version='1.0' encoding='utf-8'?>", indent="", eol="",
                           final_eol=False)

    def _gmx_like(self, eol, final_eol):
        recs = []
        for r in self.records:
            auth = [E("dkim", [E("domain", d), E("selector", s), E("result", self.v(res))])
                    for d, s, res in r["dkim"]]
            auth += [E("spf", [E("domain", d), E("scope", sc), E("result", self.v(res))])
                     for d, sc, res in r["spf"]]
            recs.append(E("record", [self.row(r),
                                     E("identifiers", [E("envelope_from", r["ef"]),
                                                       E("header_from", r["hf"])]),
                                     E("auth_results", auth)]))
        pol = E("policy_published", [E("domain", self.domain), E("discovery_method", "psl"),
                                     E("adkim", self.pol["adkim"]), E("aspf", self.pol["aspf"]),
                                     E("p", self.pol["p"]), E("sp", self.pol["sp"]),
                                     E("testing", "n")])
        latin1 = "latin1" in self.quirks
        if latin1:
            meta = E("report_metadata", [
                E("org_name", self.rx["org"]), E("email", self.rx["email"]),
                E("extra_contact_info", "GMX Schweiz Postmaster, Zürich - " + self.rx["extra"]),
                E("report_id", self.rid), self.date_range()])
        else:
            meta = self.meta()
        root = E("feedback", [E("version", "1.0"), meta, pol] + recs, {"xmlns": NS2})
        enc = "ISO-8859-1" if latin1 else "UTF-8"
        return root, Style('<?xml version="1.0" encoding="%s"?>' % enc, indent="   ", eol=eol,
                           final_eol=final_eol, encoding="iso-8859-1" if latin1 else "utf-8")

    def render_gmx(self):
        return self._gmx_like("\n", True)

    def render_webde(self):
        return self._gmx_like("\r\n", False)

    def render_fastmail(self):
        ets = ["fastmail.com", "messagingengine.com"]
        recs = []
        for i, r in enumerate(self.records):
            ids = [E("envelope_to", r["et"] or ets[i % 2]), E("envelope_from", r["ef"]),
                   E("header_from", r["hf"])]
            auth = [E("dkim", [E("domain", d), E("selector", s), E("result", self.v(res))])
                    for d, s, res in r["dkim"]]
            auth += [E("spf", [E("domain", d), E("scope", sc), E("result", self.v(res))])
                     for d, sc, res in r["spf"]]
            recs.append(E("record", [self.row(r), E("identifiers", ids), E("auth_results", auth)]))
        # Fastmail leaves adkim/aspf out of policy_published
        root = E("feedback", [E("version", "1.0"), self.meta(),
                              self.pp("p", "sp", "pct", "fo")] + recs)
        return root, Style('<?xml version="1.0"?>', indent="\t")

    def render_ses(self):
        recs = []
        for r in self.records:
            auth = [E("dkim", [E("domain", d), E("selector", s), E("result", self.v(res))])
                    for d, s, res in r["dkim"]]
            auth += [E("spf", [E("domain", d), E("result", self.v(res))]) for d, _sc, res in r["spf"]]
            recs.append(E("record", [self.row(r),
                                     E("identifiers", [E("envelope_from", r["ef"]),
                                                       E("header_from", r["hf"])]),
                                     E("auth_results", auth)]))
        root = E("feedback", [E("version", "0.1"), self.meta(),
                              self.pp("adkim", "aspf", "p", "sp", "pct", "fo")] + recs)
        return root, Style('<?xml version="1.0"?>', indent="\t", final_eol=False)

    def render_x9990(self):
        human = {"pass": "signature verified", "fail": "body hash did not verify"}
        spf_human = {"pass": "sender IP is authorized", "fail": "sender IP is not authorized",
                     "softfail": "sender IP is not authorized (~all)", "none": "no SPF record",
                     "neutral": "neutral (?all)"}
        recs = []
        for r in self.records:
            ids = [E("header_from", r["hf"])]
            if r["ef"]:
                ids.append(E("envelope_from", r["ef"]))
            ids.append(E("envelope_to", "example.net"))
            auth = []
            for d, s, res in r["dkim"]:
                auth.append(E("dkim", [E("domain", d), E("selector", s), E("result", res),
                                       E("human_result", human.get(res, res), {"lang": "en"})]))
            d, sc, res = r["spf"][0]           # at most one <spf>, scope only mfrom
            sp = [E("domain", d)] + ([E("scope", "mfrom")] if sc == "mfrom" else []) + \
                 [E("result", res), E("human_result", spf_human[res])]
            auth.append(E("spf", sp))
            row = self.row(r)
            if r["reason"] and r["reason"][1]:
                # comment carries a lang attribute in the 2.0 schema
                pe = row[1][2][1]
                reason = pe[-1]
                reason[1][1] = E("comment", reason[1][1][1], {"lang": "en"})
            items = [row, E("identifiers", ids), E("auth_results", auth)]
            if r["reason"]:
                items.append(E("ex:arc", [E("ex:chain", "pass"), E("ex:instances", "1"),
                                          E("ex:oldest_pass", "1")],
                               {"xmlns:ex": "https://dmarc-ext.example.net/arc/1"}))
            recs.append(E("record", items))
        meta = E("report_metadata", [
            E("org_name", self.rx["org"]), E("email", self.rx["email"]),
            E("extra_contact_info", self.rx["extra"], {"lang": "en"}),
            E("report_id", self.rid), self.date_range(),
            E("generator", "ExampleMTA DMARC Reporter 3.2.1")])
        pol = E("policy_published", [E("domain", self.domain), E("p", self.pol["p"]),
                                     E("sp", self.pol["sp"]), E("np", self.pol["np"]),
                                     E("adkim", self.pol["adkim"]), E("aspf", self.pol["aspf"]),
                                     E("discovery_method", "treewalk"), E("fo", self.pol["fo"]),
                                     E("testing", "n")])
        ext = E("extension", [E("ex:reporter", [E("ex:instance", "mta-eu-3"),
                                                E("ex:sampling", "none")],
                                {"xmlns:ex": "https://dmarc-ext.example.net/reporter/1"})])
        root = E("feedback", [E("version", "1.0"), meta, pol, ext] + recs, {"xmlns": NS2})
        return root, Style('<?xml version="1.0" encoding="UTF-8"?>')


# --------------------------------------------------------------------------
# Containers
# --------------------------------------------------------------------------

def gz(data):
    return gzip.compress(data, compresslevel=9, mtime=0)


def zipped(entry_name, data, day):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        zi = zipfile.ZipInfo(entry_name, date_time=(2026, 11, day, 23, 59, 58))
        zi.compress_type = zipfile.ZIP_DEFLATED
        zi.external_attr = 0o644 << 16
        z.writestr(zi, data)
    return buf.getvalue()


def b64(data, width=76):
    s = base64.b64encode(data).decode("ascii")
    return "\n".join(s[i:i + width] for i in range(0, len(s), width))


def fname(rep, ext, uid=None):
    parts = [rep.rx["fname"], rep.domain, str(rep.begin), str(rep.end)]
    if uid:
        parts.append(uid)
    return "!".join(parts) + "." + ext


def boundary(prefix, n=24):
    return prefix + "".join(RNG.choice("0123456789abcdef") for _ in range(n))


def sent_time(rep, hours):
    return rep.end + 1 + hours * 3600 + RNG.randint(0, 3599)


def trace(sender_host, sender_ip, env_from, t, hdr_d, from_d=None):
    """Headers the MSP's MTA added on delivery (hdr_d: DKIM d=, from_d: From domain)."""
    qid = "".join(RNG.choice("0123456789BCDFGHJKLMNPQRSTVWXZbcdfghjklmnpqrstvwxz") for _ in range(12))
    return [
        "Return-Path: <%s>" % env_from,
        "Delivered-To: %s" % RUA,
        "Received: from %s (%s [%s])\n\t(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits))"
        "\n\tby %s (Postfix) with ESMTPS id 4%s\n\tfor <%s>; %s (UTC)"
        % (sender_host, sender_host, sender_ip, MX, qid, RUA, rfc2822(t + 3)),
        "Authentication-Results: %s;\n\tdkim=pass header.d=%s;\n\tspf=pass smtp.mailfrom=%s;"
        "\n\tdmarc=pass header.from=%s"
        % (MX, hdr_d, env_from.split("@")[-1], from_d or hdr_d),
    ]


ATTACHED = {}   # path-in-reports (or "mbox#i"/maildir path) -> expected attachment payload bytes


def msg_google(rep, payload, name):
    t = sent_time(rep, 8)
    h = trace("mail-sor-f%d.google.com" % RNG.randint(40, 99), "192.0.2.%d" % RNG.randint(200, 220),
              "%d@scoutcamp.bounces.google.com" % RNG.randrange(10 ** 9), t, "google.com")
    h += ["MIME-Version: 1.0",
          "Date: " + rfc2822(t, -480),
          "Message-ID: <%s@google.com>" % rep.rid,
          # Google writes "Report domain:" with a lower-case d
          "Subject: Report domain: %s Submitter: google.com Report-ID: %s" % (rep.domain, rep.rid),
          "From: noreply-dmarc-support@google.com",
          "To: " + RUA,
          'Content-Type: application/zip; \n\tname="%s"' % name,
          'Content-Disposition: attachment; \n\tfilename="%s"' % name,
          "Content-Transfer-Encoding: base64"]
    # the whole message *is* the attachment: no multipart
    return ("\n".join(h) + "\n\n" + b64(payload) + "\n").encode("ascii")


def msg_outlook(rep, payload, name, nested_attachment):
    """Microsoft layout: mixed > related > alternative(text, html) + gzip.
    nested_attachment=True puts the gzip inside multipart/related."""
    t = sent_time(rep, 3)
    tag = "%032x" % RNG.getrandbits(128)
    b_mixed = "_mpm_%sprod5m200exchangecorpm_" % tag
    b_rel = "_rv_%sprod5m200exchangecorpm_" % tag
    b_alt = "_av_%sprod5m200exchangecorpm_" % tag
    subj = "Report Domain: %s Submitter: protection.outlook.com Report-ID: %s" % (rep.domain, rep.rid)
    subj = "=?utf-8?B?%s?=" % base64.b64encode(subj.encode()).decode()
    sd = rfc2822(t)
    text = ("This is a DMARC aggregate report from Microsoft Corporation. For Emails received "
            "between %s UTC to %s UTC." % (time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(rep.begin)),
                                           time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(rep.end))))
    html = ('<div style ="font-family:Segoe UI; font-size:14px;">%s</ div><br /><br />'
            "You're receiving this email because you have included your email address in the "
            "'rua' tag of your DMARC record in DNS for %s.</ div>" % (text, rep.domain))
    h = trace("mail-eopbgr%d.outbound.protection.outlook.com" % RNG.randint(100, 999),
              "192.0.2.%d" % RNG.randint(221, 235), "dmarcreport@microsoft.com", t,
              "notification.microsoft.com", "microsoft.com")
    h += ["From: DMARC Aggregate Report <dmarcreport@microsoft.com>",
          "To: <%s>" % RUA,
          "Subject: " + subj,
          "Thread-Topic: " + subj,
          "Message-ID: <%s@%s.prod.outlook.com>" % (tag[:24], "DM6PR" + tag[24:30].upper()),
          'Content-Type: multipart/mixed;\n\tboundary="%s"' % b_mixed,
          "Date: " + sd,
          "MIME-Version: 1.0",
          "X-MS-Exchange-Organization-AuthAs: Internal",
          "X-OriginatorOrg: dmarcrep.onmicrosoft.com"]
    att = ["Content-Type: application/gzip",
           "Content-Transfer-Encoding: base64",
           "Content-ID: <%08x-%04x-%04x-%04x-%012x>" % (RNG.getrandbits(32), RNG.getrandbits(16),
                                                        RNG.getrandbits(16), RNG.getrandbits(16),
                                                        RNG.getrandbits(48)),
           "Content-Description: " + name,
           'Content-Disposition: attachment; filename="%s";' % name,
           "", b64(payload)]
    body = ["This is a multi-part message in MIME format.", "",
            "--" + b_mixed,
            'Content-Type: multipart/related;\n\tboundary="%s"' % b_rel, "",
            "--" + b_rel,
            'Content-Type: multipart/alternative;\n\tboundary="%s"' % b_alt, "",
            "--" + b_alt,
            "Content-Type: text/plain; charset=us-ascii",
            "Content-Transfer-Encoding: 7bit", "", text, "",
            "--" + b_alt,
            "Content-Type: text/html; charset=us-ascii",
            "Content-Transfer-Encoding: base64", "", b64(html.encode("ascii")), "",
            "--" + b_alt + "--", ""]
    if nested_attachment:
        body += ["--" + b_rel] + att + ["", "--" + b_rel + "--", "", "--" + b_mixed + "--", ""]
    else:
        body += ["--" + b_rel + "--", "", "--" + b_mixed] + att + ["", "--" + b_mixed + "--", ""]
    return "\r\n".join(("\n".join(h) + "\n\n" + "\n".join(body)).split("\n")).encode("ascii")


def msg_multipart(rep, payload, name, *, sender_host, from_hdr, env_from, hdr_d, subject,
                  text, ctype, cte="base64", quote_name=True, charset=None, extra_headers=(),
                  bprefix="----=_Part_", tz=0, text_cte="7bit"):
    """A plain multipart/mixed report mail: text/plain + one attachment."""
    t = sent_time(rep, RNG.randint(1, 9))
    b = boundary(bprefix)
    q = (lambda s: '"%s"' % s) if quote_name else (lambda s: s)
    h = trace(sender_host, "192.0.2.%d" % RNG.randint(236, 250), env_from, t, hdr_d)
    h += ["From: " + from_hdr, "To: " + RUA, "Subject: " + subject,
          "Date: " + rfc2822(t, tz),
          "Message-ID: <%s.%d@%s>" % ("%016x" % RNG.getrandbits(64), t, sender_host),
          "MIME-Version: 1.0"] + list(extra_headers) + \
         ['Content-Type: multipart/mixed;\n\tboundary="%s"' % b]
    if text_cte == "base64":
        text_part = ['Content-Type: text/plain; charset="utf-8"', "Content-Transfer-Encoding: base64",
                     "", b64(text.encode())]
    else:
        text_part = ["Content-Type: text/plain; charset=us-ascii", "Content-Transfer-Encoding: 7bit",
                     "", text]
    ct = ctype + (("; charset=%s" % charset) if charset else "") + ";\n\tname=" + q(name)
    if cte == "base64":
        enc = b64(payload)
    elif cte == "quoted-printable":
        enc = quopri.encodestring(payload).decode("ascii").rstrip("\n")
    else:
        raise ValueError(cte)
    body = ["This is a multi-part message in MIME format.", "", "--" + b] + text_part + \
           ["", "--" + b, "Content-Type: " + ct, "Content-Transfer-Encoding: " + cte,
            "Content-Disposition: attachment;\n\tfilename=" + q(name), "", enc, "", "--" + b + "--", ""]
    return ("\n".join(h) + "\n\n" + "\n".join(body)).encode("ascii")


def msg_yahoo(rep, payload, name):
    return msg_multipart(
        rep, payload, name, sender_host="sonic%d-%d.consmr.mail.gq1.yahoo.com" % (RNG.randint(300, 330), RNG.randint(1, 9)),
        from_hdr="Yahoo DMARC <noreply@dmarc.yahoo.com>", env_from="noreply@dmarc.yahoo.com",
        hdr_d="yahoo.com",
        subject="Report Domain: %s Submitter: Yahoo Report-ID: <%s>" % (rep.domain, rep.rid),
        text="This is an aggregate report from Yahoo Inc.", ctype="application/gzip",
        bprefix="----=_Part_%d_" % RNG.randint(10 ** 6, 10 ** 7), tz=0)


def msg_mailru(rep, payload, name):
    return msg_multipart(
        rep, payload, name, sender_host="relay%d.m.smailru.net" % RNG.randint(1, 9),
        from_hdr="dmarc_support@corp.mail.ru", env_from="dmarc_support@corp.mail.ru",
        hdr_d="corp.mail.ru",
        subject="Report Domain: %s; Submitter: Mail.Ru;\n Report-ID: %s" % (rep.domain, rep.rid),
        text="This is an aggregate report from Mail.Ru.", ctype="application/gzip",
        extra_headers=["Auto-Submitted: auto-generated"], text_cte="base64",
        bprefix="===============%d==" % RNG.randint(10 ** 18, 10 ** 19), tz=180)


def msg_gmx(rep, payload, name, ctype, cte="base64", charset=None):
    return msg_multipart(
        rep, payload, name, sender_host="mout-dmarc.gmx.net",
        from_hdr="GMX DMARC Report <noreply-dmarc@sicher.gmx.net>",
        env_from="noreply-dmarc@sicher.gmx.net", hdr_d="sicher.gmx.net",
        subject="Report Domain: %s Submitter: gmx.net Report-ID: <%s@gmx.net>" % (rep.domain, rep.rid),
        text="This is a DMARC aggregate report for %s from GMX." % rep.domain,
        ctype=ctype, cte=cte, charset=charset, bprefix="--=_mout-", tz=60)


def msg_webde(rep, payload, name):
    return msg_multipart(
        rep, payload, name, sender_host="mout-dmarc.web.de",
        from_hdr="WEB.DE DMARC Report <noreply-dmarc@sicher.web.de>",
        env_from="noreply-dmarc@sicher.web.de", hdr_d="sicher.web.de",
        subject="Report Domain: %s Submitter: web.de Report-ID: <%s@web.de>" % (rep.domain, rep.rid),
        text="This is a DMARC aggregate report for %s from WEB.DE." % rep.domain,
        ctype="application/gzip", bprefix="--=_mout-", tz=60)


def msg_fastmail(rep, payload, name):
    return msg_multipart(
        rep, payload, name, sender_host="out%d-smtp.messagingengine.com" % RNG.randint(1, 9),
        from_hdr="DMARC Aggregate Report <reports@fastmaildmarc.com>",
        env_from="reports@fastmaildmarc.com", hdr_d="fastmaildmarc.com",
        subject="Report Domain: %s Submitter: fastmail.com Report-ID: %s" % (rep.domain, rep.rid),
        text="DMARC aggregate report for %s from FastMail Pty Ltd." % rep.domain,
        ctype="application/gzip", bprefix="_----------=_", tz=660)


def msg_ses(rep, payload, name):
    day = time.strftime("%Y-%m-%d", time.gmtime(rep.begin))
    return msg_multipart(
        rep, payload, name, sender_host="a%d-%d.smtp-out.amazonses.com" % (RNG.randint(10, 99), RNG.randint(1, 99)),
        from_hdr="postmaster@amazonses.com", env_from="postmaster@amazonses.com", hdr_d="amazonses.com",
        subject="Dmarc Aggregate Report Domain: {%s}  Submitter: {Amazon SES}\n  Date: {%s}  Report-ID: {%s}"
                % (rep.domain, day, rep.rid),
        text="This MIME email was sent through Amazon SES.", ctype="application/octet-stream",
        quote_name=False, bprefix="----=_Part_%d_%d." % (RNG.randint(10000, 99999), RNG.randint(10 ** 8, 10 ** 9)))


def msg_x9990(rep, payload, name):
    return msg_multipart(
        rep, payload, name, sender_host="dmarc-out.example.net",
        from_hdr="Example Mail Cooperative DMARC <dmarc-reports@example.net>",
        env_from="dmarc-reports@example.net", hdr_d="example.net",
        subject="Report Domain: %s Submitter: example.net Report-ID: <%s>" % (rep.domain, rep.rid),
        text="DMARC aggregate report (RFC 9990) for %s, generated by ExampleMTA." % rep.domain,
        ctype="application/gzip", bprefix="=_rpt_")


# --------------------------------------------------------------------------
# Failure reports (RFC 9991 / RFC 6591 / RFC 5965)
# --------------------------------------------------------------------------

def failure_acme():
    """Spoofed payroll phish for acme.example, quarantined; full message/rfc822."""
    arrival = NOV1 + 4 * 86400 + 9 * 3600 + 17 * 60 + 42       # 2026-11-05 09:17:42 UTC
    sent = arrival + 97
    b = "box.mailhost.example.org:7C1E04A2F9"
    orig = "\n".join([
        "Authentication-Results: mx.mailhost.example.org;",
        "\tdkim=none (message not signed);",
        "\tspf=fail smtp.mailfrom=acme.example;",
        "\tdmarc=fail (p=quarantine dis=quarantine) header.from=acme.example",
        "Received: from vps-7731.test (unknown [203.0.113.213])",
        "\tby mx.mailhost.example.org (Postfix) with ESMTP id 7C1E04A2F9",
        "\tfor <j.smith@mailhost.example.org>; %s (UTC)" % rfc2822(arrival),
        'From: "ACME Payroll" <payroll@acme.example>',
        "To: j.smith@mailhost.example.org",
        "Subject: Action required: confirm your direct deposit details",
        "Date: %s" % rfc2822(arrival - 60, -300),
        "Message-ID: <9f3a1c27e0b54d@vps-7731.test>",
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=us-ascii",
        "",
        "Dear employee,",
        "",
        "please confirm your direct deposit details before Friday using the",
        "link below, or your November salary will be delayed.",
        "",
        "  http://acme-payroll.test/confirm",
        "",
        "ACME Payroll Department",
        ""])
    lines = [
        "Return-Path: <opendmarc@mailhost.example.org>",
        "Delivered-To: ruf@dmarc.msp.example",
        "Received: from box.mailhost.example.org (box.mailhost.example.org [192.0.2.241])",
        "\tby %s (Postfix) with ESMTPS id 4R2mK81qvPz1x" % MX,
        "\tfor <ruf@dmarc.msp.example>; %s (UTC)" % rfc2822(sent + 2),
        "From: OpenDMARC Filter <opendmarc@mailhost.example.org>",
        "To: ruf@dmarc.msp.example",
        "Date: %s (UTC)" % rfc2822(sent),
        "Subject: FW: Action required: confirm your direct deposit details",
        "MIME-Version: 1.0",
        "Content-Type: multipart/report;\n\treport-type=feedback-report;\n\tboundary=\"%s\"" % b,
        "Message-Id: <20261105091919.7C1E04A2F9@box.mailhost.example.org>",
        "",
        "--" + b,
        "Content-Type: text/plain",
        "",
        "This is an authentication failure report for an email message received from IP",
        "203.0.113.213 on %s (UTC)." % rfc2822(arrival),
        "",
        "--" + b,
        "Content-Type: message/feedback-report",
        "",
        "Feedback-Type: auth-failure",
        "Version: 1",
        "User-Agent: OpenDMARC-Filter/1.4.2",
        "Auth-Failure: dmarc",
        "Authentication-Results: mx.mailhost.example.org; dmarc=fail header.from=acme.example",
        "Identity-Alignment: none",
        "Original-Envelope-Id: 7C1E04A2F9",
        "Original-Mail-From: payroll@acme.example",
        "Original-Rcpt-To: j.smith@mailhost.example.org",
        "Arrival-Date: %s" % rfc2822(arrival),
        "Source-IP: 203.0.113.213 (vps-7731.test)",
        "Reported-Domain: acme.example",
        "Delivery-Result: spam",
        "",
        "--" + b,
        "Content-Type: message/rfc822",
        "Content-Disposition: inline",
        "",
        orig,
        "--" + b + "--",
        ""]
    return "\n".join(lines).encode("ascii")


def failure_globex():
    """Payroll vendor signing with its own d= for globex.example, rejected;
    text/rfc822-headers only.  Lives in Maildir/new/."""
    arrival = NOV1 + 3 * 86400 + 14 * 3600 + 2 * 60 + 11      # 2026-11-04 14:02:11 UTC
    sent = arrival + 305
    b = "=_ruf_4c0f2e9a71d8b356"
    hdrs = "\n".join([
        "Received: from out-7.payroll-vendor.example (out-7.payroll-vendor.example [198.51.100.160])",
        "\tby mx.example.com with ESMTPS id 2b9d41f0c7",
        "\tfor <a.ramos@example.com>; %s" % rfc2822(arrival),
        "DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=payroll-vendor.example;",
        "\ts=pv2026; t=%d; h=from:to:subject:date:message-id;" % (arrival - 4),
        "\tbh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;",
        "\tb=Yq0cV1kqW0rX3d6g5hT2mZ8nB4sL7pF9aE1jK3uR6wC0vN5yH2xD8tG4bQ7zM1kP",
        'From: "Globex Payroll" <payroll@globex.example>',
        "To: a.ramos@example.com",
        "Subject: Your payslip for October 2026 is ready",
        "Date: %s" % rfc2822(arrival - 5),
        "Message-ID: <ps-20261104-558214@payroll-vendor.example>",
        "MIME-Version: 1.0",
        "Content-Type: text/html; charset=utf-8",
        ""])
    lines = [
        "Return-Path: <dmarc-noreply@example.com>",
        "Delivered-To: ruf@dmarc.msp.example",
        "Received: from mx-out.example.com (mx-out.example.com [192.0.2.242])",
        "\tby %s (Postfix) with ESMTPS id 4R2kB03TgHz7q" % MX,
        "\tfor <ruf@dmarc.msp.example>; %s (UTC)" % rfc2822(sent + 1),
        "From: DMARC Failure Reports <dmarc-noreply@example.com>",
        "To: ruf@dmarc.msp.example",
        "Subject: DMARC Failure Report for globex.example (mail-from=payroll@globex.example, ip=198.51.100.160)",
        "Date: %s" % rfc2822(sent, 60),
        "Message-ID: <ruf.1f7c2a9e@example.com>",
        "Auto-Submitted: auto-generated",
        "MIME-Version: 1.0",
        "Content-Type: multipart/report; report-type=feedback-report;\n\tboundary=\"%s\"" % b,
        "",
        "This is a MIME-formatted message.",
        "",
        "--" + b,
        "Content-Type: text/plain; charset=utf-8",
        "Content-Transfer-Encoding: 7bit",
        "",
        "This is a DMARC failure report for a message that claimed to be from",
        "globex.example. It was received from 198.51.100.160 and rejected because",
        "neither SPF nor DKIM produced an aligned pass.",
        "",
        "--" + b,
        "Content-Type: message/feedback-report",
        "",
        "Feedback-Type: auth-failure",
        "User-Agent: ExampleMX-ruf/2.1",
        "Version: 1",
        "Original-Mail-From: <bounce-558214@mail.payroll-vendor.example>",
        "Original-Rcpt-To: <a.ramos@example.com>",
        "Arrival-Date: %s" % rfc2822(arrival),
        "Source-IP: 198.51.100.160",
        "Reported-Domain: globex.example",
        "Auth-Failure: dmarc",
        "Identity-Alignment: none",
        "DKIM-Domain: payroll-vendor.example",
        "DKIM-Selector: pv2026",
        "Delivery-Result: reject",
        "Authentication-Results: mx.example.com; dkim=pass header.d=payroll-vendor.example",
        " header.s=pv2026; spf=pass smtp.mailfrom=mail.payroll-vendor.example;",
        " dmarc=fail (p=reject) header.from=globex.example",
        "",
        "--" + b,
        "Content-Type: text/rfc822-headers",
        "",
        hdrs,
        "--" + b + "--",
        ""]
    return "\n".join(lines).encode("ascii")


# --------------------------------------------------------------------------
# The sample set
# --------------------------------------------------------------------------

def spoofs(n, v6=False):
    ips = RNG.sample(range(200, 255), n)
    rows = [("spoof", "203.0.113.%d" % i) for i in ips]
    if v6:
        rows.append(("spoof", "2001:db8:bad:%x::%x" % (RNG.randint(1, 0xfff), RNG.randint(1, 0xff))))
    return rows


def build():
    R = Report
    reps = {}

    def add(key, kind, domain, day, rows, quirks=(), rid_suffix=""):
        reps[key] = R(key, kind, domain, day, rows, quirks, rid_suffix)

    # ---- Google ---------------------------------------------------------
    add("google-acme-1", "google", "acme.example", 1, [
        ("acme_mx", "192.0.2.25"), ("acme_mx", "2001:db8:25::25"), ("acme_gws", "198.51.100.10"),
        ("acme_gws", "198.51.100.11"), ("acme_sendgrid", "198.51.100.40"),
        ("acme_crm", "198.51.100.77"), ("acme_fwd", "203.0.113.45"), ("acme_list", "203.0.113.60"),
        ("acme_arcfwd", "203.0.113.61"), ("acme_nx_spoof", "203.0.113.199")] + spoofs(3, True))
    add("google-acme-2", "google", "acme.example", 2, [
        ("acme_mx", "192.0.2.25"), ("acme_mx", "192.0.2.26"), ("acme_gws", "198.51.100.10"),
        ("acme_gws", "198.51.100.12"), ("acme_sendgrid", "198.51.100.40"),
        ("acme_sendgrid", "198.51.100.41"), ("acme_billing", "192.0.2.25"),
        ("acme_crm", "198.51.100.77"), ("acme_fwd", "203.0.113.46")] + spoofs(2))
    add("google-acme-3", "google", "acme.example", 3, [
        ("acme_mx", "192.0.2.25"), ("acme_mx", "2001:db8:25::25"), ("acme_gws", "198.51.100.11"),
        ("acme_sendgrid", "198.51.100.40"), ("acme_crm", "198.51.100.77"),
        ("acme_list", "203.0.113.60")] + spoofs(2))
    add("google-globex-1", "google", "globex.example", 1, [
        ("globex_m365", "198.51.100.130"), ("globex_m365", "198.51.100.131"),
        ("globex_m365", "2001:db8:a::15"), ("globex_onprem", "203.0.113.10"),
        ("globex_mkt", "203.0.113.11"), ("globex_mailchimp", "198.51.100.150"),
        ("globex_payroll", "198.51.100.160"), ("globex_fwd", "203.0.113.70")] + spoofs(3))
    add("google-globex-3", "google", "globex.example", 3, [
        ("globex_m365", "198.51.100.130"), ("globex_m365", "198.51.100.132"),
        ("globex_onprem", "2001:db8:c0::10"), ("globex_mailchimp", "198.51.100.151"),
        ("globex_payroll", "198.51.100.160"), ("globex_list", "203.0.113.60")] + spoofs(2, True))
    add("google-initech-2", "google", "initech.example", 2, [
        ("initech_mx", "192.0.2.80"), ("initech_gws", "198.51.100.12"),
        ("initech_gws", "198.51.100.13"), ("initech_sendgrid", "198.51.100.41"),
        ("initech_helpdesk", "198.51.100.90"), ("initech_helpdesk_sampled", "198.51.100.90"),
        ("initech_printer", "192.0.2.130"), ("initech_printer_sampled", "192.0.2.130"),
        ("initech_fwd", "203.0.113.45")] + spoofs(2))
    add("google-news-2", "google", "news.acme.example", 2, [
        ("news_mailchimp", "198.51.100.150"), ("news_mailchimp", "198.51.100.152"),
        ("news_own", "192.0.2.27"), ("news_misconf", "192.0.2.28"), ("news_fwd", "203.0.113.46")]
        + spoofs(1))

    # ---- Outlook.com / Microsoft ----------------------------------------
    add("outlook-acme-1", "outlook", "acme.example", 1, [
        ("acme_mx", "192.0.2.25", None, "outlook.com"), ("acme_mx", "192.0.2.25", None, "hotmail.com"),
        ("acme_mx", "2001:DB8:25::25"), ("acme_bounce_helo", "192.0.2.25", None, "outlook.com"),
        ("acme_gws", "198.51.100.10"), ("acme_sendgrid", "198.51.100.40"),
        ("acme_crm", "198.51.100.77"), ("acme_list", "203.0.113.60"), ("acme_arcfwd", "203.0.113.61")]
        + spoofs(2))
    add("outlook-acme-2", "outlook", "acme.example", 2, [
        ("acme_mx", "192.0.2.26"), ("acme_gws", "198.51.100.11"), ("acme_gws", "198.51.100.12"),
        ("acme_sendgrid", "198.51.100.41"), ("acme_billing", "192.0.2.25"),
        ("acme_fwd", "203.0.113.45")] + spoofs(2))
    add("outlook-globex-1", "outlook", "globex.example", 1, [
        ("globex_m365", "198.51.100.130", None, "outlook.com"),
        ("globex_m365", "198.51.100.130", None, "hotmail.com"),
        ("globex_m365", "2001:DB8:A::15"), ("globex_onprem", "203.0.113.10"),
        ("globex_mkt", "203.0.113.11"), ("globex_mailchimp", "198.51.100.150"),
        ("globex_payroll", "198.51.100.160")] + spoofs(2), quirks=["bom"])
    add("outlook-initech-2", "outlook", "initech.example", 2, [
        ("initech_mx", "192.0.2.80"), ("initech_mx", "2001:DB8:1:2::80"),
        ("initech_gws", "198.51.100.12"), ("initech_sendgrid", "198.51.100.41"),
        ("initech_helpdesk", "198.51.100.91"), ("initech_helpdesk_sampled", "198.51.100.91"),
        ("initech_fwd", "203.0.113.45")] + spoofs(1))
    add("outlook-news-3", "outlook", "news.acme.example", 3, [
        ("news_mailchimp", "198.51.100.150"), ("news_own", "192.0.2.27"),
        ("news_misconf", "192.0.2.28")] + spoofs(1))

    # ---- Yahoo ----------------------------------------------------------
    add("yahoo-acme-1", "yahoo", "acme.example", 1, [
        ("acme_mx", "192.0.2.25"), ("acme_gws", "198.51.100.10"), ("acme_sendgrid", "198.51.100.40"),
        ("acme_crm", "198.51.100.77"), ("acme_fwd", "203.0.113.46")] + spoofs(2))
    add("yahoo-acme-3", "yahoo", "acme.example", 3, [
        ("acme_mx", "2001:db8:25:0:0:0:0:25"), ("acme_gws", "198.51.100.12"),
        ("acme_sendgrid", "198.51.100.41"), ("acme_list", "203.0.113.60")] + spoofs(1))
    add("yahoo-globex-2", "yahoo", "globex.example", 2, [
        ("globex_m365", "198.51.100.131"), ("globex_onprem", "203.0.113.10"),
        ("globex_mailchimp", "198.51.100.151"), ("globex_payroll", "198.51.100.160"),
        ("globex_fwd", "203.0.113.70")] + spoofs(2))
    add("yahoo-initech-3", "yahoo", "initech.example", 3, [
        ("initech_mx", "192.0.2.80"), ("initech_gws", "198.51.100.13"),
        ("initech_helpdesk", "198.51.100.90"), ("initech_printer_sampled", "192.0.2.130")] + spoofs(1))
    add("yahoo-news-1", "yahoo", "news.acme.example", 1, [
        ("news_mailchimp", "198.51.100.152"), ("news_own", "192.0.2.27"),
        ("news_misconf", "192.0.2.28")] + spoofs(1))

    # ---- Mail.Ru --------------------------------------------------------
    add("mailru-acme-2", "mailru", "acme.example", 2, [
        ("acme_gws", "198.51.100.10"), ("acme_sendgrid", "198.51.100.40")] + spoofs(2))
    add("mailru-globex-3", "mailru", "globex.example", 3, [
        ("globex_m365", "198.51.100.132"), ("globex_mailchimp", "198.51.100.150")] + spoofs(1))

    # ---- GMX / WEB.DE (RFC 9990 namespace) --------------------------------
    add("gmx-acme-2", "gmx", "acme.example", 2, [
        ("acme_mx", "192.0.2.25"), ("acme_gws", "198.51.100.11"), ("acme_sendgrid", "198.51.100.40"),
        ("acme_fwd", "203.0.113.45")] + spoofs(1))
    add("gmx-initech-3", "gmx", "initech.example", 3, [
        ("initech_mx", "2001:db8:1:2::80"), ("initech_gws", "198.51.100.12"),
        ("initech_helpdesk", "198.51.100.90")] + spoofs(1), quirks=["latin1"])
    add("gmx-globex-4", "gmx", "globex.example", 4, [
        ("globex_m365", "198.51.100.130"), ("globex_mailchimp", "198.51.100.151"),
        ("globex_payroll", "198.51.100.160")] + spoofs(1))
    add("webde-globex-1", "webde", "globex.example", 1, [
        ("globex_m365", "198.51.100.131"), ("globex_onprem", "203.0.113.10"),
        ("globex_mkt", "203.0.113.11"), ("globex_list", "203.0.113.60")] + spoofs(1))
    add("webde-news-4", "webde", "news.acme.example", 4, [
        ("news_mailchimp", "198.51.100.150"), ("news_fwd", "203.0.113.46")] + spoofs(1))

    # ---- Fastmail -------------------------------------------------------
    add("fastmail-acme-3", "fastmail", "acme.example", 3, [
        ("acme_mx", "::ffff:198.51.100.7"), ("acme_mx", "2001:0db8:0025:0000:0000:0000:0000:0025"),
        ("acme_gws", "198.51.100.10"), ("acme_crm", "198.51.100.77", 0),
        ("acme_list", "203.0.113.60")] + spoofs(1))
    add("fastmail-initech-1", "fastmail", "initech.example", 1, [
        ("initech_mx", "192.0.2.80"), ("initech_gws", "198.51.100.13"),
        ("initech_printer", "192.0.2.130"), ("initech_fwd", "203.0.113.45")] + spoofs(1),
        quirks=["ws"])

    # ---- Amazon SES -----------------------------------------------------
    add("ses-globex-2", "ses", "globex.example", 2, [
        ("globex_m365", "198.51.100.130"), ("globex_payroll", "198.51.100.160")] + spoofs(1))
    add("ses-acme-4", "ses", "acme.example", 4, [
        ("acme_gws", "198.51.100.11"), ("acme_sendgrid", "198.51.100.40"),
        ("acme_crm", "198.51.100.77")] + spoofs(1), quirks=["Pass"])

    # ---- RFC 9990 generator ---------------------------------------------
    add("x9990-acme-3", "x9990", "acme.example", 3, [
        ("acme_mx", "192.0.2.25"), ("acme_gws", "198.51.100.10"), ("acme_sendgrid", "198.51.100.40"),
        ("acme_crm", "198.51.100.77"), ("acme_arcfwd", "203.0.113.61")] + spoofs(1))
    add("x9990-news-5", "x9990", "news.acme.example", 5, [
        ("news_mailchimp", "198.51.100.150"), ("news_own", "192.0.2.27"),
        ("news_misconf", "192.0.2.28")] + spoofs(1), rid_suffix="@example.net")
    return reps


def write(rel, data):
    path = os.path.join(OUT, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def mbox_from_line(env_from, raw):
    """Delivery time for the mbox separator: taken from the first Received: line."""
    m = email.message_from_bytes(raw)
    rcv = m.get_all("Received")[0]
    t = email.utils.parsedate_to_datetime(rcv.rsplit(";", 1)[1].strip().replace(" (UTC)", ""))
    return "From %s %s" % (env_from, time.asctime(time.gmtime(t.timestamp())))


def mboxrd_escape(raw):
    out = []
    for line in raw.decode("ascii").split("\n"):
        stripped = line.lstrip(">")
        if stripped.startswith("From "):
            line = ">" + line
        out.append(line)
    return "\n".join(out).encode("ascii")


def main():
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    os.makedirs(OUT)
    reps = build()
    files = []          # (relative path, description, [report keys], kind)

    def put(rel, data, keys, desc, failure=False, attached=None):
        write(rel, data)
        files.append(dict(path=rel, keys=list(keys), desc=desc, failure=failure))
        if attached is not None:
            ATTACHED[rel] = attached

    r = reps["google-acme-1"]
    n = fname(r, "zip")
    put(n, zipped(fname(r, "xml"), r.xml, r.day), [r.key],
        "zip holding one .xml entry (Google's usual container); IPv6 source; np with pct; "
        "no <version>, no envelope_from, dkim order domain/result/selector")

    r = reps["google-acme-2"]
    put(fname(r, "xml"), r.xml, [r.key], "plain .xml (an unzipped Google report); subdomain "
        "header_from billing.acme.example in the parent's report")

    r = reps["google-globex-1"]
    z = zipped(fname(r, "xml"), r.xml, r.day)
    put("google-globex-20261101.eml", msg_google(r, z, fname(r, "zip")), [r.key],
        "e-mail that is one single application/zip base64 part (no multipart), subject "
        "'Report domain:' with lower-case d", attached=z)

    r = reps["google-initech-2"]
    put("google-initech-20261102", zipped("report", r.xml, r.day), [r.key],
        "zip with no file extension whose only entry is named 'report'; pct=50 so some "
        "failing rows are disposition none with reason sampled_out")

    r = reps["google-globex-3"]
    put(fname(r, "xml.gz"), zipped(fname(r, "xml"), r.xml, r.day), [r.key],
        "misleading extension: named .xml.gz but is a zip archive; strict adkim "
        "(mail.globex.example signature not aligned, SPF relaxed-aligned)")

    r = reps["outlook-acme-1"]
    g = gz(r.xml)
    put("outlook-acme-20261101.eml", msg_outlook(r, g, fname(r, "xml.gz"), True), [r.key],
        "CRLF e-mail, RFC 2047 base64 subject, application/gzip nested in multipart/mixed > "
        "multipart/related; XML has CRLF, <version>1.0</version>, envelope_to, an SPF scope helo "
        "row with empty envelope_from (null reverse-path bounce), 3 <dkim> in a row", attached=g)

    r = reps["outlook-acme-2"]
    g = gz(r.xml)
    put("outlook-acme-20261102.txt", msg_outlook(r, g, fname(r, "xml.gz"), False), [r.key],
        "misleading extension: an e-mail saved as .txt; Microsoft layout (related/alternative "
        "body, gzip attachment at the top level)", attached=g)

    r = reps["outlook-globex-1"]
    put(fname(r, "xml.gz"), gz(r.xml), [r.key],
        "gzip; XML starts with a UTF-8 byte order mark, CRLF, xmlns:xsd/xmlns:xsi; upper-case "
        "IPv6 2001:DB8:A::15; M365 row with 2 <dkim>")

    r = reps["outlook-initech-2"]
    put(fname(r, "xml"), r.xml, [r.key], "plain .xml with CRLF line ends, no final newline; "
        "upper-case IPv6")

    r = reps["yahoo-acme-1"]
    g_dup = gz(r.xml)
    put(fname(r, "xml.gz"), g_dup, [r.key],
        "gzip; every line ends in a TAB (as Yahoo's files do), no <version>, header_from only, "
        "spf without scope. Same report as resend-yahoo-acme-20261101.eml")
    put("resend-yahoo-acme-20261101.eml", msg_yahoo(r, g_dup, fname(r, "xml.gz")), ["DUP:" + r.key],
        "THE DUPLICATE: the same Yahoo report (same org_name, report_id, domain, bytes) "
        "delivered again as an e-mail with an application/gzip attachment", attached=g_dup)

    r = reps["yahoo-acme-3"]
    put(fname(r, "xml"), r.xml, [r.key], "plain .xml, TAB at every line end, IPv6 written "
        "without :: compression (2001:db8:25:0:0:0:0:25); mailing-list row with 3 <dkim> and reason mailing_list")

    r = reps["yahoo-globex-2"]
    g = gz(r.xml)
    put("yahoo-globex-20261102.eml", msg_yahoo(r, g, fname(r, "xml.gz")), [r.key],
        "e-mail, multipart/mixed with text/plain + base64 application/gzip; subject with "
        "Report-ID in angle brackets", attached=g)

    r = reps["yahoo-initech-3"]
    put(fname(r, "xml.gz.gz"), gz(gz(r.xml)), [r.key], "gzip inside gzip (.xml.gz.gz)")

    r = reps["yahoo-news-1"]
    put("yahoo-news-acme-20261101.zip", zipped(fname(r, "xml"), r.xml, r.day), [r.key],
        "zip (re-packed by a user); report for the subdomain policy domain news.acme.example "
        "(p=none, aspf=s: bounce.news.acme.example SPF pass is not aligned)")

    r = reps["mailru-acme-2"]
    g = gz(r.xml)
    put("mailru-acme-20261102.eml", msg_mailru(r, g, fname(r, "xml.gz")), [r.key],
        "e-mail, text/plain part in base64, gzip attachment; subject 'Report Domain: x; "
        "Submitter: Mail.Ru;' folded; XML on one line", attached=g)

    r = reps["mailru-globex-3"]
    put(fname(r, "xml"), gz(r.xml), [r.key],
        "misleading extension: named .xml but is gzip; one-line XML")

    r = reps["gmx-acme-2"]
    put(fname(r, "xml.gz"), gz(r.xml), [r.key], "gzip; RFC 9990 namespace "
        "urn:ietf:params:xml:ns:dmarc-2.0, <version>1.0</version>, discovery_method psl, "
        "testing n, no pct, 3-space indent")

    r = reps["gmx-initech-3"]
    put("gmx-initech-20261103.eml", msg_gmx(r, r.xml, fname(r, "xml"), "text/xml",
                                            "quoted-printable", "iso-8859-1"), [r.key],
        "e-mail with an uncompressed text/xml attachment in quoted-printable; the XML declares "
        "encoding=\"ISO-8859-1\" and extra_contact_info contains 'Zürich' as the single byte 0xFC",
        attached=r.xml)

    r = reps["gmx-globex-4"]
    g = gz(r.xml)
    put("gmx-globex-20261104.eml", msg_gmx(r, g, fname(r, "xml.gz"), "application/zip"), [r.key],
        "e-mail whose attachment is labelled application/zip but holds gzip (a real GMX slip); "
        "recognise by content", attached=g)

    r = reps["webde-globex-1"]
    put(fname(r, "xml"), r.xml, [r.key], "plain .xml, RFC 9990 namespace, CRLF, no final newline; "
        "strict-DKIM domain")

    r = reps["fastmail-acme-3"]
    g = gz(r.xml)
    put("fastmail-acme-20261103.eml", msg_fastmail(r, g, fname(r, "xml.gz", r.rid)), [r.key],
        "e-mail, gzip attachment whose name carries the unique-id; IPv4-mapped IPv6 "
        "::ffff:198.51.100.7, fully uncompressed IPv6, a record with <count>0</count>, "
        "no adkim/aspf in policy_published, envelope_to", attached=g)

    r = reps["fastmail-initech-1"]
    put(fname(r, "xml.gz", r.rid), gz(r.xml), [r.key],
        "gzip, tab-indented; whitespace around values: '<end>... </end>' and '<count> N </count>'")

    r = reps["ses-globex-2"]
    g = gz(r.xml)
    put("amazonses-globex-20261102.eml", msg_ses(r, g, fname(r, "xml.gz")), [r.key],
        "e-mail whose gzip attachment is typed application/octet-stream with an unquoted "
        "file name; subject 'Dmarc Aggregate Report Domain: {..}'; <version>0.1</version>",
        attached=g)

    r = reps["ses-acme-4"]
    put(fname(r, "xml.gz"), gz(r.xml), [r.key], "gzip, <version>0.1</version>, tab-indented; "
        "results written with a capital letter ('Pass') in auth_results and policy_evaluated")

    r = reps["x9990-acme-3"]
    put(fname(r, "xml"), r.xml, [r.key],
        "plain .xml, full RFC 9990 shape: <generator>, <np>, <testing>, discovery_method "
        "treewalk, human_result with lang, disposition 'pass', top-level namespaced <extension> "
        "and a namespaced per-record extension element")

    put("failure-acme-20261105.eml", failure_acme(), [], failure=True,
        desc="FAILURE REPORT (ARF multipart/report; feedback-report) from an OpenDMARC "
             "receiver about a spoofed acme.example message; third part message/rfc822")

    # ---- mbox with three report mails
    mbox_msgs = []
    r = reps["google-news-2"]
    z = zipped(fname(r, "xml"), r.xml, r.day)
    mbox_msgs.append(("noreply-dmarc-support@google.com", msg_google(r, z, fname(r, "zip")), r, z,
                      "Google, single-part application/zip"))
    r = reps["webde-news-4"]
    g = gz(r.xml)
    mbox_msgs.append(("noreply-dmarc@sicher.web.de", msg_webde(r, g, fname(r, "xml.gz")), r, g,
                      "WEB.DE, multipart with application/gzip; RFC 9990 namespace"))
    r = reps["x9990-news-5"]
    g = gz(r.xml)
    mbox_msgs.append(("dmarc-reports@example.net", msg_x9990(r, g, fname(r, "xml.gz")), r, g,
                      "RFC 9990 generator, application/gzip; report_id of the form x@example.net"))
    chunks = []
    for i, (env, raw, rep, att, note) in enumerate(mbox_msgs):
        chunks.append(mbox_from_line(env, raw).encode("ascii") + b"\n" + mboxrd_escape(raw).rstrip(b"\n")
                      + b"\n\n")
        ATTACHED["mailbox.mbox#%d" % i] = att
    write("mailbox.mbox", b"".join(chunks))
    files.append(dict(path="mailbox.mbox", keys=[m[2].key for m in mbox_msgs], failure=False,
                      desc="mbox with 3 report e-mails separated by 'From ' lines: " +
                           "; ".join("%d) %s %s: %s" % (i + 1, m[2].rx["org"], m[2].domain, m[4])
                                     for i, m in enumerate(mbox_msgs))))

    # ---- Maildir
    r = reps["google-acme-3"]
    z = zipped(fname(r, "xml"), r.xml, r.day)
    raw = msg_google(r, z, fname(r, "zip"))
    rel = "Maildir/cur/%d.M%dP%d.mx1.msp.example:2,S" % (r.end + 1 + 8 * 3600 + 61, 412337, 18231)
    put(rel, raw, [r.key], "Maildir message (seen): Google, single-part application/zip",
        attached=z)
    r = reps["outlook-news-3"]
    g = gz(r.xml)
    raw = msg_outlook(r, g, fname(r, "xml.gz"), False)
    rel = "Maildir/cur/%d.M%dP%d.mx1.msp.example:2,RS" % (r.end + 1 + 3 * 3600 + 907, 88120, 18502)
    put(rel, raw, [r.key], "Maildir message (seen, replied flag): Outlook.com CRLF e-mail, "
        "news.acme.example", attached=g)
    raw = failure_globex()
    rel = "Maildir/new/%d.M%dP%d.mx1.msp.example" % (NOV1 + 3 * 86400 + 14 * 3600 + 7 * 60 + 17,
                                                     530018, 19377)
    put(rel, raw, [], failure=True,
        desc="FAILURE REPORT in Maildir/new (unread): receiver rejected a globex.example "
             "payroll mail signed only by the vendor's own d=; third part text/rfc822-headers")

    used = set(k for f in files for k in f["keys"] if not k.startswith("DUP:"))
    assert used == set(reps), set(reps) ^ used
    return reps, files, mbox_msgs


# --------------------------------------------------------------------------
# expected.json and README.md
# --------------------------------------------------------------------------

def expected(reps):
    doms = {}
    for d in sorted(POLICY):
        rs = [r for r in reps.values() if r.domain == d]
        doms[d] = dict(reports=len(rs), records=sum(len(r.records) for r in rs),
                       messages=sum(r.total() for r in rs),
                       dmarc_pass=sum(r.passed() for r in rs),
                       dmarc_fail=sum(r.total() - r.passed() for r in rs))
    return dict(reports_new=len(reps), reports_duplicate=1, failure_reports_new=2,
                records=sum(len(r.records) for r in reps.values()),
                messages=sum(r.total() for r in reps.values()),
                domains=doms)


def container_count(files):
    return sum(len(f["keys"]) if f["path"] == "mailbox.mbox" else 1 for f in files)


def readme(reps, files, exp):
    L = ["# Sample DMARC reports", "",
         "Synthetic DMARC aggregate and failure reports for testing Rampart's ingester. "
         "Generated by `make_examples.py` (deterministic; re-run it instead of editing the "
         "files). All data is invented: client domains, vendors and mail hosts use reserved "
         "names (`*.example`, `*.test`, `example.net`/`.com`/`.org`, RFC 2606/6761) and every "
         "source address is from the documentation ranges 192.0.2.0/24, 198.51.100.0/24, "
         "203.0.113.0/24 and 2001:db8::/32 (RFC 5737, RFC 3849). Only the reporting "
         "organisations (Google, Outlook.com, Yahoo, Mail.Ru, GMX, WEB.DE, Fastmail, Amazon SES) "
         "carry real names, because each file imitates the XML shape and quirks of that "
         "receiver (modelled on the samples in the shared corpus, not copied from them).", "",
         "`reports/` holds only report inputs; this README, `make_examples.py` and "
         "`expected.json` live one level up so that ingesting `reports/` recursively sees "
         "nothing else. File names do not tell the container: several have misleading or no "
         "extensions, so detect gzip/zip/XML/e-mail/mbox by content.", "",
         "Clients and published policies (reporting period: single UTC days 2026-11-01..05, "
         "`begin` 00:00:00, `end` 23:59:59, epoch seconds):", ""]
    for d, p in sorted(POLICY.items()):
        L.append("- `%s`: p=%s sp=%s np=%s adkim=%s aspf=%s pct=%s fo=%s" %
                 (d, p["p"], p["sp"], p["np"], p["adkim"], p["aspf"], p["pct"], p["fo"]))
    L += ["", "Sources seen in the records: own servers (192.0.2.25/.26/.27/.80, 203.0.113.10, "
          "2001:db8:25::25, 2001:db8:1:2::80, 2001:db8:c0::10, relay ::ffff:198.51.100.7), "
          "Google-Workspace-style (198.51.100.10-13, DKIM s=google), Microsoft-365-style "
          "(198.51.100.130-132, 2001:db8:a::15, two signatures incl. *.onmicrosoft.example), "
          "SendGrid-style (198.51.100.40/41, DKIM d=client + d=sendgrid.example), "
          "Mailchimp-style (198.51.100.150-152, envelope bounce.mcsv.example), vendors signing "
          "with their own d= (crmvendor.example, payroll-vendor.example, helpdesk.example: not "
          "aligned), forwarders (203.0.113.45/46/70: SPF fail, DKIM pass), a mailing list "
          "(203.0.113.60: reason mailing_list) and an ARC-trusted forwarder (203.0.113.61: "
          "reason forwarded / local_policy arc=pass), an office printer (192.0.2.130: no DKIM, "
          "SPF softfail), and spoofers (203.0.113.199-254, 2001:db8:bad::/48) that fail both "
          "and are quarantined/rejected per policy (np=reject for a non-existent subdomain).", "",
          "policy_evaluated dkim/spf are the DMARC-aligned results computed from auth_results "
          "and the published adkim/aspf (relaxed = same last two labels).", "",
          "## Files", "",
          "| file | receiver | policy domain | container / quirk |",
          "| --- | --- | --- | --- |"]
    for f in sorted(files, key=lambda f: f["path"]):
        keys = [k.replace("DUP:", "") for k in f["keys"]]
        if f["failure"]:
            rx = "failure report"
            dom = "acme.example" if "acme" in f["path"] else "globex.example"
        else:
            rx = ", ".join(sorted(set(reps[k].rx["org"] for k in keys)))
            dom = ", ".join(sorted(set(reps[k].domain for k in keys)))
        L.append("| `%s` | %s | %s | %s |" % (f["path"], rx, dom, f["desc"].replace("|", "\\|")))
    L += ["", "## Totals (see `expected.json`)", "",
          "%d inputs (files, counting each mbox and Maildir message): %d unique aggregate "
          "reports, 1 duplicate aggregate report (Yahoo acme.example 2026-11-01, once as "
          "`.xml.gz`, once as an e-mail), %d failure reports. Unique reports hold %d records "
          "for %d messages." % (container_count(files), exp["reports_new"], exp["failure_reports_new"],
                                exp["records"], exp["messages"]), "",
          "`dmarc_pass` counts messages of records whose policy_evaluated dkim or spf is `pass` "
          "(case-insensitive); `dmarc_fail` the rest. The duplicate adds nothing to any total.", ""]
    with open(README, "w") as fh:
        fh.write("\n".join(L))


# --------------------------------------------------------------------------
# Validation: re-read what was written, independently of the data above
# --------------------------------------------------------------------------

def local(tag):
    return tag.rsplit("}", 1)[-1]


def unpack(data, depth=0):
    """Content sniffing: return the XML documents inside data."""
    assert depth < 5
    if data[:2] == b"\x1f\x8b":
        return unpack(gzip.decompress(data), depth + 1)
    if data[:4] == b"PK\x03\x04":
        out = []
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            for n in z.namelist():
                out += unpack(z.read(n), depth + 1)
        return out
    head = data.lstrip(b"\xef\xbb\xbf").lstrip()
    if head.startswith(b"<"):
        return [data]
    raise ValueError("unknown content %r" % data[:16])


def from_message(msg):
    """(kind, payloads) for one e-mail: 'failure' or list of XML docs."""
    if msg.get_content_type() == "multipart/report" and \
            msg.get_param("report-type") == "feedback-report":
        parts = [p.get_content_type() for p in msg.walk()]
        assert "message/feedback-report" in parts, parts
        fr = [p for p in msg.walk() if p.get_content_type() == "message/feedback-report"][0]
        body = fr.get_payload()
        text = body[0].as_string() if isinstance(body, list) else body
        for field in ("Feedback-Type: auth-failure", "Auth-Failure: dmarc", "Version: 1",
                      "User-Agent:", "Identity-Alignment:", "Reported-Domain:", "Source-IP:",
                      "Arrival-Date:", "Original-Mail-From:", "Delivery-Result:",
                      "Authentication-Results:"):
            assert field in text, field
        assert any(t in parts for t in ("text/rfc822-headers", "message/rfc822")), parts
        return "failure", [], []
    xmls, raws = [], []
    for part in msg.walk():
        if part.is_multipart():
            continue
        ct = part.get_content_type()
        if part.get_filename() or ct in ("application/gzip", "application/zip", "text/xml",
                                         "application/octet-stream"):
            raw = part.get_payload(decode=True)
            raws.append(raw)
            xmls += unpack(raw)
    return "aggregate", xmls, raws


def split_mbox(data):
    msgs, cur = [], None
    for line in data.split(b"\n"):
        if line.startswith(b"From "):
            if cur is not None:
                msgs.append(cur)
            cur = []
            continue
        s = line.lstrip(b">")
        if s.startswith(b"From ") and line.startswith(b">"):
            line = line[1:]
        cur.append(line)
    msgs.append(cur)
    return [b"\n".join(m).rstrip(b"\n") + b"\n" for m in msgs]


def is_mail(data):
    return re.match(rb"[A-Za-z][A-Za-z0-9-]*:[ \t]", data) is not None


def validate(exp):
    seen, dups, failures = {}, 0, 0
    tot = dict(records=0, messages=0)
    doms = {}
    n_inputs = 0
    for dirpath, dirnames, filenames in os.walk(OUT):
        dirnames.sort()
        for fn in sorted(filenames):
            path = os.path.join(dirpath, fn)
            rel = os.path.relpath(path, OUT)
            data = open(path, "rb").read()
            items = []                       # (label, raw message bytes or None, xml docs)
            if data.startswith(b"From "):
                for i, m in enumerate(split_mbox(data)):
                    items.append(("%s#%d" % (rel, i), m))
            elif is_mail(data):
                items.append((rel, data))
            else:
                items.append((rel, None))
            for label, raw in items:
                n_inputs += 1
                if raw is None:
                    docs = unpack(data)
                else:
                    msg = email.message_from_bytes(raw)
                    assert msg["Subject"] and msg["From"], label
                    kind, docs, payloads = from_message(msg)
                    if kind == "failure":
                        failures += 1
                        continue
                    assert len(payloads) == 1 and payloads[0] == ATTACHED[label], label
                assert len(docs) == 1, label
                root = ET.fromstring(docs[0])
                assert local(root.tag) == "feedback", label

                def find(node, name):
                    for c in node:
                        if local(c.tag) == name:
                            return c
                    raise KeyError(name)
                md = find(root, "report_metadata")
                key = (find(md, "org_name").text.strip(), find(md, "report_id").text.strip(),
                       find(find(root, "policy_published"), "domain").text.strip())
                if key in seen:
                    assert seen[key] == docs[0], label
                    dups += 1
                    continue
                seen[key] = docs[0]
                dom = doms.setdefault(key[2], dict(reports=0, records=0, messages=0,
                                                   dmarc_pass=0, dmarc_fail=0))
                dom["reports"] += 1
                for rec in root:
                    if local(rec.tag) != "record":
                        continue
                    row = find(rec, "row")
                    cnt = int(find(row, "count").text.strip())
                    pe = find(row, "policy_evaluated")
                    ok = "pass" in (find(pe, "dkim").text.strip().lower(),
                                    find(pe, "spf").text.strip().lower())
                    dom["records"] += 1
                    dom["messages"] += cnt
                    dom["dmarc_pass" if ok else "dmarc_fail"] += cnt
                    tot["records"] += 1
                    tot["messages"] += cnt
    got = dict(reports_new=len(seen), reports_duplicate=dups, failure_reports_new=failures,
               records=tot["records"], messages=tot["messages"],
               domains={d: doms[d] for d in sorted(doms)})
    assert got == exp, json.dumps(got, indent=1)
    return n_inputs


def main_all():
    reps, files, _ = main()
    exp = expected(reps)
    with open(EXPECTED, "w") as fh:
        json.dump(exp, fh, indent=2, sort_keys=False)
        fh.write("\n")
    readme(reps, files, exp)
    n_inputs = validate(exp)
    assert n_inputs == container_count(files), (n_inputs, container_count(files))
    size = sum(os.path.getsize(os.path.join(dp, f)) for dp, _d, fs in os.walk(OUT) for f in fs)
    print("wrote %d inputs (%d bytes) in %s" % (n_inputs, size, OUT))
    print(json.dumps(exp, indent=2))


if __name__ == "__main__":
    main_all()
