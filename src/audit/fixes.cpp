// The one table of fixes: every finding code and the one line that tells the operator what to
// change. Codes are a contract (scripts match on them); add rows, never rename one.
#include <algorithm>
#include <array>
#include <string_view>

#include "audit/audit.hpp"
#include "audit/parts.hpp"

namespace rampart::audit {
namespace {

struct FixRow {
    std::string_view code;
    std::string_view fix;
};

constexpr auto fixes = std::to_array<FixRow>({
    // The domain itself.
    {"domain-invalid", "Give the domain as an ASCII name (IDNs as xn-- A-labels), at most 253 octets."},
    {"domain-nxdomain", "Check the spelling, or register and delegate the domain before auditing it."},
    {"dns-temperror", "Make the authoritative servers answer reliably, then run the check again."},

    // SPF (RFC 7208), including every code spf::inspect reports.
    {"spf-missing", "Publish one TXT record \"v=spf1 ... -all\" at the domain (\"v=spf1 -all\" if it sends no mail)."},
    {"spf-multiple-records", "Merge the SPF records into one TXT record: receivers permerror on more than one."},
    {"spf-too-many-lookups", "Cut DNS-querying terms to 10 or fewer: replace includes with ip4:/ip6: or drop unused senders."},
    {"spf-void-lookups", "Remove terms whose names no longer resolve: a third empty answer is a permerror."},
    {"spf-void-lookup", "Remove the term: its name no longer resolves and it still costs a look-up."},
    {"spf-plus-all", "Replace +all with -all (or ~all): +all authorises every host on the Internet."},
    {"spf-neutral-all", "Replace ?all with ~all or -all once every sender is listed."},
    {"spf-no-all", "End the record with -all (or ~all) so unlisted hosts do not get a neutral result."},
    {"spf-ptr", "Replace ptr with ip4:/ip6: or a: terms: ptr is deprecated and many receivers skip it."},
    {"spf-include-missing", "Remove the include or fix its target: an include without an SPF record is a permerror."},
    {"spf-syntax", "Correct the record's syntax: any error makes every check a permerror."},
    {"spf-temperror", "Make the servers for the named record answer reliably: receivers see a temperror."},
    {"spf-loop", "Break the include/redirect loop: it always ends in a permerror."},
    {"spf-mx-too-many-names", "Point the mx term at a name with 10 or fewer MX records, or use ip4:/ip6: terms."},
    {"spf-record-too-long-udp", "Shorten the TXT data at the name so the answer fits in 512 bytes of UDP."},
    {"spf-macro", "Check the macro term by hand: its target depends on each message."},
    {"spf-redirect-ignored", "Remove redirect= or the all term: redirect is ignored when all is present."},
    {"spf-depth", "Flatten the include chain: it is nested deeper than the audit follows."},
    {"spf-too-many-nodes", "Flatten the include tree: it has more records than the audit follows."},

    // DMARC (RFC 9989, RFC 9990).
    {"dmarc-missing", "Publish TXT \"v=DMARC1; p=none; rua=mailto:...\" at _dmarc.<domain> and start monitoring."},
    {"dmarc-syntax", "Correct the DMARC record: receivers ignore a malformed tag or the whole record."},
    {"dmarc-multiple-records", "Keep exactly one v=DMARC1 record at the name: with several, receivers use none."},
    {"dmarc-policy-none", "Analyse the aggregate reports, fix unaligned senders, then move to p=quarantine."},
    {"dmarc-no-rua", "Add rua=mailto:<mailbox> so receivers send aggregate reports."},
    {"dmarc-pct", "Drop pct= (historic, ignored by RFC 9989 receivers); use t=y for a gradual rollout."},
    {"dmarc-testing", "Remove t=y once reports show the policy can be applied in full."},
    {"dmarc-inherited", "Publish a record at _dmarc.<domain> if this domain needs its own policy or reports."},
    {"dmarc-external-rua-unauthorised", "Ask the report host to publish TXT \"v=DMARC1;\" at the authorisation name, or use a mailbox in your own domain."},
    {"dmarc-external-ruf-unauthorised", "Ask the report host to publish TXT \"v=DMARC1;\" at the authorisation name, or drop that ruf."},
    {"dmarc-org-domain-disagreement", "Publish psd=n at the Organizational Domain's record so every receiver finds the same one."},
    {"dmarc-policy-invalid", "Set p= to none, quarantine or reject."},
    {"dmarc-uri-invalid", "Write each report URI as mailto:<address>, commas between them."},
    {"dmarc-fo-without-ruf", "Remove fo= or add ruf=: fo= only shapes failure reports."},
    {"dmarc-historic-tag", "Drop rf=, ri= and !size suffixes: RFC 9989 receivers ignore them."},
    {"dmarc-psd", "Keep psd=y only on a public suffix operator's record; an ordinary domain wants psd=n or none."},

    // DKIM (RFC 6376, RFC 8301, RFC 8463).
    {"dkim-key-missing", "Publish the selector's key record, or stop signing with that selector."},
    {"dkim-reported-key-missing",
     "Publish the selector's key record again if anything still signs with it (a rotation that "
     "removed the key too early breaks DKIM); if the selector was retired, nothing to do."},
    {"dkim-no-selector-found", "Name the selectors in use with --selector or [dkim] selectors in rampart.toml."},
    {"dkim-syntax", "Republish the key record as the signing software generates it (v=DKIM1; k=...; p=...)."},
    {"dkim-key-revoked", "Delete the record once no mail is signed with it, or publish the new key under it."},
    {"dkim-key-weak", "Rotate to a 2048-bit RSA key (RFC 8301 says SHOULD), under a new selector."},
    {"dkim-key-too-short", "Rotate to a 2048-bit RSA key now: verifiers MUST reject keys under 1024 bits."},
    {"dkim-key-sha1-only", "Drop h=sha1 (or set h=sha256) and sign with rsa-sha256: SHA-1 MUST NOT be used."},
    {"dkim-key-testing", "Remove t=y once signing works: verifiers may treat signed mail as unsigned."},
    {"dkim-key-unknown-type", "Publish k=rsa or k=ed25519: verifiers ignore keys of other types."},
    {"dkim-key-not-for-email", "Set s=email (or drop s=) if this key signs mail."},
    {"dkim-key-large", "Use a 2048-bit RSA key: verifiers need not accept keys over 4096 bits."},
    {"dkim-key-unreadable", "Republish p= as the base64 of the public key the signer uses."},
    {"dkim-selector-invalid", "Give selectors as DNS labels (letters, digits, hyphens, dots)."},
    {"dkim-ed25519-only", "Sign with an RSA key as well: many verifiers cannot check Ed25519 yet."},

    // MX (RFC 5321 §5, RFC 7505).
    {"mx-missing", "Publish MX records for the domain, or a null MX (\"0 .\") if it receives no mail."},
    {"mx-null", "No change needed for a domain that receives no mail."},
    {"mx-null-mixed", "Remove the null MX (\"0 .\") or every other MX record: it must stand alone."},
});

}  // namespace

std::string_view fix_for(std::string_view code) noexcept {
    const auto* row = std::ranges::find(fixes, code, &FixRow::code);
    if (row != fixes.end()) return row->fix;
    return "See the message: correct the record it names.";
}

namespace detail {

Finding make_finding(Severity severity, std::string_view code, std::string message) {
    return Finding{.severity = severity,
                   .code = std::string(code),
                   .message = std::move(message),
                   .fix = std::string(fix_for(code))};
}

}  // namespace detail

}  // namespace rampart::audit
