// The encoders of mime.hpp. Only what one outgoing text/plain message needs: parsing MIME stays
// GMime's job in unpack.
#include "notify/notify.hpp"

#include <fmt/format.h>

#include <array>
#include <chrono>

#include "notify/mime.hpp"

namespace rampart::notify::detail {

namespace {

constexpr std::size_t encoded_word_limit = 75;  // RFC 2047 §2
constexpr std::size_t qp_line_limit = 76;       // RFC 2045 §6.7 (5)
constexpr std::string_view encoded_word_open = "=?UTF-8?Q?";
constexpr std::string_view encoded_word_close = "?=";

bool is_continuation(unsigned char c) noexcept { return (c & 0xC0) == 0x80; }

std::string hex_escape(unsigned char c) { return fmt::format("={:02X}", c); }

/// One character's bytes in Q form. Only letters, digits and "!*+-/" stay literal: RFC 2047
/// §5 (3) allows exactly those in every place an encoded-word may appear.
std::string q_encode_char(std::string_view bytes) {
    std::string out;
    for (char ch : bytes) {
        auto c = static_cast<unsigned char>(ch);
        bool literal = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                       std::string_view("!*+-/").find(ch) != std::string_view::npos;
        if (c == ' ')
            out += '_';
        else if (literal)
            out += ch;
        else
            out += hex_escape(c);
    }
    return out;
}

/// The bytes of the UTF-8 character starting at `pos` (a stray continuation byte alone).
std::size_t char_length(std::string_view text, std::size_t pos) noexcept {
    std::size_t n = 1;
    while (pos + n < text.size() && is_continuation(static_cast<unsigned char>(text[pos + n]))) ++n;
    return n;
}

/// One LF-free line in quoted-printable, soft-broken at 76 characters.
std::string qp_line(std::string_view line) {
    std::string out;
    std::size_t column = 0;
    for (std::size_t i = 0; i < line.size(); ++i) {
        auto c = static_cast<unsigned char>(line[i]);
        bool last = i + 1 == line.size();
        bool white = c == ' ' || c == '\t';
        bool literal = (c >= 33 && c <= 126 && c != '=') || (white && !last);
        std::string token = literal ? std::string(1, line[i]) : hex_escape(c);
        // Room for the "=" of a soft break must stay on every line but the last.
        std::size_t room = last ? qp_line_limit : qp_line_limit - 1;
        if (column + token.size() > room) {
            out += "=\r\n";
            column = 0;
        }
        out += token;
        column += token.size();
    }
    return out;
}

}  // namespace

std::string_view utf8_prefix(std::string_view text, std::size_t limit) noexcept {
    if (text.size() <= limit) return text;
    std::size_t end = limit;
    while (end > 0 && is_continuation(static_cast<unsigned char>(text[end]))) --end;
    return text.substr(0, end);
}

std::string header_safe(std::string_view text) {
    std::string out(text);
    for (char& ch : out) {
        auto c = static_cast<unsigned char>(ch);
        if (c < 0x20 || c == 0x7F) ch = ' ';
    }
    return out;
}

bool is_plain_ascii(std::string_view text) noexcept {
    for (char ch : text) {
        auto c = static_cast<unsigned char>(ch);
        if (c < 0x20 || c > 0x7E) return false;
    }
    return true;
}

std::string encode_words(std::string_view text, std::size_t first_line_room) {
    const std::size_t overhead = encoded_word_open.size() + encoded_word_close.size();
    std::size_t room = first_line_room < encoded_word_limit ? first_line_room : encoded_word_limit;
    std::string out, word;
    auto close_word = [&] {
        if (!out.empty()) out += "\r\n ";
        out += std::string(encoded_word_open) + word + std::string(encoded_word_close);
        word.clear();
        // Folded lines start with one space; a word then has the whole 75 to itself.
        room = encoded_word_limit;
    };
    for (std::size_t pos = 0; pos < text.size();) {
        auto len = char_length(text, pos);
        auto encoded = q_encode_char(text.substr(pos, len));
        if (!word.empty() && overhead + word.size() + encoded.size() > room) close_word();
        word += encoded;
        pos += len;
    }
    if (!word.empty() || out.empty()) close_word();
    return out;
}

std::string quoted_printable(std::string_view text) {
    std::string out;
    std::size_t start = 0;
    while (start < text.size()) {
        auto end = text.find('\n', start);
        bool has_end = end != std::string_view::npos;
        if (!has_end) end = text.size();
        auto line = text.substr(start, end - start);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        out += qp_line(line);
        if (has_end) out += "\r\n";
        start = end + 1;
    }
    return out;
}

std::string rfc5322_date(Timestamp t) {
    static constexpr std::array<std::string_view, 7> weekdays = {"Sun", "Mon", "Tue", "Wed",
                                                                 "Thu", "Fri", "Sat"};
    static constexpr std::array<std::string_view, 12> months = {
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    auto day = std::chrono::floor<std::chrono::days>(t);
    std::chrono::year_month_day ymd{day};
    std::chrono::weekday wd{day};
    std::chrono::hh_mm_ss time{t - day};
    return fmt::format("{}, {:02} {} {:04} {:02}:{:02}:{:02} +0000", weekdays[wd.c_encoding()],
                       static_cast<unsigned>(ymd.day()),
                       months[static_cast<unsigned>(ymd.month()) - 1], static_cast<int>(ymd.year()),
                       time.hours().count(), time.minutes().count(), time.seconds().count());
}

}  // namespace rampart::notify::detail
