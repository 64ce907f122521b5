// dns/update: changing a zone (RFC 2136 dynamic UPDATE, signed with TSIG, RFC 8945) and asking
// one authoritative server directly.
//
// Why ldns: it is the maintained Debian library made for DNS messages, with UPDATE packets and
// TSIG signing and verification (HMAC-SHA256/512) built in; Rampart's own wire parser (wire.hpp)
// still reads the answers it acts on.
//
// Standards: RFC 2136 §2.4 (prerequisites: "RRset exists (value dependent)" carries the exact
// RRset believed live, "RRset does not exist" when nothing should be), §2.5 (delete an RRset,
// add RRs), §3 (the server checks every prerequisite before changing anything; the whole
// update is atomic); RFC 8945 (TSIG: the request is signed, the response's MAC — which covers
// the request MAC — is verified; BADSIG/BADKEY/BADTIME are reported by name); RFC 1035 §3.3.14
// (a TXT value longer than 255 octets goes as several character-strings).
// Trust: the TSIG secret comes from a file of mode 0600 and is never formatted, logged or put
// in an error message. Answers are bytes from the network: parsed with bounds checks; a
// response whose TSIG does not verify is not believed (the caller then asks the servers what
// they serve).
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/core.hpp"
#include "dns/dns.hpp"

namespace rampart::dns {

// ---- TSIG keys ----------------------------------------------------------------------------

enum class TsigAlgorithm : std::uint8_t { hmac_sha256, hmac_sha512 };
/// "hmac-sha256" | "hmac-sha512"
[[nodiscard]] std::string_view to_string(TsigAlgorithm algorithm) noexcept;

/// A TSIG key. The secret cannot be printed: there is no formatter, and `secret()` is for the
/// signer only. Its bytes are wiped when the key goes.
class TsigKey {
public:
    TsigKey() = default;
    TsigKey(std::string name, TsigAlgorithm algorithm, std::string secret_base64);
    TsigKey(const TsigKey&) = default;
    TsigKey& operator=(const TsigKey&);  // wipes the secret it replaces
    TsigKey(TsigKey&&) noexcept = default;
    TsigKey& operator=(TsigKey&&) noexcept;  // likewise
    ~TsigKey();

    [[nodiscard]] const std::string& name() const noexcept { return name_; }  // "rampart-acme"
    [[nodiscard]] TsigAlgorithm algorithm() const noexcept { return algorithm_; }
    [[nodiscard]] const std::string& secret_base64() const noexcept { return secret_; }

private:
    std::string name_;
    TsigAlgorithm algorithm_ = TsigAlgorithm::hmac_sha256;
    std::string secret_;
};

/// Reads a key in BIND's key-file format (what `tsig-keygen` and `ddns-confgen` write):
///
///     key "rampart-acme" {
///         algorithm hmac-sha256;
///         secret "base64...";
///     };
///
/// Comments (#, //, /* */) allowed; exactly one key per file. Errors: Errc::denied when the
/// file can be read or written by group or others (the message says to chmod 600);
/// Errc::not_found; Errc::malformed naming the file and what is wrong (never echoing the
/// secret): unknown algorithm (hmac-md5 and hmac-sha1 are refused), bad base64, no secret.
[[nodiscard]] Result<TsigKey> read_tsig_key_file(const std::filesystem::path& path);
/// The same parse for text already read (`origin` names it in errors); no mode check.
[[nodiscard]] Result<TsigKey> parse_tsig_key(std::string_view text, std::string_view origin);

// ---- UPDATE -------------------------------------------------------------------------------

/// Replace the TXT RRset at `name` (inside `zone`), guarded by what should be there now.
struct TxtUpdate {
    std::string zone;  // "acme.example"
    std::string name;  // "_dmarc.acme.example"
    /// The TXT RRset believed live (each value the joined text of one record). Empty: the name
    /// should hold no TXT RRset ("RRset does not exist" prerequisite).
    std::vector<std::string> expected;
    /// The new RRset; empty deletes the RRset.
    std::vector<std::string> replacement;
    std::uint32_t ttl = 3600;
};

struct UpdateOptions {
    Server server;  // the zone's primary
    std::chrono::milliseconds timeout{5000};
};

struct UpdateReply {
    std::uint16_t rcode = 0;  // 0 NOERROR, 8 NXRRSET (prerequisite failed), 9 NOTAUTH, ...
    /// The TSIG error of the reply when it carried one (16 BADSIG, 17 BADKEY, 18 BADTIME).
    std::uint16_t tsig_error = 0;
    /// The reply's TSIG verified with the key (always false for an unsigned reply).
    bool signed_reply_verified = false;
    /// One sentence: "NOERROR", "NXRRSET: the record at the name is not the one expected",
    /// "NOTAUTH (TSIG BADSIG): the server refused the key" ...
    std::string detail;
    [[nodiscard]] bool applied() const noexcept { return rcode == 0 && signed_reply_verified; }
    /// The prerequisite did not hold (NXRRSET or YXRRSET): someone else changed the record.
    [[nodiscard]] bool conflict() const noexcept { return rcode == 7 || rcode == 8; }
};
/// "NOERROR", "FORMERR", ..., "NOTZONE", "BADSIG", "BADKEY", "BADTIME"; the number otherwise.
[[nodiscard]] std::string rcode_name(std::uint16_t rcode);

/// Sends one UPDATE message over TCP (zone section, the prerequisite, delete-RRset + add
/// RRs, TSIG) and reads the reply. Errors (the update may or may not have been applied: the
/// caller must look): Errc::transient (core has no Errc::timeout) with a reason saying "timed
/// out" when no reply came in time, Errc::io when the connection
/// failed, Errc::malformed when the reply cannot be parsed or does not match the request,
/// Errc::denied when the reply claims success but its TSIG is missing or does not verify.
/// A reply with an error RCODE is not an error: it is an UpdateReply.
[[nodiscard]] Result<UpdateReply> send_update(const TxtUpdate& update, const TsigKey& key,
                                              const UpdateOptions& options);

/// The UPDATE message, signed, as sent (for tests and the fuzz target's seeds). Each TXT value
/// goes as 255-octet character-strings and a shorter last one (RFC 1035 §3.3.14); the
/// prerequisite compares rdata exactly (RFC 2136 §3.2.3), so a live record split elsewhere reads
/// as a conflict. Errors: Errc::malformed for a bad zone, name or key name, or a name outside the
/// zone; Errc::limit_exceeded when the message would pass 65,535 octets.
[[nodiscard]] Result<std::vector<std::byte>> build_update(const TxtUpdate& update,
                                                          const TsigKey& key, std::uint16_t id);

// ---- one authoritative server ---------------------------------------------------------------

/// What one server answered about (name, type), asked directly with RD=0 over UDP (TCP when
/// truncated). No cache, no retries beyond one: the caller polls. `aa` says whether the
/// server answered as authoritative. Status as in dns.hpp.
struct DirectAnswer {
    Answer answer;
    bool aa = false;
};
[[nodiscard]] DirectAnswer ask_server(const Server& server, std::string_view name, RrType type,
                                      std::chrono::milliseconds timeout);

}  // namespace rampart::dns
