// Fuzz target: authres::parse and authres::parse_arc, the Authentication-Results and
// ARC-Authentication-Results parsers (RFC 8601 §2.2, RFC 8617 §4.1.1).
//
// Invariants checked on every input:
// - a failure carries a reason and an offset inside the text;
// - what parses is written back by format (folded and on one line) and reads back equal:
//   parse(format(parse(x))) == parse(x), the same for parse_arc/format_arc;
// - the written value holds no CR or LF but the folding format puts there itself, so text from
//   a stranger's header cannot start a header field of its own.
// An input starting with fuzz::token_mode is also read with its bytes from 0x80 up mapped onto
// pieces of the grammar (methods, results, properties, comments, quotes).
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "authres/authres.hpp"
#include "fuzz_common.hpp"

namespace {

using namespace std::string_view_literals;
namespace authres = rampart::authres;

// clang-format off
constexpr std::array tokens{
    "mx.example.org"sv, "; "sv, ";"sv, "="sv, " "sv, "\r\n\t"sv, "i=1; "sv, "none"sv,
    "spf=pass"sv, "dkim=pass"sv, "dkim/1=fail"sv, "dmarc=fail"sv, "arc=none"sv, "iprev=pass"sv,
    " smtp.mailfrom="sv, " header.d="sv, " header.i=@"sv, " header.b="sv, " policy.dmarc="sv,
    " reason="sv, "\"quoted \\\" string\""sv, "(comment)"sv, "(a (nested) \\) one)"sv,
    "user@example.com"sv, "@example.com"sv, "\"j d\"@example.com"sv, "AbC/+="sv, "2001:db8::1"sv,
    " 1"sv, " action=none"sv, "\xc3\xa9"sv,
};
// clang-format on

bool clean_except_folding(std::string_view written) {
    for (std::size_t i = 0; i < written.size(); ++i) {
        if (written[i] == '\n' && (i == 0 || written[i - 1] != '\r')) return false;
        if (written[i] == '\r' &&
            (i + 2 >= written.size() || written[i + 1] != '\n' || written[i + 2] != '\t'))
            return false;
    }
    return true;
}

void check_failure(std::string_view text, const rampart::Error& error) {
    rampart::fuzz::check_error(error);
    if (error.where.offset > text.size()) __builtin_trap();
}

/// Quotes and folding make the written value a little longer than the input; an input just
/// under the parser's size limit may then be written over it, which is not a round-trip fault.
bool over_limit(std::string_view written) { return written.size() > authres::Limits{}.max_bytes; }

void round_trip(const authres::AuthenticationResults& parsed) {
    for (auto layout : {authres::Layout::folded, authres::Layout::single_line}) {
        const auto written = authres::format(parsed, layout);
        if (!clean_except_folding(written)) __builtin_trap();
        if (over_limit(written)) continue;
        auto again = authres::parse(written);
        if (!again || *again != parsed) __builtin_trap();
    }
}

void round_trip_arc(const authres::ArcAuthenticationResults& parsed) {
    const auto written = authres::format_arc(parsed);
    if (over_limit(written)) return;
    auto again = authres::parse_arc(written);
    if (!again || *again != parsed) __builtin_trap();
}

void parse(std::string_view text) {
    if (auto r = authres::parse(text); r) {
        round_trip(*r);
    } else {
        check_failure(text, r.error());
    }
    if (auto r = authres::parse_arc(text); r) {
        round_trip_arc(*r);
    } else {
        check_failure(text, r.error());
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size > 128 * 1024) return 0;  // twice the parser's limit: the limit itself is covered
    parse({reinterpret_cast<const char*>(data), size});
    if (size > 0 && data[0] == rampart::fuzz::token_mode) {
        parse(rampart::fuzz::map_tokens("", std::span(data + 1, size - 1), tokens));
    }
    return 0;
}
