#include <cstring>

#include <fmt/format.h>

#include "unpack/detail.hpp"

namespace rampart::unpack::detail {

GzipSource::GzipSource(ByteSource& inner, const IngestLimits& limits)
    : inner_(inner), limits_(limits), in_(64 * 1024) {
    // 16 + MAX_WBITS: gzip framing only (RFC 1952), with its CRC and length checks.
    int rc = inflateInit2(&z_, 16 + MAX_WBITS);
    RAMPART_ASSERT(rc == Z_OK);
}

GzipSource::~GzipSource() { inflateEnd(&z_); }

Result<bool> GzipSource::refill() {
    if (z_.avail_in > 0 || inner_eof_) return z_.avail_in > 0;
    auto n = inner_.read(in_);
    if (!n) return std::unexpected(std::move(n.error()));
    if (*n == 0) {
        inner_eof_ = true;
        return false;
    }
    compressed_ += *n;
    z_.next_in = reinterpret_cast<Bytef*>(in_.data());
    z_.avail_in = static_cast<uInt>(*n);
    return true;
}

Result<std::size_t> GzipSource::read(std::span<std::byte> buffer) {
    // Errors are final for the stream (ByteSource's contract): a caller that reads again after
    // a bomb was stopped must not get the inflation going again.
    if (error_) return std::unexpected(*error_);
    auto n = inflate_some(buffer);
    if (!n) error_ = n.error();
    return n;
}

Result<std::size_t> GzipSource::inflate_some(std::span<std::byte> buffer) {
    if (finished_ || buffer.empty()) return std::size_t{0};
    z_.next_out = reinterpret_cast<Bytef*>(buffer.data());
    z_.avail_out = static_cast<uInt>(std::min<std::size_t>(buffer.size(), 1u << 30));
    const auto start_out = z_.avail_out;
    while (z_.avail_out == start_out) {
        auto more = refill();
        if (!more) return std::unexpected(std::move(more.error()));
        if (member_done_ && *more && z_.avail_in < 2 && !inner_eof_) {
            // A possible next header straddles our read chunk: keep the byte and read on.
            auto kept = z_.next_in[0];
            in_[0] = static_cast<std::byte>(kept);
            auto n = inner_.read(std::span(in_).subspan(1));
            if (!n) return std::unexpected(std::move(n.error()));
            if (*n == 0) inner_eof_ = true;
            compressed_ += *n;
            z_.next_in = reinterpret_cast<Bytef*>(in_.data());
            z_.avail_in = static_cast<uInt>(1 + *n);
        }
        if (member_done_) {
            // Another member follows only if the next bytes are a gzip header; anything else
            // after the end of a member is trailing junk and ends the stream.
            if (!*more || z_.avail_in < 2 || z_.next_in[0] != 0x1f || z_.next_in[1] != 0x8b) {
                finished_ = true;
                return std::size_t{0};
            }
            inflateReset(&z_);
            member_done_ = false;
        }
        if (!*more) return fail(Errc::malformed, "the gzip stream is truncated");
        int rc = inflate(&z_, Z_NO_FLUSH);
        if (rc == Z_STREAM_END) {
            member_done_ = true;
        } else if (rc == Z_BUF_ERROR) {
            continue;  // needs more input
        } else if (rc != Z_OK) {
            return fail(Errc::malformed,
                        fmt::format("the gzip stream is damaged: {}", z_.msg ? z_.msg : "error"));
        }
    }
    std::size_t produced = start_out - z_.avail_out;
    expanded_ += produced;
    if (expanded_ > limits_.max_expanded)
        return fail(Errc::limit_exceeded,
                    fmt::format("decompressed data exceeds the limit of {} bytes (gzip bomb?)",
                                limits_.max_expanded));
    // compressed_ includes read-ahead, so the ratio is never overstated.
    if (expanded_ > (1u << 20) &&
        expanded_ / std::max<std::uint64_t>(compressed_, 1) > limits_.max_ratio)
        return fail(Errc::limit_exceeded,
                    fmt::format("gzip expands more than {}:1 (gzip bomb?)", limits_.max_ratio));
    return produced;
}

}  // namespace rampart::unpack::detail
