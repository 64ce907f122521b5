// unpack: find the DMARC reports inside whatever container they arrived in.
//
// Containers are recognised by content, never by file name: gzip (also gzip in gzip, and
// concatenated members), zip (any entry name, the empty one included), RFC 5322 e-mail messages
// with the report attached at any MIME depth in any transfer encoding, whatever the Content-Type
// claims, mbox files, and plain XML. ARF failure reports (multipart/report;
// report-type=feedback-report) are handed over whole.
//
// Standards: RFC 1952 (gzip), PKWARE APPNOTE (zip, through libarchive), RFC 5322/2045-2049 (MIME,
// through GMime), RFC 4155 (mbox framing), RFC 7489 §7.2 and RFC 9990 (report transport).
// Trust: input comes from strangers. Every decompression is capped (IngestLimits::max_expanded,
// max_ratio), containers nest at most max_nesting deep, a zip is read for at most max_zip_entries
// entries, and zip entry names are only ever shown, never used as paths. A message is held in
// memory only up to max_message bytes, and one whose MIME boundaries would make parsing it cost
// far more than its size is refused before it is parsed.
// Errors: each refusal goes to Visitor::on_rejected with the location and the reason; unpacking
// goes on with the next item of the same input where the container allows it.
#pragma once

#include <span>

#include "core/core.hpp"

namespace rampart::unpack {

/// Receives what unpacking finds. Called synchronously, in input order.
class Visitor {
public:
    virtual ~Visitor() = default;
    /// An aggregate report's XML as a stream (already decompressed). The callee parses it; a
    /// failure of the stream itself (truncated gzip, size cap) surfaces as a read error there.
    virtual void on_aggregate(ByteSource& xml, const Location& where) = 0;
    /// A whole e-mail message that holds an ARF failure report.
    virtual void on_failure_report(std::span<const std::byte> message, const Location& where) = 0;
    /// Something that is not a usable report, with the reason.
    virtual void on_rejected(const Error& error) = 0;
    /// One e-mail message was read (from a file, an mbox or a Maildir).
    virtual void on_message(const Location&) {}
};

/// Unpacks one input stream (a file, standard input, a message). `where.source` names it.
/// Never throws and never stops early for a bad item: every outcome reaches the visitor.
void unpack(ByteSource& input, const Location& where, const IngestLimits& limits,
            Visitor& visitor);

/// The same for bytes already in memory (a message fetched over IMAP, a fuzzer input).
void unpack(std::span<const std::byte> input, const Location& where, const IngestLimits& limits,
            Visitor& visitor);

}  // namespace rampart::unpack
