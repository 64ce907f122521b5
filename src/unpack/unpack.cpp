#include "unpack/unpack.hpp"

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

#include "report/report.hpp"
#include "unpack/detail.hpp"

namespace rampart::unpack {
namespace detail {

Result<std::span<const std::byte>> PeekSource::peek(std::size_t n) {
    while (head_.size() < n && !eof_) {
        std::size_t old = head_.size();
        head_.resize(n);
        auto got = inner_.read(std::span(head_).subspan(old));
        if (!got) {
            head_.resize(old);
            return std::unexpected(std::move(got.error()));
        }
        head_.resize(old + *got);
        if (*got == 0) eof_ = true;
    }
    return std::span<const std::byte>(head_).first(std::min(n, head_.size()));
}

Result<std::size_t> PeekSource::read(std::span<std::byte> buffer) {
    if (pos_ < head_.size()) {
        auto n = std::min(buffer.size(), head_.size() - pos_);
        std::memcpy(buffer.data(), head_.data() + pos_, n);
        pos_ += n;
        return n;
    }
    if (eof_) return std::size_t{0};
    return inner_.read(buffer);
}

Result<std::size_t> CappedSource::read(std::span<std::byte> buffer) {
    if (exceeded_) return over_limit();
    if (buffer.empty()) return std::size_t{0};
    if (consumed_ >= cap_) {
        // Exactly `cap_` bytes are allowed: only a byte beyond them is an error. Until then every
        // byte is handed over, so an mbox cut by the cap still yields the messages before the cut.
        std::byte probe{};
        auto n = inner_.read(std::span(&probe, 1));
        if (!n || *n == 0) return n;
        exceeded_ = true;
        return over_limit();
    }
    auto room = cap_ - consumed_;
    auto n = inner_.read(buffer.first(static_cast<std::size_t>(
        std::min<std::uint64_t>(buffer.size(), room))));
    if (!n) return n;
    consumed_ += *n;
    return n;
}

std::unexpected<Error> CappedSource::over_limit() const {
    return fail(Errc::limit_exceeded,
                fmt::format("{} is larger than the limit of {} bytes", what_, cap_));
}

Result<std::vector<std::byte>> slurp(ByteSource& in, std::uint64_t cap, const Location& where,
                                     std::string_view what) {
    std::vector<std::byte> out;
    std::size_t used = 0;
    for (;;) {
        if (out.size() - used < 64 * 1024) out.resize(used + 256 * 1024);
        auto n = in.read(std::span(out).subspan(used));
        if (!n) {
            Error e = std::move(n.error());
            if (e.where.source.empty()) e.where = where;
            return std::unexpected(std::move(e));
        }
        if (*n == 0) break;
        used += *n;
        if (used > cap)
            return fail(Errc::limit_exceeded,
                        fmt::format("the {} is larger than the limit of {} bytes", what, cap),
                        where);
    }
    out.resize(used);
    return out;
}

namespace {

bool starts_with(std::span<const std::byte> head, std::string_view prefix) {
    return head.size() >= prefix.size() &&
           std::memcmp(head.data(), prefix.data(), prefix.size()) == 0;
}

/// An RFC 5322 message starts with a header field: a name of printable ASCII other than ':',
/// then ':'. (An mbox "From " line is recognised before this.)
bool looks_like_message(std::span<const std::byte> head) {
    auto text = as_chars(head);
    std::size_t i = 0;
    while (i < text.size() && i < 80) {
        auto c = static_cast<unsigned char>(text[i]);
        if (c == ':') return i > 0;
        if (c < 33 || c > 126) return false;
        ++i;
    }
    return false;
}

/// Only whitespace, after an optional UTF-8 byte order mark.
bool blank(std::span<const std::byte> head) {
    auto text = as_chars(head);
    if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);
    return text.find_first_not_of(" \t\r\n") == std::string_view::npos;
}

void reject(Context& ctx, Errc code, std::string reason, const Location& where) {
    ctx.visitor.on_rejected(Error{code, std::move(reason), where});
}

}  // namespace

void dispatch(ByteSource& in, const Location& where, Context& ctx, std::uint32_t depth) {
    if (depth > ctx.limits.max_nesting)
        return reject(ctx, Errc::limit_exceeded,
                      fmt::format("containers are nested deeper than {}", ctx.limits.max_nesting),
                      where);
    PeekSource peek(in);
    auto head = peek.peek(512);
    if (head && head->size() == 512 && blank(*head)) {
        // Some generators start a report with many blank lines: look further before deciding,
        // within a bound, so a stream of spaces cannot make us buffer it whole.
        head = peek.peek(64 * 1024);
    }
    if (!head) {
        Error e = std::move(head.error());
        if (e.where.source.empty()) e.where = where;
        return ctx.visitor.on_rejected(e);
    }
    if (head->empty()) return reject(ctx, Errc::malformed, "the input is empty", where);
    if (starts_with(*head, "\x1f\x8b")) {
        GzipSource gz(peek, ctx.limits);
        return dispatch(gz, where, ctx, depth + 1);
    }
    if (starts_with(*head, "PK\x03\x04") || starts_with(*head, "PK\x05\x06"))
        return unzip(peek, where, ctx, depth + 1);
    if (report::looks_like_xml(*head)) return ctx.visitor.on_aggregate(peek, where);
    if (starts_with(*head, "From ")) return split_mbox(peek, where, ctx, depth + 1);
    if (looks_like_message(*head)) {
        auto message = slurp(peek, ctx.limits.max_message, where, "message");
        if (!message) return ctx.visitor.on_rejected(message.error());
        ctx.visitor.on_message(where);
        return walk_message(*message, where, ctx, depth + 1);
    }
    reject(ctx, Errc::malformed,
           "unrecognised content: not XML, gzip, zip, an e-mail message or an mbox file", where);
}

void split_mbox(ByteSource& in, const Location& where, Context& ctx, std::uint32_t depth) {
    // RFC 4155 framing: a line starting with "From " after an empty line (or at the start of the
    // file) begins a message. Messages are walked one at a time, so memory stays within one
    // message however large the mailbox is.
    //
    // Lines reach `piece` whole, or, when longer than kPiece, in pieces of at least kPiece bytes
    // (the last one ending the line). Each byte is scanned for '\n' once and no line is held
    // whole, so a hostile line of any length costs linear time and kPiece bytes of buffer.
    constexpr std::size_t kPiece = 64 * 1024;
    std::string message;
    bool in_message = false, prev_empty = true, oversize = false, in_separator = false;
    std::uint64_t index = 0;
    auto current = [&] { return where.nested(fmt::format("message {}", index)); };
    auto flush = [&] {
        if (!in_message) return;
        Location at = current();
        ctx.visitor.on_message(at);
        if (oversize) {
            reject(ctx, Errc::limit_exceeded,
                   fmt::format("the message is larger than the limit of {} bytes",
                               ctx.limits.max_message),
                   at);
        } else {
            walk_message(as_bytes(message), at, ctx, depth);
        }
        message.clear();
        oversize = false;
    };
    // `at_start`: the piece begins a line (else it continues an over-long one).
    auto piece = [&](std::string_view p, bool at_start) {
        if (at_start) {
            in_separator = false;
            if (prev_empty && p.starts_with("From ")) {
                flush();
                in_message = true;
                ++index;
                // The rest of an over-long "From " line is separator too, not message.
                in_separator = !p.ends_with('\n');
                prev_empty = false;
                return;
            }
            prev_empty = p == "\n" || p == "\r\n";
        } else {
            prev_empty = false;
            if (in_separator) {
                in_separator = !p.ends_with('\n');
                return;
            }
        }
        if (!in_message || oversize) return;
        if (p.size() > ctx.limits.max_message - message.size()) {
            oversize = true;
            message.clear();
            message.shrink_to_fit();
        } else {
            message.append(p);
        }
    };
    std::string carry;        // the start of an unfinished line, shorter than kPiece
    bool carry_at_start = true;
    std::vector<std::byte> buf(64 * 1024);
    for (;;) {
        auto n = in.read(buf);
        if (!n) {
            // The message being read is incomplete: refuse it rather than walk half of it.
            Error e = std::move(n.error());
            if (in_message) {
                Location at = current();
                ctx.visitor.on_message(at);
                if (e.where.source.empty()) e.where = std::move(at);
            } else if (e.where.source.empty()) {
                e.where = where;
            }
            ctx.visitor.on_rejected(e);
            return;
        }
        if (*n == 0) break;
        auto rest = as_chars(std::span(buf).first(*n));
        while (!rest.empty()) {
            auto nl = rest.find('\n');
            if (nl == std::string_view::npos) {
                carry.append(rest);
                if (carry.size() >= kPiece) {
                    piece(carry, carry_at_start);
                    carry.clear();
                    carry_at_start = false;
                }
                break;
            }
            auto line = rest.substr(0, nl + 1);
            rest.remove_prefix(nl + 1);
            if (carry.empty()) {
                piece(line, carry_at_start);
            } else {
                carry.append(line);
                piece(carry, carry_at_start);
                carry.clear();
            }
            carry_at_start = true;
        }
    }
    if (!carry.empty()) piece(carry, carry_at_start);
    flush();
}

}  // namespace detail

void unpack(ByteSource& input, const Location& where, const IngestLimits& limits,
            Visitor& visitor) {
    detail::CappedSource capped(input, limits.max_input, "the input");
    detail::Context ctx{limits, visitor};
    detail::dispatch(capped, where, ctx, 0);
}

void unpack(std::span<const std::byte> input, const Location& where, const IngestLimits& limits,
            Visitor& visitor) {
    MemorySource source(input);
    unpack(source, where, limits, visitor);
}

}  // namespace rampart::unpack
