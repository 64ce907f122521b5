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
    auto n = inner_.read(buffer);
    if (!n) return n;
    consumed_ += *n;
    if (consumed_ > cap_)
        return fail(Errc::limit_exceeded,
                    fmt::format("{} is larger than the limit of {} bytes", what_, cap_));
    return n;
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
    return head.size() >= prefix.size() && std::memcmp(head.data(), prefix.data(), prefix.size()) == 0;
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
    std::string carry, message;
    bool in_message = false, prev_empty = true, oversize = false;
    std::uint64_t index = 0;
    auto flush = [&] {
        if (!in_message) return;
        Location at = where.nested(fmt::format("message {}", index));
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
    auto line = [&](std::string_view l) {
        if (prev_empty && l.starts_with("From ")) {
            flush();
            in_message = true;
            ++index;
        } else if (in_message && !oversize) {
            if (message.size() + l.size() > ctx.limits.max_message) {
                oversize = true;
                message.clear();
                message.shrink_to_fit();
            } else {
                message.append(l);
            }
        }
        prev_empty = l == "\n" || l == "\r\n";
    };
    std::vector<std::byte> buf(64 * 1024);
    for (;;) {
        auto n = in.read(buf);
        if (!n) {
            Error e = std::move(n.error());
            if (e.where.source.empty()) e.where = where;
            ctx.visitor.on_rejected(e);
            break;
        }
        if (*n == 0) break;
        carry.append(as_chars(std::span(buf).first(*n)));
        std::size_t start = 0;
        for (auto pos = carry.find('\n'); pos != std::string::npos; pos = carry.find('\n', start)) {
            line(std::string_view(carry).substr(start, pos + 1 - start));
            start = pos + 1;
        }
        carry.erase(0, start);
        if (carry.size() > ctx.limits.max_message) {
            // A line longer than any message we keep: it can only make its message oversize.
            line(carry);
            carry.clear();
        }
    }
    if (!carry.empty()) line(carry);
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
