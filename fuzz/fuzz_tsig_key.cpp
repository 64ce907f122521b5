// Fuzz target: dns::parse_tsig_key, the BIND key-file reader (tokens, quoted strings, the
// three comment styles, base64).
//
// Invariants checked on every input:
// - a failure carries a reason that works with describe();
// - a failure never repeats the secret: whatever follows `secret "` up to the next quote, when
//   shaped like a secret, is absent from the message (the file is an operator's, but its
//   error lands in logs);
// - a key that parsed has a name and a secret that is valid base64 of at least one octet.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "dns/update.hpp"
#include "fuzz_common.hpp"

namespace {

std::string_view secret_in(std::string_view text) {
    const auto at = text.find("secret \"");
    if (at == std::string_view::npos) return {};
    const auto from = at + 8;
    const auto end = text.find('"', from);
    return text.substr(from, end == std::string_view::npos ? std::string_view::npos : end - from);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size > 64 * 1024) return 0;
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    auto key = rampart::dns::parse_tsig_key(text, "fuzz.key");
    if (!key) {
        rampart::fuzz::check_error(key.error());
        const auto secret = secret_in(text);
        // Only secrets shaped like real ones (12+ base64 characters): a short one may be any
        // word of the message by chance ("a512);" is in "hmac-sha512);").
        const bool shaped = secret.size() >= 12 && secret.find_first_not_of(
                                                       "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                                       "0123456789+/=") == std::string_view::npos;
        if (shaped && key.error().describe().find(secret) != std::string::npos) __builtin_trap();
        return 0;
    }
    if (key->name().empty() || key->secret_base64().empty()) __builtin_trap();
    return 0;
}
