// Internal pieces of the unpacker; see unpack.hpp for the contract.
#pragma once

#include <zlib.h>

#include <optional>
#include <string>
#include <vector>

#include "core/core.hpp"
#include "unpack/unpack.hpp"

namespace rampart::unpack::detail {

/// Lets the dispatcher look at the first bytes of a stream and then read it from the start.
class PeekSource final : public ByteSource {
public:
    explicit PeekSource(ByteSource& inner) : inner_(inner) {}
    /// Reads until `n` bytes are buffered or the stream ends; returns what is buffered.
    Result<std::span<const std::byte>> peek(std::size_t n);
    Result<std::size_t> read(std::span<std::byte> buffer) override;

private:
    ByteSource& inner_;
    std::vector<std::byte> head_;
    std::size_t pos_ = 0;
    bool eof_ = false;
};

/// Counts bytes read and refuses more than a cap (the input-size limit of a file or message).
/// The first `cap` bytes are handed over; the read after them fails if the stream goes on, and
/// every read after that fails too.
class CappedSource final : public ByteSource {
public:
    CappedSource(ByteSource& inner, std::uint64_t cap, std::string what)
        : inner_(inner), cap_(cap), what_(std::move(what)) {}
    Result<std::size_t> read(std::span<std::byte> buffer) override;
    [[nodiscard]] std::uint64_t consumed() const noexcept { return consumed_; }

private:
    [[nodiscard]] std::unexpected<Error> over_limit() const;
    ByteSource& inner_;
    std::uint64_t cap_;
    std::uint64_t consumed_ = 0;
    std::string what_;
    bool exceeded_ = false;
};

/// Inflates a gzip stream (RFC 1952) chunk by chunk, concatenated members included. Bytes after
/// the last member that do not start another member are ignored: Mimecast appends such bytes
/// (parsedmarc's mimecast-weird-gzip.eml) and zlib's gunzip does the same.
class GzipSource final : public ByteSource {
public:
    GzipSource(ByteSource& inner, const IngestLimits& limits);
    ~GzipSource() override;
    GzipSource(const GzipSource&) = delete;
    GzipSource& operator=(const GzipSource&) = delete;
    Result<std::size_t> read(std::span<std::byte> buffer) override;

private:
    Result<std::size_t> inflate_some(std::span<std::byte> buffer);
    Result<bool> refill();
    ByteSource& inner_;
    const IngestLimits& limits_;
    z_stream z_{};
    std::vector<std::byte> in_;
    bool member_done_ = false;
    bool finished_ = false;
    bool inner_eof_ = false;
    std::uint64_t compressed_ = 0;
    std::uint64_t expanded_ = 0;
    std::optional<Error> error_;
};

struct Context {
    const IngestLimits& limits;
    Visitor& visitor;
};

/// Sniffs `in` and hands it to the right unwrapper; `depth` counts enclosing containers.
void dispatch(ByteSource& in, const Location& where, Context& ctx, std::uint32_t depth);

/// Every entry of a zip archive, each dispatched in turn.
void unzip(ByteSource& in, const Location& where, Context& ctx, std::uint32_t depth);

/// One e-mail message in memory: finds the reports attached to it.
void walk_message(std::span<const std::byte> message, const Location& where, Context& ctx,
                  std::uint32_t depth);

/// An mbox stream: split into messages, each walked in turn.
void split_mbox(ByteSource& in, const Location& where, Context& ctx, std::uint32_t depth);

/// Reads a whole stream into memory, failing past `cap` bytes.
Result<std::vector<std::byte>> slurp(ByteSource& in, std::uint64_t cap, const Location& where,
                                     std::string_view what);

}  // namespace rampart::unpack::detail
