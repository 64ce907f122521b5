#include <gmime/gmime.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <mutex>

#include <fmt/format.h>

#include "report/report.hpp"
#include "unpack/detail.hpp"

namespace rampart::unpack::detail {
namespace {

struct GObjectDeleter {
    void operator()(gpointer p) const {
        if (p != nullptr) g_object_unref(p);
    }
};
template <class T>
using GPtr = std::unique_ptr<T, GObjectDeleter>;

void gmime_init_once() {
    static std::once_flag once;
    std::call_once(once, [] { g_mime_init(); });
}

/// Forwards to the caller's visitor and counts what it hands over, so a message in which
/// nothing was found can be refused as such.
class CountingVisitor final : public Visitor {
public:
    explicit CountingVisitor(Visitor& inner) : inner_(inner) {}
    void on_aggregate(ByteSource& xml, const Location& where) override {
        ++found;
        inner_.on_aggregate(xml, where);
    }
    void on_failure_report(std::span<const std::byte> m, const Location& where) override {
        ++found;
        inner_.on_failure_report(m, where);
    }
    void on_rejected(const Error& e) override {
        ++found;
        inner_.on_rejected(e);
    }
    void on_message(const Location& where) override { inner_.on_message(where); }
    std::uint64_t found = 0;

private:
    Visitor& inner_;
};

bool has_feedback_report(GMimeObject* object) {
    if (object == nullptr) return false;
    if (GMIME_IS_MULTIPART(object)) {
        auto* mp = GMIME_MULTIPART(object);
        int n = g_mime_multipart_get_count(mp);
        for (int i = 0; i < n; ++i)
            if (has_feedback_report(g_mime_multipart_get_part(mp, i))) return true;
        return false;
    }
    GMimeContentType* type = g_mime_object_get_content_type(object);
    return type != nullptr && g_mime_content_type_is_type(type, "message", "feedback-report");
}

bool is_report_content(std::span<const std::byte> head) {
    auto starts = [&](std::string_view p) {
        return head.size() >= p.size() && std::memcmp(head.data(), p.data(), p.size()) == 0;
    };
    return starts("\x1f\x8b") || starts("PK\x03\x04") || report::looks_like_xml(head);
}

void walk_object(GMimeObject* object, const Location& where, Context& ctx, std::uint32_t depth) {
    if (object == nullptr) return;
    if (depth > ctx.limits.max_nesting) {
        ctx.visitor.on_rejected(Error{Errc::limit_exceeded,
                                      fmt::format("MIME parts are nested deeper than {}",
                                                  ctx.limits.max_nesting),
                                      where});
        return;
    }
    if (GMIME_IS_MULTIPART(object)) {
        auto* mp = GMIME_MULTIPART(object);
        int n = g_mime_multipart_get_count(mp);
        for (int i = 0; i < n; ++i)
            walk_object(g_mime_multipart_get_part(mp, i),
                        where.nested(fmt::format("part {}", i + 1)), ctx, depth + 1);
        return;
    }
    if (GMIME_IS_MESSAGE_PART(object)) {
        GMimeMessage* inner = g_mime_message_part_get_message(GMIME_MESSAGE_PART(object));
        if (inner != nullptr)
            walk_object(g_mime_message_get_mime_part(inner), where.nested("attached message"), ctx,
                        depth + 1);
        return;
    }
    if (!GMIME_IS_PART(object)) return;
    auto* part = GMIME_PART(object);
    GMimeContentType* type = g_mime_object_get_content_type(object);
    // HTML bodies start with '<' too; no receiver sends a report as text/html.
    if (type != nullptr && g_mime_content_type_is_type(type, "text", "html")) return;
    GMimeDataWrapper* content = g_mime_part_get_content(part);
    if (content == nullptr) return;
    GPtr<GMimeStream> decoded(g_mime_stream_mem_new());
    // Decoding never grows base64 or quoted-printable data, and the message itself is capped.
    if (g_mime_data_wrapper_write_to_stream(content, decoded.get()) < 0) {
        ctx.visitor.on_rejected(
            Error{Errc::malformed, "the MIME part cannot be decoded", where});
        return;
    }
    GByteArray* bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(decoded.get()));
    auto data = std::as_bytes(std::span<const guint8>(bytes->data, bytes->len));
    // Whatever the Content-Type claims (GMX once labelled gzip as zip, Amazon SES uses
    // application/octet-stream), the content decides; text that is not a report is the
    // human-readable body and is skipped.
    if (!is_report_content(data.first(std::min<std::size_t>(data.size(), 512)))) return;
    const char* filename = g_mime_part_get_filename(part);
    Location at =
        filename != nullptr && *filename != '\0' ? where.nested(printable(filename)) : where;
    MemorySource source(data);
    dispatch(source, at, ctx, depth + 1);
}

/// GMime compares every line that starts with "--" against the boundary of each enclosing
/// multipart (up to 1024 deep), so a message with many nested multiparts and many "--" lines costs
/// the product of the two in string comparisons: 5 MB of it took 9 s to parse, and 64 MB would
/// take minutes. Real report e-mails have a handful of each (a forwarded newsletter in a failure
/// report a few thousand "--" lines at most), so the product is capped well above them.
constexpr std::uint64_t kMaxBoundaryWork = 4'000'000;

/// An upper bound on that product: "boundary" anywhere, in any case, over-counts the multiparts.
std::uint64_t boundary_work(std::string_view text) {
    constexpr std::string_view word = "boundary";
    std::uint64_t dash_lines = 0, boundaries = 0;
    bool line_start = true;
    for (std::size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        if (line_start && c == '-' && i + 1 < text.size() && text[i + 1] == '-') ++dash_lines;
        line_start = c == '\n';
        if ((c == 'b' || c == 'B') && iequals(text.substr(i, word.size()), word)) ++boundaries;
    }
    return dash_lines * std::min<std::uint64_t>(boundaries, 1024);
}

}  // namespace

void walk_message(std::span<const std::byte> message, const Location& where, Context& ctx,
                  std::uint32_t depth) {
    if (boundary_work(as_chars(message)) > kMaxBoundaryWork) {
        ctx.visitor.on_rejected(Error{Errc::limit_exceeded,
                                      "the message has too many nested MIME boundaries to parse "
                                      "safely",
                                      where});
        return;
    }
    gmime_init_once();
    GPtr<GMimeStream> stream(g_mime_stream_mem_new_with_buffer(
        reinterpret_cast<const char*>(message.data()), message.size()));
    GPtr<GMimeParser> parser(g_mime_parser_new_with_stream(stream.get()));
    GPtr<GMimeMessage> parsed(g_mime_parser_construct_message(parser.get(), nullptr));
    if (!parsed) {
        ctx.visitor.on_rejected(
            Error{Errc::malformed, "not a readable e-mail message", where});
        return;
    }
    GMimeObject* body = g_mime_message_get_mime_part(parsed.get());
    if (has_feedback_report(body)) {
        ctx.visitor.on_failure_report(message, where);
        return;
    }
    CountingVisitor counting(ctx.visitor);
    Context inner{ctx.limits, counting};
    walk_object(body, where, inner, depth);
    if (counting.found == 0)
        ctx.visitor.on_rejected(Error{Errc::malformed,
                                      "no DMARC report found in the message (no XML, gzip or zip "
                                      "attachment, no feedback report)",
                                      where});
}

}  // namespace rampart::unpack::detail
