// receiver: evaluate one message the way a receiving mail server does — SPF for the SMTP
// client, every DKIM signature, the ARC chain, DMARC with alignment and the policy that would
// apply — and write the verdict as an Authentication-Results header value.
//
// Standards: RFC 9989 §5.3 (the receiver's DMARC steps: Author Domain, policy discovery,
// Authenticated Identifiers, alignment, DNS errors, which of p/sp/np applies, t=y), §4.10.2
// (relaxed alignment through Organizational Domains), §9.1 (policy.dmarc); RFC 7208 §2.3–2.4
// (the MAIL FROM identity, postmaster@HELO for a null reverse-path); RFC 6376 §6 (DKIM
// verification, §3.6.1 t=y); RFC 8617 §5.2 (ARC validation); RFC 8601 (Authentication-Results).
// Choices, each documented where it is implemented:
//   - no From domain, or several (RFC 9989 §5.3 step 1 allows evaluating each and applying the
//     strictest failing policy): permerror, with the reason. One author, one policy: a message
//     that names several is not one DMARC can speak for, and refusing it is predictable.
//   - a passing signature whose key has t=y counts for alignment. RFC 6376 §3.6.1 says such
//     mail must not be treated differently from unsigned mail, which protects a signer in test
//     from failures; the signature still verified, and OpenDMARC and mail-auth count it too.
//   - an Organizational Domain look-up that fails (SERVFAIL, timeout) makes the result temperror
//     only when no identifier aligned without it: one aligned identifier is enough to pass.
// Trust: the message and every DNS answer come from strangers. The header is bounded by
// message::Limits, the body is never held whole (one pass through a shared dkim::BodyHasher),
// signatures are capped by dkim::VerifyOptions::max_signatures, and an Organizational Domain is
// walked at most once per name. Nothing asserts on input.
// Errors: check_message returns Errc::malformed when the input is not a message (no header, a
// header that does not parse) and the ByteSource's error when reading fails; DNS trouble is never
// an Error, it is a temperror in the verdict.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "arc/arc.hpp"
#include "authres/authres.hpp"
#include "core/core.hpp"
#include "dkim/dkim.hpp"
#include "dmarc/dmarc.hpp"
#include "dns/dns.hpp"
#include "message/message.hpp"
#include "spf/spf.hpp"

namespace rampart::receiver {

// ---------------------------------------------------------------------------------------------
// DMARC evaluation (pure)

/// dmarc= result names of RFC 8601 §2.7.1 / RFC 9989 §9.1.
enum class DmarcResult : std::uint8_t { none, pass, fail, temperror, permerror };
[[nodiscard]] std::string_view to_string(DmarcResult result) noexcept;

/// The SPF result DMARC looks at: the MAIL FROM identity's (RFC 9989 §5.3 step 3).
struct SpfIdentity {
    spf::SpfResult result = spf::SpfResult::none;
    /// The domain check_host evaluated: the MAIL FROM domain, or the HELO name when the
    /// reverse-path was null (postmaster@HELO, RFC 7208 §2.4). Empty when SPF was not checked.
    std::string domain;
};

/// The Organizational Domain of a name (RFC 9989 §4.10.2), injected so the evaluation stays
/// pure: Errc::transient for a DNS failure (→ temperror), any other error for a name that has
/// none (the identifier then does not align).
using OrgDomainOf = std::function<Result<std::string>(std::string_view name)>;

struct DmarcEvaluation {
    DmarcResult result = DmarcResult::none;
    std::string from_domain;  // the Author Domain, A-label ("" when there was not one)
    bool spf_aligned = false;
    bool dkim_aligned = false;
    std::string aligned_dkim_domain;  // d= of the first passing, aligned signature
    std::string spf_domain;           // the SPF-authenticated domain ("" unless SPF passed)
    /// The policy the record requests for this Author Domain (p, sp or np with fallbacks);
    /// nullopt when DMARC does not apply (no record, temperror, permerror).
    std::optional<dmarc::Policy> policy;
    std::optional<dmarc::PolicyTag> policy_tag;
    std::string policy_domain;  // where the record was found
    bool test_mode = false;     // t=y
    /// What the receiver would do: the policy (lowered one level by t=y) when DMARC fails, none
    /// otherwise. A temperror is not a failure: receivers defer (4xy, RFC 9989 §7.2) instead.
    dmarc::Policy disposition = dmarc::Policy::none;
    dmarc::Alignment adkim = dmarc::Alignment::relaxed;
    dmarc::Alignment aspf = dmarc::Alignment::relaxed;
    std::string reason;  // one plain sentence
};

/// RFC 9989 §5.3 over results already obtained. `discovery` is what dmarc::discover_policy gave
/// for from.domains[0]; it is not looked at when `from` has a problem (pass any error then).
/// Never fails: every outcome, including bad input, is a DmarcResult with its reason.
[[nodiscard]] DmarcEvaluation evaluate_dmarc(const message::FromDomains& from,
                                             const SpfIdentity& spf,
                                             std::span<const dkim::SignatureResult> dkim,
                                             const Result<dmarc::Discovery>& discovery,
                                             const OrgDomainOf& org_domain_of);

/// Strict alignment (RFC 9989 §4.4.1): the same name, compared case-insensitively, a trailing dot
/// ignored, U-labels compared as A-labels.
[[nodiscard]] bool same_domain(std::string_view a, std::string_view b);

// ---------------------------------------------------------------------------------------------
// A whole message

struct Options {
    std::optional<IpAddress> ip;  // the SMTP client; without it SPF is not evaluated (none)
    std::string helo;             // HELO/EHLO name
    std::string mail_from;        // the reverse-path, "" for the null reverse-path "<>"
    /// The authserv-id of the Authentication-Results written; default_authserv_id() when empty.
    std::string authserv_id;
    Timestamp now{};           // for DKIM t=/x= and SPF %{t}
    dkim::VerifyOptions dkim;  // `now` is taken from above
    message::Limits limits;
};

/// SPF as checked for this message.
struct SpfCheck {
    bool evaluated = false;      // false without an IP
    bool helo_identity = false;  // the null reverse-path: postmaster@HELO was checked
    std::string sender;          // the <sender> given to check_host
    spf::Evaluation evaluation;  // result none with the reason when not evaluated
};

struct Verdict {
    SpfCheck spf;
    std::vector<dkim::SignatureResult> dkim;  // one per DKIM-Signature, top first
    arc::Validation arc;
    message::FromDomains from;
    std::optional<dmarc::Discovery> discovery;  // when the From domain could be looked up
    DmarcEvaluation dmarc;
    authres::AuthenticationResults authentication_results;
};

/// Reads the message once (header, then the body through one BodyHasher shared by DKIM and ARC),
/// evaluates SPF (when an IP is given), DKIM, ARC and DMARC. Errc::malformed when the input is
/// not a message; the source's error when it cannot be read.
[[nodiscard]] Result<Verdict> check_message(ByteSource& message, dns::Resolver& resolver,
                                            const Options& options);

/// The Authentication-Results of a verdict (RFC 8601 §2.7): spf (smtp.mailfrom or smtp.helo),
/// one dkim per signature (header.d, header.s, header.a, header.b cut to 8 characters), arc,
/// dmarc (header.from, policy.dmarc), reasons of failures as comments.
[[nodiscard]] authres::AuthenticationResults authentication_results(const Verdict& verdict,
                                                                    std::string_view authserv_id);

/// This machine's host name, for the authserv-id; "localhost" when it cannot be read.
[[nodiscard]] std::string default_authserv_id();

}  // namespace rampart::receiver
