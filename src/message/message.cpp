#include "message/message.hpp"

#include <algorithm>
#include <array>
#include <cstring>

#include <fmt/format.h>

namespace rampart::message {

namespace {

constexpr std::size_t read_size = 64 * 1024;

bool is_wsp(char c) noexcept { return c == ' ' || c == '\t'; }

/// RFC 5322 §3.6.8: ftext is printable US-ASCII except ':'.
bool is_field_name_char(char c) noexcept {
    const auto u = static_cast<unsigned char>(c);
    return u >= 33 && u <= 126 && c != ':';
}

/// A line without its line end (LF, CRLF).
std::string_view strip_line_end(std::string_view line) noexcept {
    if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    return line;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Field and Header

std::string_view Field::name() const noexcept {
    std::string_view name = std::string_view(raw).substr(0, std::min(colon, raw.size()));
    while (!name.empty() && is_wsp(name.back())) name.remove_suffix(1);
    return name;
}

std::string_view Field::value() const noexcept {
    if (colon >= raw.size()) return {};
    return std::string_view(raw).substr(colon + 1);
}

bool Field::is(std::string_view field_name) const noexcept { return iequals(name(), field_name); }

std::vector<const Field*> Header::all(std::string_view name) const {
    std::vector<const Field*> found;
    for (const auto& field : fields) {
        if (field.is(name)) found.push_back(&field);
    }
    return found;
}

const Field* Header::first(std::string_view name) const {
    for (const auto& field : fields) {
        if (field.is(name)) return &field;
    }
    return nullptr;
}

std::size_t Header::count(std::string_view name) const noexcept {
    return static_cast<std::size_t>(
        std::count_if(fields.begin(), fields.end(), [&](const Field& f) { return f.is(name); }));
}

// ---------------------------------------------------------------------------------------------
// Reader

namespace {

// One reader after another on the same thread (a verifier, a benchmark, a mailbox) reuses the
// buffers of the last one: allocating and freeing them per message made glibc hand the memory
// back to the kernel each time, which cost more than reading the message.
constexpr std::size_t max_kept_capacity = 1024 * 1024;
thread_local std::string spare_buffer;
thread_local std::string spare_chunk;

std::string take_spare(std::string& spare) {
    std::string out = std::move(spare);
    out.clear();
    return out;
}

void keep_spare(std::string& spare, std::string&& buffer) {
    if (buffer.capacity() <= max_kept_capacity && buffer.capacity() > spare.capacity()) spare = std::move(buffer);
}

}  // namespace

Reader::Reader(ByteSource& source, Limits limits)
    : source_(source), limits_(limits), buffer_(take_spare(spare_buffer)), chunk_(take_spare(spare_chunk)) {
    if (limits_.body_chunk_bytes == 0) limits_.body_chunk_bytes = read_size;
}

Reader::~Reader() {
    keep_spare(spare_buffer, std::move(buffer_));
    keep_spare(spare_chunk, std::move(chunk_));
}

Result<bool> Reader::fill() {
    if (eof_) return false;
    if (start_ > 0 && start_ >= buffer_.size() / 2) {
        buffer_.erase(0, start_);
        start_ = 0;
    }
    const std::size_t old_size = buffer_.size();
    Result<std::size_t> got = std::size_t{0};
    // No zero-fill of the space the read overwrites anyway.
    buffer_.resize_and_overwrite(old_size + read_size, [&](char* data, std::size_t) {
        got = source_.read(std::as_writable_bytes(std::span(data + old_size, read_size)));
        return old_size + (got ? *got : 0);
    });
    if (!got) return std::unexpected(got.error());
    if (*got == 0) eof_ = true;
    return *got > 0;
}

Result<Header> Reader::header() {
    Header header;
    header_done_ = true;
    std::size_t header_bytes = 0;
    bool first_line = true;
    for (;;) {
        // Find a whole line (or the end of the input).
        std::size_t lf = buffer_.find('\n', start_);
        while (lf == std::string::npos) {
            if (buffer_.size() - start_ > limits_.max_header_bytes)
                return fail(Errc::limit_exceeded,
                            fmt::format("a header line is longer than {} octets",
                                        limits_.max_header_bytes),
                            Location{.offset = consumed_});
            const std::size_t searched = buffer_.size() - start_;  // fill() may move start_
            auto more = fill();
            if (!more) return std::unexpected(more.error());
            if (!*more) break;
            lf = buffer_.find('\n', start_ + searched);
        }
        const std::size_t line_end = lf == std::string::npos ? buffer_.size() : lf + 1;
        if (line_end == start_) return header;  // end of input: a message without a body
        const std::string_view raw_line(buffer_.data() + start_, line_end - start_);
        const std::string_view line = strip_line_end(raw_line);
        const std::uint64_t line_offset = consumed_;
        start_ = line_end;
        consumed_ += raw_line.size();
        header_bytes += raw_line.size() + 1;
        if (header_bytes > limits_.max_header_bytes)
            return fail(Errc::limit_exceeded,
                        fmt::format("the header is larger than {} octets", limits_.max_header_bytes),
                        Location{.offset = line_offset});

        if (first_line) {
            first_line = false;
            // An mbox separator ("From sender date") on top of a saved message.
            if (line.starts_with("From ")) continue;
        }
        if (line.empty()) return header;  // the empty line between header and body
        if (is_wsp(line.front())) {
            if (header.fields.empty())
                return fail(Errc::malformed,
                            "the message starts with a folded line: the header is not RFC 5322",
                            Location{.offset = line_offset});
            auto& raw = header.fields.back().raw;
            raw.append("\r\n");
            raw.append(line);
            continue;
        }
        const std::size_t colon = line.find(':');
        if (colon == std::string_view::npos || colon == 0)
            return fail(Errc::malformed,
                        fmt::format("a header line is neither a field nor a continuation: \"{}\"",
                                    printable(line.substr(0, 60))),
                        Location{.offset = line_offset});
        std::string_view name = line.substr(0, colon);
        while (!name.empty() && is_wsp(name.back())) name.remove_suffix(1);  // obs-optional
        if (name.empty() || !std::all_of(name.begin(), name.end(), is_field_name_char))
            return fail(Errc::malformed,
                        fmt::format("a header field name has octets RFC 5322 does not allow: \"{}\"",
                                    printable(line.substr(0, std::min<std::size_t>(colon, 60)))),
                        Location{.offset = line_offset});
        if (header.fields.size() >= limits_.max_fields)
            return fail(Errc::limit_exceeded,
                        fmt::format("the header has more than {} fields", limits_.max_fields),
                        Location{.offset = line_offset});
        header.fields.push_back(Field{.raw = std::string(line), .colon = colon});
    }
}

Result<std::string_view> Reader::body_chunk() {
    if (!header_done_) {
        auto skipped = header();
        if (!skipped) return std::unexpected(skipped.error());
    }
    const std::size_t want = limits_.body_chunk_bytes;
    // One octet more than a chunk, so a CR at the end can be seen with the LF that follows it.
    while (!eof_ && buffer_.size() - start_ <= want) {
        auto more = fill();
        if (!more) return std::unexpected(more.error());
    }
    const std::size_t available = buffer_.size() - start_;
    if (available == 0) return std::string_view{};
    std::size_t take = std::min(want, available);
    if (buffer_[start_ + take - 1] == '\r' && take < available && buffer_[start_ + take] == '\n')
        ++take;
    const std::string_view raw(buffer_.data() + start_, take);
    start_ += take;
    consumed_ += take;

    chunk_.clear();
    chunk_.reserve(take + take / 16 + 2);
    std::size_t from = 0;
    while (from < raw.size()) {
        const void* hit = std::memchr(raw.data() + from, '\n', raw.size() - from);
        if (hit == nullptr) {
            chunk_.append(raw.substr(from));
            break;
        }
        const std::size_t lf = static_cast<std::size_t>(static_cast<const char*>(hit) - raw.data());
        chunk_.append(raw.substr(from, lf - from));
        const bool preceded_by_cr = lf > 0 ? raw[lf - 1] == '\r' : last_was_cr_;
        chunk_.append(preceded_by_cr ? "\n" : "\r\n");
        from = lf + 1;
    }
    last_was_cr_ = raw.back() == '\r';
    body_bytes_ += chunk_.size();
    return std::string_view(chunk_);
}

Result<Message> parse(std::string_view text, Limits limits) {
    MemorySource source(as_bytes(text));
    Reader reader(source, limits);
    auto header = reader.header();
    if (!header) return std::unexpected(header.error());
    Message message{.header = std::move(*header), .body = {}};
    for (;;) {
        auto chunk = reader.body_chunk();
        if (!chunk) return std::unexpected(chunk.error());
        if (chunk->empty()) break;
        message.body.append(*chunk);
    }
    return message;
}

std::string unfold(std::string_view value) {
    std::string out;
    out.reserve(value.size());
    for (std::size_t i = 0; i < value.size(); ++i) {
        if (value[i] == '\r' && i + 1 < value.size() && value[i + 1] == '\n') {
            const bool folded = i + 2 < value.size() && is_wsp(value[i + 2]);
            ++i;  // skip the LF too
            if (!folded && i + 1 == value.size()) break;  // a bare trailing CRLF
            if (!folded) out.append("\r\n");
            continue;
        }
        out.push_back(value[i]);
    }
    return out;
}

}  // namespace rampart::message
