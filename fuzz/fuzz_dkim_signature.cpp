// Fuzz target: the DKIM signature side of dkim — parse_tag_list, parse_signature for
// DKIM-Signature, ARC-Message-Signature and ARC-Seal, and the canonicalization of a message's
// fields and body.
//
// Invariants checked on every input:
// - a failure carries a reason and an offset inside the text;
// - every tag's offsets lie inside the text, in order, and its value is the text between them;
// - a parsed DKIM signature signs From, has a domain, a selector and an i= under d=; an ARC
//   signature has an instance from 1 to 50;
// - when the input parses as a message: each field's canonical forms end with CRLF, the
//   signature field's has none, and the body hashes are the same whether the body arrives at
//   once or a few octets at a time.
// An input starting with fuzz::token_mode is also read with its bytes from 0x80 up mapped onto
// signature tags and pieces, so the fuzzer reaches the per-tag rules quickly.
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "dkim/dkim.hpp"
#include "fuzz_common.hpp"

namespace {

using namespace std::string_view_literals;
namespace dkim = rampart::dkim;
namespace message = rampart::message;

// clang-format off
constexpr std::array tokens{
    "v=1"sv, "; "sv, ";"sv, "="sv, " = "sv, "a=rsa-sha256"sv, "a=ed25519-sha256"sv, "a=rsa-sha1"sv,
    "c=relaxed/relaxed"sv, "c=simple/simple"sv, "c=relaxed"sv, "d=example.com"sv, "s=sel"sv,
    "h=From:To:Subject"sv, "h=from"sv, "i=@example.com"sv, "i=1"sv, "i=joe@sub.example.com"sv,
    "l=10"sv, "t=1528637909"sv, "x=1528637910"sv, "q=dns/txt"sv, "z=From:x"sv, "cv=none"sv,
    "cv=pass"sv, "bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8="sv, "b=dGVzdA=="sv, "b="sv,
    "\r\n\t"sv, "\r\n "sv, " "sv, "DKIM-Signature: "sv, "From: a@example.com\r\n"sv, "\r\n"sv,
    "\r\n\r\n"sv, ":"sv,
};
// clang-format on

void check_tags(std::string_view text, const std::vector<dkim::Tag>& tags) {
    for (const auto& tag : tags) {
        if (tag.name.empty() || tag.value_offset > tag.value_end || tag.value_end > text.size() ||
            tag.name_offset >= tag.value_offset) {
            __builtin_trap();
        }
        if (text.substr(tag.value_offset, tag.value_end - tag.value_offset) != tag.value) {
            __builtin_trap();
        }
    }
}

void check_signature(const dkim::Signature& sig) {
    if (sig.kind == dkim::SignatureKind::dkim) {
        bool signs_from = false;
        for (const auto& name : sig.signed_headers) signs_from |= rampart::iequals(name, "from");
        if (!signs_from || sig.domain.empty() || sig.selector.empty() || sig.identity.empty()) {
            __builtin_trap();
        }
    } else if (sig.instance < 1 || sig.instance > 50) {
        __builtin_trap();
    }
    if (sig.signature.empty()) __builtin_trap();
}

void parse_value(std::string_view text) {
    auto tags = dkim::parse_tag_list(text);
    if (tags) {
        check_tags(text, *tags);
    } else {
        rampart::fuzz::check_error(tags.error());
        if (tags.error().where.offset > text.size()) __builtin_trap();
    }
    for (const auto kind : {dkim::SignatureKind::dkim, dkim::SignatureKind::arc_message,
                            dkim::SignatureKind::arc_seal}) {
        auto sig = dkim::parse_signature(text, kind);
        if (!sig) {
            rampart::fuzz::check_error(sig.error());
            if (sig.error().where.offset > text.size()) __builtin_trap();
            continue;
        }
        if (!tags) __builtin_trap();  // a signature is a tag list first
        check_signature(*sig);
    }
}

void check_canonical(const message::Field& field) {
    for (const auto c : {dkim::Canonicalization::simple, dkim::Canonicalization::relaxed}) {
        if (!dkim::canonicalize_header(field, c).ends_with("\r\n")) __builtin_trap();
        if (dkim::canonicalize_signature_field(field, c).size() > field.raw.size() + 2) {
            __builtin_trap();
        }
    }
}

/// The body hashes must not depend on where the chunks end.
void check_body(std::string_view body) {
    dkim::BodyHasher whole;
    dkim::BodyHasher trickled;
    for (auto* hasher : {&whole, &trickled}) {
        hasher->request(dkim::Canonicalization::simple, dkim::HashAlgorithm::sha256);
        hasher->request(dkim::Canonicalization::relaxed, dkim::HashAlgorithm::sha256);
        hasher->request(dkim::Canonicalization::relaxed, dkim::HashAlgorithm::sha256, 7);
    }
    whole.update(body);
    for (std::size_t at = 0; at < body.size(); at += 3) trickled.update(body.substr(at, 3));
    whole.finish();
    trickled.finish();
    for (std::size_t i = 0; i < 3; ++i) {
        if (whole.digest(i).hash != trickled.digest(i).hash ||
            whole.digest(i).canonical_length != trickled.digest(i).canonical_length) {
            __builtin_trap();
        }
    }
}

void parse_message(std::string_view text) {
    message::Limits limits;
    limits.max_header_bytes = 64 * 1024;
    limits.max_fields = 200;
    auto parsed = message::parse(text, limits);
    if (!parsed) return;
    for (const auto& field : parsed->header.fields) {
        check_canonical(field);
        if (!field.is("DKIM-Signature")) continue;
        auto sig = dkim::parse_signature(field.value());
        if (!sig) continue;
        const auto data =
            dkim::canonicalize_selected(parsed->header, sig->signed_headers, sig->header_canon);
        // Each field is chosen at most once: bounded by the header (LF may have become CRLF).
        if (data.size() > 2 * text.size() + 2 * parsed->header.fields.size()) __builtin_trap();
    }
    check_body(parsed->body);
}

void run(std::string_view text) {
    parse_value(text);
    parse_message(text);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size > 64 * 1024) return 0;  // a header field is far smaller
    run({reinterpret_cast<const char*>(data), size});
    if (size > 0 && data[0] == rampart::fuzz::token_mode) {
        run(rampart::fuzz::map_tokens("", std::span(data + 1, size - 1), tokens));
    }
    return 0;
}
