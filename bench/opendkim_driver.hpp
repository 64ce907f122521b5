// OpenDKIM as a peer: signing and verifying whole messages in-process through Debian's
// libopendkim (package libopendkim-dev), for the interoperability tests
// (tests/integration/dkim_interop_test.cpp) and the DKIM benchmark (bench/bench_dkim.cpp).
//
// Keys for verification never come from the system resolver: the caller hands a look-up function
// (`KeyLookup`), which libopendkim calls through dkim_set_key_lookup() with the selector and the
// domain of each signature. The tests answer it from the Knot server they started (a plain
// res_nquery to 127.0.0.1:<port>, see `query_txt_at`), the benchmark from a map in memory, so the
// library still parses the key record text itself every time, as it does with DNS.
// Messages go in whole through dkim_chunk(), so libopendkim splits and canonicalizes the header
// itself: nothing of Rampart's message parsing is shared with the peer.
// Private keys are passed in memory and never printed.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace rampart::peer {

/// The TXT record text (strings joined) at `<selector>._domainkey.<domain>`, or nothing.
using KeyLookup =
    std::function<std::optional<std::string>(std::string_view selector, std::string_view domain)>;

struct OpendkimSignRequest {
    std::string private_key;  // PEM (RSA or Ed25519 PKCS#8), or base64 of an Ed25519 seed
    std::string domain;
    std::string selector;
    bool ed25519 = false;        // ed25519-sha256, else rsa-sha256
    bool relaxed_header = true;  // c= header part
    bool relaxed_body = true;    // c= body part
};

struct OpendkimVerdict {
    bool pass = false;   // the first signature verified, body hash included
    int signatures = 0;  // how many signatures libopendkim saw
    std::string detail;  // libopendkim's status and signature error, for messages
};

class Opendkim {
public:
    /// Errors (no library handle) come back as nullptr with `error` set.
    static std::unique_ptr<Opendkim> open(KeyLookup lookup, std::string& error);
    ~Opendkim();
    Opendkim(const Opendkim&) = delete;
    Opendkim& operator=(const Opendkim&) = delete;

    /// The DKIM-Signature field (folded with CRLF, no final CRLF) for a message with CRLF line
    /// ends; nothing, with `error` set, when libopendkim refuses.
    [[nodiscard]] std::optional<std::string> sign(std::string_view message,
                                                  const OpendkimSignRequest& request,
                                                  std::string& error) const;
    /// Verifies the message's signature with keys from the look-up function.
    [[nodiscard]] OpendkimVerdict verify(std::string_view message) const;

    /// For the key look-up callback only.
    [[nodiscard]] const KeyLookup& lookup() const noexcept { return lookup_; }

private:
    Opendkim(void* lib, KeyLookup lookup) noexcept : lib_(lib), lookup_(std::move(lookup)) {}
    void* lib_;  // DKIM_LIB*
    KeyLookup lookup_;
};

/// The TXT strings at `name`, joined, asked of the DNS server at 127.0.0.1:`port` with glibc's
/// own stub resolver (res_nquery with the server list replaced): the first TXT record of the
/// answer, or nothing on any error. Independent of Rampart's resolver on purpose.
[[nodiscard]] std::optional<std::string> query_txt_at(std::uint16_t port, const std::string& name);

}  // namespace rampart::peer
