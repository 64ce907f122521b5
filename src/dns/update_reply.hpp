// dns/update internals, visible to the fuzz target and the unit tests: the signed request with
// what its reply must match, and the reader of reply bytes. Not part of the module's surface.
//
// Trust: read_update_reply reads bytes from the network (any server, or anyone on the path):
// bounds-checked by wire::parse_message first, then handed to ldns only when there is exactly
// one TSIG record and it is the last one (ldns would otherwise leak or verify the wrong one).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/core.hpp"
#include "dns/update.hpp"

namespace rampart::dns::detail {

/// RFC 8945 §5.2.1: the fudge Rampart signs with and accepts on replies (the RECOMMENDED 300 s).
inline constexpr std::uint16_t tsig_fudge = 300;
/// A reply to an UPDATE is a header, the zone section and a TSIG: a few hundred octets. Larger
/// replies are refused before ldns sees them (its MAC buffer is 65,535 octets, asserted only in
/// debug builds, and must hold the reply plus the TSIG variables).
inline constexpr std::size_t max_update_reply = 16 * 1024;

/// A signed UPDATE and what its reply must match.
struct SignedUpdate {
    std::vector<std::byte> wire;  // the message as sent (no TCP length prefix)
    std::uint16_t id = 0;
    std::string zone;            // normalized
    std::vector<std::byte> mac;  // the request's MAC (without its length), for the reply's MAC
};

[[nodiscard]] Result<SignedUpdate> sign_update(const TxtUpdate& update, const TsigKey& key,
                                               std::uint16_t id);

/// Reads the reply to `request`: it must be a response (QR), opcode UPDATE, the request's ID,
/// and, when it has a zone section, the request's zone. Its TSIG, if any, must be the one last
/// record; it is verified with `key` over the request MAC (RFC 8945 §5.3), its key name and
/// algorithm must be the key's, and Time Signed must be within the fudge of `now`.
/// Errors: Errc::malformed (cannot be parsed, too large, not a reply to this request, a TSIG
/// record that is not last or not alone). A reply that does not verify is not an error here:
/// `signed_reply_verified` is false (send_update turns that into Errc::denied for NOERROR).
[[nodiscard]] Result<UpdateReply> read_update_reply(std::span<const std::byte> reply,
                                                    const SignedUpdate& request, const TsigKey& key,
                                                    Timestamp now);

}  // namespace rampart::dns::detail
