#include "receiver/receiver.hpp"

#include <unistd.h>

#include <array>

#include <fmt/format.h>

namespace rampart::receiver {
namespace {

/// RFC 7208 §2.4: the MAIL FROM identity; for the null reverse-path spf::mail_from makes it
/// postmaster@HELO, which is the HELO identity of §2.3, so one check covers both cases.
SpfCheck check_spf(dns::Resolver& resolver, const Options& options) {
    SpfCheck check;
    if (!options.ip) {
        check.evaluation.reason = "no client IP given (--ip): SPF was not evaluated";
        return check;
    }
    spf::Request request = spf::mail_from(*options.ip, options.mail_from, options.helo);
    request.now = options.now;
    check.evaluated = true;
    check.helo_identity = options.mail_from.empty();
    check.sender = request.sender;
    check.evaluation = spf::check_host(resolver, request);
    return check;
}

/// The body goes through one hasher that every DKIM and ARC signature registered its request
/// on, so a large message is read once and never held whole.
Result<void> hash_body(message::Reader& reader, dkim::BodyHasher& hasher) {
    for (;;) {
        auto chunk = reader.body_chunk();
        if (!chunk) return std::unexpected(std::move(chunk.error()));
        if (chunk->empty()) break;
        hasher.update(*chunk);
    }
    hasher.finish();
    return {};
}

/// RFC 9989 §4.10.2 through the DNS Tree Walk; a walk that met a DNS failure is transient.
OrgDomainOf walk_with(dns::Resolver& resolver) {
    return [&resolver](std::string_view name) -> Result<std::string> {
        auto org = dmarc::org_domain_by_walk(resolver, name);
        if (!org) return std::unexpected(std::move(org.error()));
        if (org->temperror)
            return fail(Errc::transient,
                        fmt::format("DNS failure during the tree walk for {}", printable(name)));
        return org->name;
    };
}

void evaluate_policy(Verdict& verdict, dns::Resolver& resolver) {
    SpfIdentity spf;
    if (verdict.spf.evaluated) {
        spf.result = verdict.spf.evaluation.result;
        spf.domain = verdict.spf.evaluation.domain;
    }
    Result<dmarc::Discovery> discovery = fail(Errc::malformed, "no single From domain");
    if (verdict.from.problem.empty() && verdict.from.domains.size() == 1) {
        discovery = dmarc::discover_policy(resolver, verdict.from.domains.front());
        if (discovery) verdict.discovery = *discovery;
    }
    verdict.dmarc = evaluate_dmarc(verdict.from, spf, verdict.dkim, discovery, walk_with(resolver));
}

}  // namespace

Result<Verdict> check_message(ByteSource& message, dns::Resolver& resolver,
                              const Options& options) {
    message::Reader reader(message, options.limits);
    auto header = reader.header();
    if (!header) return std::unexpected(std::move(header.error()));
    if (header->fields.empty())
        return fail(Errc::malformed, "the input has no header fields: it is not a message");

    dkim::VerifyOptions verify = options.dkim;
    verify.now = options.now;
    dkim::DnsKeyFetcher keys(resolver);
    dkim::Verifier verifier(keys, verify);
    arc::ValidateOptions validate;
    validate.dkim = verify;
    arc::Validator validator(keys, validate);
    dkim::BodyHasher hasher;
    verifier.start(*header, hasher);
    validator.start(*header, hasher);
    if (auto read = hash_body(reader, hasher); !read)
        return std::unexpected(std::move(read.error()));

    Verdict verdict;
    verdict.dkim = verifier.finish(hasher);
    verdict.arc = validator.finish(hasher);
    verdict.spf = check_spf(resolver, options);
    verdict.from = message::from_domains(*header);
    evaluate_policy(verdict, resolver);
    verdict.authentication_results = authentication_results(
        verdict, options.authserv_id.empty() ? default_authserv_id() : options.authserv_id);
    return verdict;
}

std::string default_authserv_id() {
    std::array<char, 256> name{};
    if (::gethostname(name.data(), name.size() - 1) != 0 || name[0] == '\0') return "localhost";
    return std::string(name.data());
}

}  // namespace rampart::receiver
