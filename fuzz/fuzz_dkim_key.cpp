// Fuzz target: dkim::parse_key_record, the DKIM key record parser (tag-list, base64, DER).
//
// Invariants checked on every input:
// - a failure carries a reason and an offset inside the text;
// - every diagnostic has a code and a message and points inside the text;
// - a key that decoded has a size, a revoked key has none, an Ed25519 key is 256 bits;
// - an RSA SubjectPublicKeyInfo or raw Ed25519 key that decoded is written back by
//   format_key_record and reads back as the same key.
// An input starting with fuzz::token_mode is also read with its bytes from 0x80 up mapped onto
// key-record tags and pieces of real keys, so the fuzzer reaches the DER decoding quickly.
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

// clang-format off
constexpr std::array tokens{
    "v=DKIM1"sv, "; "sv, ";"sv, "="sv, " = "sv, "k=rsa"sv, "k=ed25519"sv, "k="sv, "p="sv,
    "h=sha256"sv, "h=sha1"sv, "h=sha1:sha256"sv, "t=y"sv, "t=s"sv, "t=y:s"sv, "s=email"sv,
    "s=*"sv, "s=tlsrpt"sv, "n=note"sv, "g=*"sv, "\r\n\t"sv, " "sv, "="sv, "=="sv,
    "MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQ"sv, "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA"sv,
    "MIGJAoGBA"sv, "MIIBCgKCAQEA"sv, "MCowBQYDK2VwAyEA"sv, "IDAQAB"sv, "AgMBAAE="sv, "AAAA"sv,
    "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="sv, "/+"sv,
};
// clang-format on

void check_round_trip(const dkim::KeyRecord& record) {
    const bool rsa_spki = record.key_type == dkim::KeyType::rsa && record.key_format == "spki";
    const bool ed_raw = record.key_type == dkim::KeyType::ed25519 && record.key_format == "raw-ed25519";
    if (!rsa_spki && !ed_raw) return;
    auto text = dkim::format_key_record(record.key_type, record.public_key);
    if (!text) __builtin_trap();
    auto again = dkim::parse_key_record(*text);
    if (!again || again->public_key != record.public_key || again->key_bits != record.key_bits) {
        __builtin_trap();
    }
}

void check_record(std::string_view text, const dkim::KeyRecord& record) {
    for (const auto& d : record.diagnostics) {
        if (d.code.empty() || d.message.empty() || d.offset > text.size()) __builtin_trap();
    }
    if (record.revoked && (!record.public_key.empty() || record.key_bits != 0)) __builtin_trap();
    if (!record.key_format.empty() && record.key_bits == 0) __builtin_trap();
    if (record.key_type == dkim::KeyType::ed25519 && !record.key_format.empty() &&
        record.key_bits != 256) {
        __builtin_trap();
    }
    check_round_trip(record);
}

void parse(std::string_view text) {
    auto record = dkim::parse_key_record(text);
    if (!record) {
        rampart::fuzz::check_error(record.error());
        if (record.error().where.offset > text.size()) __builtin_trap();
        return;
    }
    check_record(text, *record);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size > 64 * 1024) return 0;  // a TXT record holds at most 64 KiB
    parse({reinterpret_cast<const char*>(data), size});
    if (size > 0 && data[0] == rampart::fuzz::token_mode) {
        parse(rampart::fuzz::map_tokens("", std::span(data + 1, size - 1), tokens));
    }
    return 0;
}
