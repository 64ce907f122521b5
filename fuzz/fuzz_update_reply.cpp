// Fuzz target for dns::detail::read_update_reply: the reply to an RFC 2136 UPDATE as a server
// (or anyone on the path) sends it, read by our wire parser and, when it carries a TSIG, by ldns
// (ldns_wire2pkt, ldns_pkt_tsig_verify over the request MAC, RFC 8945 §5.3).
//
// Input: 8 octets "now" (seconds, big-endian), 2 octets the request ID, 1 octet the request MAC's
// length n (at most 64) and n octets of it, then the reply. The key is fixed (a test key, below),
// so the seeds captured from Knot DNS (seeds/update_reply/knot-*, made with that key) reach the
// verified path: NOERROR, NXRRSET, YXRRSET signed; NOTAUTH/BADSIG and BADKEY unsigned.
// Promises checked: a refusal carries a reason; a reply is "applied" only when it is NOERROR and
// verified; a verified reply has a TSIG error of 0 or 18 (BADTIME replies are signed); every
// reply has a detail sentence. LeakSanitizer watches the ldns objects.

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "core/core.hpp"
#include "dns/update.hpp"
#include "dns/update_reply.hpp"
#include "fuzz_common.hpp"

namespace {

namespace dns = rampart::dns;

const dns::TsigKey& fuzz_key() {
    // A test key for the fuzzer and its seeds only.
    static const dns::TsigKey key("rampart-acme", dns::TsigAlgorithm::hmac_sha256,
                                  "cmFtcGFydC1mdXp6LXRlc3Qta2V5LW5vdC1zZWNyZXQ=");
    return key;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::span<const std::uint8_t> in(data, size);
    if (in.size() < 11) return 0;
    std::uint64_t now = 0;
    for (std::size_t i = 0; i < 8; ++i) now = now << 8 | in[i];
    dns::detail::SignedUpdate request;
    request.id = static_cast<std::uint16_t>(in[8] << 8 | in[9]);
    request.zone = "acme.example";
    const std::size_t mac_size = in[10];
    in = in.subspan(11);
    if (mac_size > 64 || mac_size > in.size()) return 0;
    for (std::size_t i = 0; i < mac_size; ++i) request.mac.push_back(std::byte{in[i]});
    in = in.subspan(mac_size);
    // Keep "now" within what sys_seconds and the 48-bit Time Signed can both hold.
    const auto seconds = static_cast<std::int64_t>(now & 0xFFFF'FFFF'FFFFull);
    const rampart::Timestamp at{std::chrono::seconds(seconds)};

    auto reply = dns::detail::read_update_reply(rampart::fuzz::bytes_of(in.data(), in.size()),
                                                request, fuzz_key(), at);
    if (!reply) {
        rampart::fuzz::check_error(reply.error());
        if (reply.error().code != rampart::Errc::malformed) __builtin_trap();
        return 0;
    }
    if (reply->detail.empty()) __builtin_trap();
    if (reply->applied() && (reply->rcode != 0 || !reply->signed_reply_verified)) __builtin_trap();
    if (reply->rcode > 15) __builtin_trap();  // the header's four bits; no EDNS here
    return 0;
}
