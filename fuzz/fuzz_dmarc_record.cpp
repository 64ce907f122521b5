// Fuzz target: dmarc::parse_record, the DMARC record parser, and what is built on it.
//
// Invariants checked on every input:
// - parse_record fails exactly when is_dmarc_record says the text is not a DMARC record, and a
//   failure carries a reason;
// - every diagnostic has a code and a message and points inside the text;
// - every kept mailto URI has an address and a domain;
// - format_record round-trips: parse_record(format_record(r)) succeeds and gives r back
//   (diagnostics aside), and formatting that again gives the same text;
// - the record published at _dmarc.example.com drives a whole policy discovery without trouble.
// An input starting with fuzz::token_mode is also read with its bytes from 0x80 up mapped onto
// DMARC tags and values, so the fuzzer reaches the tag handling quickly.
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "dmarc/dmarc.hpp"
#include "dns/zone.hpp"
#include "fuzz_common.hpp"

namespace {

using namespace std::string_view_literals;
namespace dmarc = rampart::dmarc;

// clang-format off
constexpr std::array tokens{
    "v=DMARC1"sv, "; "sv, ";"sv, "="sv, " = "sv, "p="sv, "sp="sv, "np="sv, "psd="sv, "t="sv,
    "pct="sv, "adkim="sv, "aspf="sv, "rua="sv, "ruf="sv, "fo="sv, "rf="sv, "ri="sv, "none"sv,
    "quarantine"sv, "reject"sv, "y"sv, "n"sv, "u"sv, "r"sv, "s"sv, "0"sv, "1"sv, "d"sv, ":"sv,
    "100"sv, "50"sv, "86400"sv, "afrf"sv, "mailto:"sv, "dmarc@example.com"sv, "@"sv,
    "example.net"sv, ","sv, " , "sv, "!10m"sv, "!"sv, "k"sv, "%2C"sv, "%"sv, "https://"sv,
    "?subject=x"sv, "\t"sv, "V=DMARC1"sv, "x-unknown=1"sv,
};
// clang-format on

bool same_tags(dmarc::Record a, dmarc::Record b) {
    a.diagnostics.clear();
    b.diagnostics.clear();
    return a == b;
}

void check_record(std::string_view text, const dmarc::Record& record) {
    for (const auto& d : record.diagnostics) {
        if (d.code.empty() || d.message.empty() || d.offset > text.size()) __builtin_trap();
    }
    for (const auto* list : {&record.rua, &record.ruf}) {
        for (const auto& uri : *list) {
            if (uri.uri.empty() || uri.scheme.empty()) __builtin_trap();
            if (uri.is_mailto() && (uri.address.empty() || uri.domain.empty())) __builtin_trap();
        }
    }
    const auto formatted = dmarc::format_record(record);
    auto again = dmarc::parse_record(formatted);
    if (!again || !same_tags(record, *again)) __builtin_trap();
    if (dmarc::format_record(*again) != formatted) __builtin_trap();
}

void discover_with(std::string_view text) {
    rampart::dns::Zone zone;
    zone.add_txt("_dmarc.example.com", text);
    rampart::dns::ZoneResolver resolver(zone);
    auto discovery = dmarc::discover_policy(resolver, "mail.example.com");
    if (!discovery || discovery->queries.empty() || discovery->queries.size() > 8) __builtin_trap();
    if (discovery->explanation.empty()) __builtin_trap();
}

void parse(std::string_view text) {
    auto record = dmarc::parse_record(text);
    if (record.has_value() != dmarc::is_dmarc_record(text)) __builtin_trap();
    if (!record) {
        rampart::fuzz::check_error(record.error());
    } else {
        check_record(text, *record);
    }
    discover_with(text);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    // A TXT record holds at most 64 KiB; longer inputs only cost time.
    if (size > 64 * 1024) return 0;
    parse({reinterpret_cast<const char*>(data), size});
    if (size > 0 && data[0] == rampart::fuzz::token_mode) {
        parse(rampart::fuzz::map_tokens("", std::span(data + 1, size - 1), tokens));
    }
    return 0;
}
