// Fuzz target: unpack::unpack over the bytes, with a visitor that parses every aggregate stream
// it is handed (report::parse_aggregate into a sink that discards) and every failure report
// (report::parse_failure_report). That is the whole ingest path except the store.
//
// Raw bytes always go to the unpacker as they are. An input starting with fuzz::token_mode
// selects a wrapper by its second byte and unpacks the rest inside it: gzip (zlib), gzip in gzip,
// or an e-mail with the rest (gzipped or not) as a base64 attachment. Mutations of the inner bytes
// then stay a valid container, so the fuzzer explores what is inside the gzip or the message, not
// only the gzip header.
// Every input is unpacked twice, reading it at once and a few bytes at a time; a difference in
// the reports read (sources, record counts) or in whether anything was refused is a finding.

#include <zlib.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "core/core.hpp"
#include "fuzz_common.hpp"
#include "report/report.hpp"
#include "unpack/unpack.hpp"

namespace {

using rampart::fuzz::bytes_of;

class DiscardSink final : public rampart::report::AggregateSink {
public:
    rampart::Result<void> on_header(const rampart::report::AggregateHeader& header) override {
        (void)rampart::printable(header.metadata.org_name);
        return {};
    }
    rampart::Result<void> on_record(const rampart::report::Record& record) override {
        (void)record.source_ip.to_string();
        return {};
    }
};

/// Parses whatever the unpacker finds, and writes down what happened.
class ParseEverything final : public rampart::unpack::Visitor {
public:
    explicit ParseEverything(const rampart::IngestLimits& limits) : limits_(limits) {}

    void on_aggregate(rampart::ByteSource& xml, const rampart::Location& where) override {
        DiscardSink sink;
        auto totals = rampart::report::parse_aggregate(xml, where, limits_, sink);
        if (!totals) {
            rampart::fuzz::check_error(totals.error());
            // Not the reason: one from zlib or libarchive may say how many bytes it had in hand.
            events.push_back({"aggregate " + where.source, totals.error().code});
        } else {
            events.push_back(
                {fmt::format("aggregate {}: {} records", where.source, totals->records)});
        }
    }
    void on_failure_report(std::span<const std::byte> message,
                           const rampart::Location& where) override {
        auto report = rampart::report::parse_failure_report(message, where, limits_);
        if (!report) rampart::fuzz::check_error(report.error());
        events.push_back({fmt::format("failure report {} ({} bytes)", where.source, message.size()),
                          report ? std::nullopt : std::optional(report.error().code)});
    }
    void on_rejected(const rampart::Error& error) override {
        rampart::fuzz::check_error(error);
        events.push_back({"rejected " + error.where.source, error.code});
    }
    void on_message(const rampart::Location& where) override {
        if (where.source.empty()) __builtin_trap();
        events.push_back({"message " + where.source});
    }

    std::vector<rampart::fuzz::Event> events;

private:
    const rampart::IngestLimits& limits_;
};

/// What must not depend on the read sizes: every report that was read, and whether anything was
/// refused. How a damaged container is refused may differ: libarchive with the whole archive in
/// hand says "the entry is the wrong size", with a few bytes it lets the entry's parser fail
/// first and reports the truncation at the next header.
std::vector<rampart::fuzz::Event> outcome(const std::vector<rampart::fuzz::Event>& events) {
    std::vector<rampart::fuzz::Event> out;
    bool refused = false;
    for (const auto& e : events) {
        if (e.code) {
            refused = true;
        } else {
            out.push_back(e);
        }
    }
    out.push_back({refused ? "something was refused" : "nothing was refused"});
    return out;
}

void run(std::span<const std::byte> input, std::size_t seed) {
    const auto limits = rampart::fuzz::fuzz_limits();
    const rampart::Location where{.source = "fuzz"};
    ParseEverything whole(limits);
    rampart::unpack::unpack(input, where, limits, whole);
    // The unpacker streams (gzip, libarchive callbacks, mbox lines, sniffing): what it finds must
    // not depend on where the reads split the input.
    ParseEverything trickled(limits);
    rampart::fuzz::TrickleSource in_pieces(input, seed);
    rampart::unpack::unpack(in_pieces, where, limits, trickled);
    if (!rampart::fuzz::same_events(outcome(whole.events), outcome(trickled.events)))
        rampart::fuzz::report_difference("unpack", whole.events, trickled.events);
}

std::string gzip(std::span<const std::uint8_t> in) {
    z_stream z{};
    if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return {};
    std::string out(deflateBound(&z, static_cast<uLong>(in.size())) + 32, '\0');
    z.next_in = const_cast<Bytef*>(in.data());
    z.avail_in = static_cast<uInt>(in.size());
    z.next_out = reinterpret_cast<Bytef*>(out.data());
    z.avail_out = static_cast<uInt>(out.size());
    const int rc = deflate(&z, Z_FINISH);
    out.resize(z.total_out);
    deflateEnd(&z);
    return rc == Z_STREAM_END ? out : std::string{};
}

std::string base64(std::string_view in) {
    static constexpr char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    std::size_t line = 0;
    for (std::size_t i = 0; i < in.size(); i += 3) {
        auto byte = [&](std::size_t k) -> std::uint32_t {
            return k < in.size() ? static_cast<std::uint8_t>(in[k]) : 0u;
        };
        const std::uint32_t v = byte(i) << 16 | byte(i + 1) << 8 | byte(i + 2);
        out += alphabet[(v >> 18) & 63];
        out += alphabet[(v >> 12) & 63];
        out += i + 1 < in.size() ? alphabet[(v >> 6) & 63] : '=';
        out += i + 2 < in.size() ? alphabet[v & 63] : '=';
        if (++line == 19) {
            out += '\n';
            line = 0;
        }
    }
    return out;
}

std::string as_attachment(std::string_view content_type, std::string_view body) {
    std::string out =
        "From: noreply-dmarc-support@google.com\n"
        "To: dmarc@example.com\n"
        "Subject: Report domain: example.com Submitter: google.com Report-ID: 1\n"
        "MIME-Version: 1.0\n"
        "Content-Type: multipart/mixed; boundary=\"fuzz\"\n\n"
        "--fuzz\nContent-Type: text/plain\n\nreport attached\n--fuzz\n"
        "Content-Type: ";
    out += content_type;
    out +=
        "; name=\"report\"\nContent-Transfer-Encoding: base64\n"
        "Content-Disposition: attachment; filename=\"report\"\n\n";
    out += base64(body);
    out += "\n--fuzz--\n";
    return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    run(bytes_of(data, size), size);
    if (size >= 2 && data[0] == rampart::fuzz::token_mode) {
        const std::span inner(data + 2, size - 2);
        const std::string_view inner_text(reinterpret_cast<const char*>(inner.data()),
                                          inner.size());
        std::string wrapped;
        switch (data[1] % 4) {
            case 0: wrapped = gzip(inner); break;
            case 1: wrapped = as_attachment("application/gzip", gzip(inner)); break;
            case 2: wrapped = as_attachment("application/octet-stream", inner_text); break;
            default: {
                const std::string once = gzip(inner);
                wrapped = gzip(
                    std::span(reinterpret_cast<const std::uint8_t*>(once.data()), once.size()));
            }
        }
        run(rampart::as_bytes(wrapped), size);
    }
    return 0;
}
