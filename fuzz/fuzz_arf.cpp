// Fuzz target: report::parse_failure_report, the ARF failure report parser (GMime).
//
// Raw bytes always go to the parser as they are. An input starting with fuzz::token_mode is also
// parsed with its bytes mapped onto MIME and ARF header fields (see fuzz_common.hpp), so the
// fuzzer builds multipart/report skeletons and feedback field blocks in few steps.

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/core.hpp"
#include "fuzz_common.hpp"
#include "report/report.hpp"

namespace {

using namespace std::string_view_literals;
using rampart::fuzz::bytes_of;

// Grammar tokens, packed one after another.
// clang-format off
constexpr std::array tokens{
    "\n"sv, "\r\n"sv, "\n\n"sv, "From: a@example.com\n"sv, "Subject: report\n"sv,
    "Message-ID: <r@example.com>\n"sv, "MIME-Version: 1.0\n"sv,
    "Content-Type: multipart/report; report-type=feedback-report; boundary=\"b\"\n"sv,
    "Content-Type: multipart/mixed; boundary=\"c\"\n"sv, "Content-Type: text/plain\n"sv,
    "Content-Type: message/feedback-report\n"sv, "Content-Type: message/rfc822\n"sv,
    "Content-Type: text/rfc822-headers\n"sv, "Content-Type: message/global\n"sv,
    "Content-Transfer-Encoding: base64\n"sv, "Content-Transfer-Encoding: quoted-printable\n"sv,
    "--b\n"sv, "--b--\n"sv, "--c\n"sv, "--c--\n"sv, "Feedback-Type: auth-failure\n"sv,
    "Feedback-Type: abuse\n"sv, "User-Agent: fuzz/1.0\n"sv, "Version: 1\n"sv,
    "Auth-Failure: dmarc\n"sv, "Auth-Failure: bodyhash\n"sv, "Identity-Alignment: dkim, spf\n"sv,
    "Delivery-Result: reject\n"sv, "Reported-Domain: example.com\n"sv, "Source-IP: 192.0.2.1\n"sv,
    "Source-IP: 2001:db8::1\n"sv, "Arrival-Date: Thu, 5 Nov 2026 10:00:00 +0000\n"sv,
    "Original-Mail-From: <a@example.com>\n"sv, "Original-Rcpt-To: <b@example.net>\n"sv,
    "Original-Envelope-Id: x\n"sv, "Reporting-MTA: dns; mx.example.net\n"sv,
    "Authentication-Results: mx.example.net; dmarc=fail header.from=example.com\n"sv,
    "DKIM-Domain: example.com\n"sv, "DKIM-Identity: @example.com\n"sv, "DKIM-Selector: s1\n"sv,
    "SPF-DNS: txt : example.com : v=spf1 -all\n"sv, "Incidents: 3\n"sv,
    "Incidents: 18446744073709551616\n"sv, " folded\n"sv, "=?utf-8?B?w7w=?="sv,
    "=?iso-8859-1?Q?=FC?="sv, ": "sv, "\t"sv,
};
// clang-format on

void parse(std::span<const std::byte> message) {
    const rampart::Location where{.source = "fuzz.eml"};
    auto report =
        rampart::report::parse_failure_report(message, where, rampart::fuzz::fuzz_limits());
    if (!report) {
        rampart::fuzz::check_error(report.error());
        return;
    }
    (void)report->domain();
    if (report->source_ip) (void)report->source_ip->to_string();
    if (report->arrival_date) (void)rampart::format_timestamp(*report->arrival_date);
    (void)rampart::printable(report->original_headers);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    parse(bytes_of(data, size));
    if (size > 0 && data[0] == rampart::fuzz::token_mode) {
        auto text = rampart::fuzz::map_tokens({}, std::span(data + 1, size - 1), tokens);
        parse(rampart::as_bytes(text));
    }
    return 0;
}
