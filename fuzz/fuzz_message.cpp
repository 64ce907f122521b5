// Fuzz target: message::parse (header fields, folding, line ends) and the From field reading
// (parse_address_list, to_a_label, from_domains).
//
// Invariants checked on every input:
// - a failure carries a reason;
// - every field has a name before its colon, no bare LF and no CRLF that is not folding;
// - the body has no LF without CR before it;
// - reading with one-octet reads and tiny chunks gives the same header and body;
// - from_domains is usable only with exactly one domain, and every domain is lower-case ASCII.
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "fuzz_common.hpp"
#include "message/message.hpp"

namespace {

using namespace std::string_view_literals;
namespace message = rampart::message;

// clang-format off
constexpr std::array tokens{
    "From: "sv, "To: "sv, "Subject: "sv, "DKIM-Signature: "sv, "\r\n"sv, "\n"sv, "\r\n "sv,
    "\r\n\r\n"sv, "<"sv, ">"sv, "@"sv, ","sv, ";"sv, ":"sv, "\""sv, "("sv, ")"sv, "\\"sv,
    "a@example.com"sv, "Name <b@example.org>"sv, "Group:"sv, "[192.0.2.1]"sv, "b\xc3\xbc" "cher"sv,
    "From sender date\n"sv,
};
// clang-format on

class OctetSource final : public rampart::ByteSource {
public:
    explicit OctetSource(std::string_view text) : text_(text) {}
    rampart::Result<std::size_t> read(std::span<std::byte> buffer) override {
        if (pos_ >= text_.size() || buffer.empty()) return std::size_t{0};
        std::memcpy(buffer.data(), text_.data() + pos_, 1);
        ++pos_;
        return std::size_t{1};
    }

private:
    std::string_view text_;
    std::size_t pos_ = 0;
};

void check_from(const message::Header& header) {
    auto from = message::from_domains(header);
    if (from.problem.empty() && from.domains.size() != 1) __builtin_trap();
    for (const auto& domain : from.domains) {
        for (char c : domain) {
            if (static_cast<unsigned char>(c) >= 0x80 || (c >= 'A' && c <= 'Z')) __builtin_trap();
        }
    }
}

void check(std::string_view text) {
    auto whole = message::parse(text, message::Limits{.max_header_bytes = 64 * 1024, .max_fields = 200});
    if (!whole) {
        rampart::fuzz::check_error(whole.error());
        return;
    }
    for (const auto& field : whole->header.fields) {
        if (field.name().empty() || field.colon >= field.raw.size()) __builtin_trap();
        for (std::size_t i = 0; i < field.raw.size(); ++i) {
            if (field.raw[i] != '\n') continue;
            if (i == 0 || field.raw[i - 1] != '\r') __builtin_trap();
            if (i + 1 >= field.raw.size() || (field.raw[i + 1] != ' ' && field.raw[i + 1] != '\t'))
                __builtin_trap();
        }
        (void)message::parse_address_list(message::unfold(field.value()));
    }
    const auto& body = whole->body;
    for (std::size_t i = 0; i < body.size(); ++i) {
        if (body[i] == '\n' && (i == 0 || body[i - 1] != '\r')) __builtin_trap();
    }
    check_from(whole->header);

    OctetSource source(text);
    message::Reader reader(source, message::Limits{.max_header_bytes = 64 * 1024, .max_fields = 200,
                                                   .body_chunk_bytes = 3});
    auto header = reader.header();
    if (!header || header->fields.size() != whole->header.fields.size()) __builtin_trap();
    std::string again;
    for (;;) {
        auto chunk = reader.body_chunk();
        if (!chunk) __builtin_trap();
        if (chunk->empty()) break;
        again += *chunk;
    }
    if (again != body) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size > 256 * 1024) return 0;
    check({reinterpret_cast<const char*>(data), size});
    if (size > 0 && data[0] == rampart::fuzz::token_mode) {
        check(rampart::fuzz::map_tokens("", std::span(data + 1, size - 1), tokens));
    }
    return 0;
}
