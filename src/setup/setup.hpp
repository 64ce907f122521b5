// setup: what a new sender domain needs in DNS — `rampart setup`. From the declared senders
// (addresses, includes, mx/a, catalogue providers) it plans an SPF record that stays within the
// RFC 7208 limits, a DKIM key pair under a dated selector, a monitoring DMARC record, the
// `_report._dmarc` authorisations an external report address needs, and the bounce and
// click-tracking CNAMEs asked for; with notes on what each means for DMARC alignment.
//
// Order of work, so a refusal leaves nothing behind: check the request, build the records, measure
// the SPF record against live DNS (spf::inspect_record), refuse if it breaks a limit or the key
// file already exists — and only then generate the key and write the private key file.
//
// Standards: RFC 7208 §4.6.4 (10 DNS-querying terms, 2 void look-ups), §3.4 (records over ~450
// octets risk UDP truncation); RFC 6376 §3.6.1 and RFC 8301 (RSA ≥ 2048 bits for new keys),
// RFC 8463 (Ed25519); RFC 7489 and RFC 9989 (a p=none record with only the tags both read
// alike: v, p, rua, ruf, fo — no pct, t, np or psd); RFC 9990 §4 (external destinations).
// Trust: the request is the operator's, DNS answers are strangers'. The private key lives in a
// PrivateKeyPem, which has no way to be formatted or printed, and leaves memory only through a
// KeyStore into a file of mode 0600 that is never overwritten.
// Errors: a refusal says why and, for SPF, carries the cost breakdown (Refusal). DNS trouble is
// never an error: what could not be measured or checked is said in the notes.
#pragma once

#include <cstdint>
#include <expected>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "catalogue/catalogue.hpp"
#include "core/core.hpp"
#include "dns/dns.hpp"

namespace rampart::setup {

// ---------------------------------------------------------------------------------------------
// Keys

enum class KeyAlgorithm : std::uint8_t { rsa, ed25519 };
[[nodiscard]] std::string_view to_string(KeyAlgorithm algorithm) noexcept;  // "rsa" | "ed25519"

struct KeySpec {
    KeyAlgorithm algorithm = KeyAlgorithm::rsa;
    unsigned bits = 2048;  // RSA only: 2048, 3072 or 4096
};

/// A private key in PEM (PKCS#8). It cannot be copied, formatted or streamed; its bytes are
/// wiped when it goes. `reveal()` is for the KeyStore that writes it and nothing else.
class PrivateKeyPem {
public:
    PrivateKeyPem() = default;
    explicit PrivateKeyPem(std::string pem) noexcept : pem_(std::move(pem)) {}
    PrivateKeyPem(PrivateKeyPem&& other) noexcept;
    PrivateKeyPem& operator=(PrivateKeyPem&& other) noexcept;
    PrivateKeyPem(const PrivateKeyPem&) = delete;
    PrivateKeyPem& operator=(const PrivateKeyPem&) = delete;
    ~PrivateKeyPem();

    [[nodiscard]] std::string_view reveal() const noexcept { return pem_; }
    [[nodiscard]] bool empty() const noexcept { return pem_.empty(); }

private:
    void wipe() noexcept;
    std::string pem_;
};

struct KeyPair {
    KeySpec spec;
    /// For the key record: SubjectPublicKeyInfo DER (RSA) or the raw 32 octets (Ed25519).
    std::vector<std::uint8_t> public_key;
    PrivateKeyPem private_key;
};

/// Makes key pairs. The real one is OpenSSL's (openssl_keys()); tests may inject their own.
class KeyGenerator {
public:
    virtual ~KeyGenerator() = default;
    [[nodiscard]] virtual Result<KeyPair> generate(const KeySpec& spec) = 0;
};
/// OpenSSL 3 EVP: RSA with exponent 65537, or Ed25519.
[[nodiscard]] KeyGenerator& openssl_keys();

/// Where private keys go. `exists` is asked before anything is generated; `write` must refuse
/// (Errc::conflict) to replace a file, and returns the path written.
class KeyStore {
public:
    virtual ~KeyStore() = default;
    [[nodiscard]] virtual bool exists(std::string_view file_name) const = 0;
    [[nodiscard]] virtual std::filesystem::path path(std::string_view file_name) const = 0;
    [[nodiscard]] virtual Result<std::filesystem::path> write(std::string_view file_name,
                                                              const PrivateKeyPem& key) = 0;
};

/// Key files in a directory (created 0700 when missing). A key is written to a temporary file
/// opened O_CREAT|O_EXCL with mode 0600, flushed to disk, then linked to its name — link()
/// fails rather than replace an existing file — so the key file appears whole or not at all.
class DirectoryKeyStore final : public KeyStore {
public:
    explicit DirectoryKeyStore(std::filesystem::path directory) : directory_(std::move(directory)) {}
    [[nodiscard]] bool exists(std::string_view file_name) const override;
    [[nodiscard]] std::filesystem::path path(std::string_view file_name) const override;
    [[nodiscard]] Result<std::filesystem::path> write(std::string_view file_name,
                                                      const PrivateKeyPem& key) override;

private:
    std::filesystem::path directory_;
};

// ---------------------------------------------------------------------------------------------
// Request

enum class AllQualifier : std::uint8_t { softfail, fail };  // ~all | -all

/// `--bounce-cname NAME=TARGET`: NAME relative to the domain ("bounce") or absolute under it.
/// TARGET may be left out when one chosen provider documents a fixed target.
struct CnameRequest {
    std::string name;
    std::string target;
};
/// "NAME=TARGET" or "NAME". Errc::malformed for an empty name.
[[nodiscard]] Result<CnameRequest> parse_cname_request(std::string_view text);

struct Request {
    std::string domain;                  // the sender domain (the RFC5322.From domain)
    std::vector<std::string> ips;        // "192.0.2.10", "198.51.100.0/24", "2001:db8::/48"
    std::vector<std::string> includes;   // include: names
    std::vector<std::string> mx;         // "" = mx (the domain's own MX), else mx:<name>
    std::vector<std::string> a;          // "" = a, else a:<name>
    std::vector<std::string> providers;  // catalogue ids, "id:region"
    /// Aggregate report URIs ("mailto:x@y" or a bare address). Empty: mailto:dmarc-reports@
    /// the Organizational Domain, so a subdomain's reports join its parent's.
    std::vector<std::string> rua;
    std::vector<std::string> ruf;        // failure reports; adds fo=1
    std::optional<std::string> selector; // default "s" + YYYYMM of `now`
    KeySpec key;
    std::optional<CnameRequest> bounce_cname;
    std::optional<CnameRequest> click_cname;
    AllQualifier all = AllQualifier::softfail;
    std::uint32_t ttl = 3600;
};

// ---------------------------------------------------------------------------------------------
// Plan

enum class RecordType : std::uint8_t { txt, cname };
[[nodiscard]] std::string_view to_string(RecordType type) noexcept;  // "TXT" | "CNAME"

struct DnsRecord {
    std::string name;  // owner, lower case, no trailing dot
    RecordType type = RecordType::txt;
    std::uint32_t ttl = 3600;
    std::string value;                 // TXT text joined, or the CNAME target
    std::vector<std::string> strings;  // TXT: character-strings of at most 255 octets
    std::string purpose;               // "SPF", "DKIM key s202611", ...
    bool optional = false;             // the notes say when to publish it
    /// The zone it belongs in when that is not the sender domain's (_report._dmarc records).
    std::string zone;
};

/// One DNS-querying term of the SPF record and what it costs.
struct TermCost {
    std::string term;   // "include:_spf.google.com", "mx", "a:www.example.com"
    int lookups = 1;    // the term itself plus everything below it
    int void_lookups = 0;
    /// How `lookups` is known: "measured" (live DNS), "catalogue" (the last measured figure
    /// of the provider catalogue), "assumed" (neither: counted as 1, may be more).
    std::string source = "assumed";
    std::string provider;  // the catalogue id that asked for it ("" when declared directly)
    std::string problem;   // "no SPF record at the include target", ...
};

struct SpfPlan {
    std::string name;    // the domain
    std::string record;  // "v=spf1 ip4:... include:... ~all"
    int lookups = 0;     // §4.6.4 total
    int void_lookups = 0;
    bool measured = false;  // every term's cost came from live DNS
    std::vector<TermCost> terms;
    std::size_t octets = 0;

    [[nodiscard]] bool within_limits() const noexcept;
    /// "include:_spf.google.com 4 (measured), mx 1 (measured), ... = 11 of 10"
    [[nodiscard]] std::string breakdown() const;
};

struct DkimPlan {
    std::string selector;
    KeySpec key;
    std::string name;    // "<selector>._domainkey.<domain>"
    std::string record;  // "v=DKIM1; k=rsa; p=..."
    std::filesystem::path private_key_file;  // where it is (or would be, on a dry run)
    bool written = false;
};

struct Plan {
    std::string domain;
    std::string organizational_domain;  // by the Public Suffix List
    std::vector<DnsRecord> records;     // every record to publish, the sender domain's first
    SpfPlan spf;
    DkimPlan dkim;
    std::string dmarc_record;
    std::vector<DnsRecord> report_authorisations;  // also in `records`
    std::vector<std::string> notes;
    std::vector<std::string> warnings;
};

/// Why nothing was done.
struct Refusal {
    enum class Kind : std::uint8_t {
        usage,    // the request itself is wrong (bad address, unknown provider, short key)
        refused,  // well-formed but unsafe: SPF limits, an include without SPF, key file exists
        failed,   // the environment failed (key generation, writing the key file)
    };
    Kind kind = Kind::usage;
    Error error;
    std::optional<SpfPlan> spf;  // the cost breakdown, when SPF is why
};

using PlanResult = std::expected<Plan, Refusal>;

/// The world setup works in: every piece injected so tests run without network, disk or clock.
struct World {
    /// Live DNS for measuring SPF and checking the parent domain; nullptr when there is none.
    dns::Resolver* resolver = nullptr;
    Timestamp now{};
    KeyGenerator* keys = nullptr;  // nullptr: openssl_keys()
    /// Where the private key goes; nullptr is a dry run (the key is made, not kept).
    KeyStore* key_store = nullptr;
    /// Used for the path shown on a dry run.
    std::filesystem::path key_dir = "keys";
    const catalogue::Catalogue* catalogue = nullptr;  // nullptr: catalogue::builtin()
};

/// `prefix` + YYYYMM of `now` (UTC): "s202611" with the default prefix.
[[nodiscard]] std::string dated_selector(Timestamp now, std::string_view prefix = "s");
/// The key record of a generated pair ("v=DKIM1; k=rsa; p=<base64>"), read back with
/// dkim::parse_key_record to prove a verifier could use it. Errc::io when it does not.
[[nodiscard]] Result<std::string> key_record(const KeyPair& pair);
/// "<domain>.<selector>.key"
[[nodiscard]] std::string key_file_name(std::string_view domain, std::string_view selector);

/// Plans (and, unless dry-run, carries out) the set-up of one sender domain.
[[nodiscard]] PlanResult plan(const Request& request, const World& world);

}  // namespace rampart::setup
