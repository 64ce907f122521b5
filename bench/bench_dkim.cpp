// DKIM verifications per second: Rampart against its ceiling, libopendkim and dkimpy, over the
// same few thousand signed messages in the same run (bench/run with BENCH_ONLY=dkim; what is
// measured and why: bench/README.md).
//
// The corpus is generated from a seed: messages of 2-50 KB (log-uniform: small mail is the
// common case), realistic header fields, text bodies with varied line lengths, whitespace runs
// and trailing blanks; half signed rsa-sha256 (RSA-2048), half ed25519-sha256, mostly
// c=relaxed/relaxed, some simple/simple and relaxed/simple, by Rampart's Signer, under eight
// domains with a key pair each. RSA keys come from OpenSSL's generator and so differ between
// runs; the messages do not.
//
// Keys sit "in the resolver cache" for everyone: Rampart asks a CachingResolver (warmed) over a
// ZoneResolver through dkim::DnsKeyFetcher, libopendkim gets the record text from a map through
// dkim_set_key_lookup, dkimpy from a dict through its dnsfunc. Each still parses the record text
// per message, as it would with DNS. The ceiling alone holds pre-loaded EVP_PKEYs.
//
// Every implementation must say pass for every message; the mismatches are counted and printed
// and make the exit status 1. Single-threaded throughout.
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "dkim/dkim.hpp"
#include "dns/cache.hpp"
#include "dns/zone.hpp"
#include "message/message.hpp"
#include "opendkim_driver.hpp"

namespace {

namespace fs = std::filesystem;
namespace dkim = rampart::dkim;
namespace dns = rampart::dns;
namespace message = rampart::message;

// ---- options ------------------------------------------------------------------------------------

struct Options {
    std::size_t messages = 3000;
    std::uint64_t seed = 1;
    int reps = 5;
    std::size_t dkimpy_messages = 0;  // 0: all
    fs::path out_dir = "bench/out";
    fs::path dkimpy_script;  // empty: dkimpy not run
    std::string only;        // one contender alone (for profiling); empty: all
    std::string python = "/usr/bin/python3";
};

int usage() {
    std::cerr << "usage: bench_dkim [--messages N] [--seed S] [--reps R] [--out-dir DIR]\n"
                 "                  [--dkimpy SCRIPT] [--dkimpy-messages N] [--python PATH]\n"
                 "                  [--only ceiling|rampart|rampart_whole|libopendkim]\n";
    return 2;
}

std::optional<Options> parse_options(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (i + 1 >= argc) return std::nullopt;
        const std::string value = argv[++i];
        if (arg == "--messages")
            o.messages = std::stoul(value);
        else if (arg == "--seed")
            o.seed = std::stoull(value);
        else if (arg == "--reps")
            o.reps = std::stoi(value);
        else if (arg == "--out-dir")
            o.out_dir = value;
        else if (arg == "--dkimpy")
            o.dkimpy_script = value;
        else if (arg == "--dkimpy-messages")
            o.dkimpy_messages = std::stoul(value);
        else if (arg == "--python")
            o.python = value;
        else if (arg == "--only")
            o.only = value;
        else
            return std::nullopt;
    }
    if (o.messages < 2 || o.reps < 1) return std::nullopt;
    return o;
}

// ---- OpenSSL ownership
// ----------------------------------------------------------------------------

struct PkeyDeleter {
    void operator()(EVP_PKEY* key) const noexcept { EVP_PKEY_free(key); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyDeleter>;
struct MdCtxDeleter {
    void operator()(EVP_MD_CTX* ctx) const noexcept { EVP_MD_CTX_free(ctx); }
};
using MdCtx = std::unique_ptr<EVP_MD_CTX, MdCtxDeleter>;

/// PEM (PKCS#8) of a fresh RSA-2048 key; held in memory only, never printed.
std::string fresh_rsa_pem() {
    Pkey key(EVP_RSA_gen(2048));
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
    if (!key || !bio ||
        PEM_write_bio_PrivateKey(bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1)
        return {};
    char* data = nullptr;
    const long size = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<std::size_t>(size));
}

/// The public key as the ceiling loads it once: SPKI DER for RSA, raw 32 octets for Ed25519.
Pkey public_pkey(const dkim::PrivateKey& key) {
    const auto der = key.public_key();
    if (key.type() == dkim::KeyType::ed25519)
        return Pkey(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, der.data(), der.size()));
    const unsigned char* p = der.data();
    return Pkey(d2i_PUBKEY(nullptr, &p, static_cast<long>(der.size())));
}

// ---- keys
// -----------------------------------------------------------------------------------------

struct SigningKey {
    std::string domain;
    std::string selector;
    std::unique_ptr<dkim::PrivateKey> key;
    Pkey public_key;     // for the ceiling
    std::string record;  // the TXT text published
};

std::vector<SigningKey> make_keys(std::mt19937_64& rng) {
    std::vector<SigningKey> keys;
    for (int d = 0; d < 8; ++d) {
        const std::string domain = fmt::format("sender{}.example", d);
        for (const bool ed25519 : {false, true}) {
            SigningKey k;
            k.domain = domain;
            k.selector = ed25519 ? "ed202611" : "rsa202611";
            if (ed25519) {
                std::array<std::uint8_t, 32> seed{};
                for (auto& b : seed) b = static_cast<std::uint8_t>(rng());
                auto key = dkim::PrivateKey::ed25519_from_seed(seed);
                if (!key) throw std::runtime_error("ed25519_from_seed: " + key.error().reason);
                k.key = std::make_unique<dkim::PrivateKey>(std::move(*key));
            } else {
                auto key = dkim::PrivateKey::from_pem(fresh_rsa_pem());
                if (!key) throw std::runtime_error("RSA key: " + key.error().reason);
                k.key = std::make_unique<dkim::PrivateKey>(std::move(*key));
            }
            const auto pub = k.key->public_key();
            auto record = dkim::format_key_record(k.key->type(), pub);
            if (!record) throw std::runtime_error("format_key_record: " + record.error().reason);
            k.record = *record;
            k.public_key = public_pkey(*k.key);
            if (!k.public_key) throw std::runtime_error("OpenSSL cannot load the public key");
            keys.push_back(std::move(k));
        }
    }
    return keys;
}

// ---- messages
// -------------------------------------------------------------------------------------

constexpr std::array<std::string_view, 64> words = {"the",
                                                    "invoice",
                                                    "meeting",
                                                    "order",
                                                    "shipping",
                                                    "account",
                                                    "please",
                                                    "update",
                                                    "report",
                                                    "quarterly",
                                                    "and",
                                                    "of",
                                                    "to",
                                                    "in",
                                                    "for",
                                                    "with",
                                                    "on",
                                                    "your",
                                                    "our",
                                                    "we",
                                                    "attached",
                                                    "find",
                                                    "regards",
                                                    "thanks",
                                                    "schedule",
                                                    "delivery",
                                                    "customer",
                                                    "support",
                                                    "ticket",
                                                    "number",
                                                    "payment",
                                                    "received",
                                                    "confirm",
                                                    "details",
                                                    "below",
                                                    "team",
                                                    "project",
                                                    "deadline",
                                                    "Monday",
                                                    "Friday",
                                                    "review",
                                                    "document",
                                                    "version",
                                                    "release",
                                                    "notes",
                                                    "server",
                                                    "maintenance",
                                                    "window",
                                                    "newsletter",
                                                    "offer",
                                                    "discount",
                                                    "subscription",
                                                    "renewal",
                                                    "password",
                                                    "reset",
                                                    "link",
                                                    "expires",
                                                    "hours",
                                                    "contact",
                                                    "questions",
                                                    "Gr\xc3\xbc\xc3\x9f"
                                                    "e",
                                                    "caf\xc3\xa9",
                                                    "na\xc3\xafve",
                                                    "2026"};

class MessageGenerator {
public:
    explicit MessageGenerator(std::uint64_t seed) : rng_(seed) {}

    /// One message of about `size` octets from `domain`, CRLF line ends.
    std::string make(const std::string& domain, std::size_t size, std::size_t serial) {
        std::string text = header(domain, serial);
        const std::size_t body_target = size > text.size() + 200 ? size - text.size() : 200;
        text += "\r\n";
        body(text, body_target);
        return text;
    }

private:
    std::size_t uniform(std::size_t lo, std::size_t hi) {
        return std::uniform_int_distribution<std::size_t>(lo, hi)(rng_);
    }
    bool chance(double p) { return std::bernoulli_distribution(p)(rng_); }
    std::string_view word() { return words[uniform(0, words.size() - 1)]; }

    std::string phrase(std::size_t n) {
        std::string s;
        for (std::size_t i = 0; i < n; ++i) {
            if (i > 0) s += ' ';
            s += word();
        }
        return s;
    }

    std::string header(const std::string& domain, std::size_t serial) {
        std::string h;
        h += fmt::format("Return-Path: <bounces+{}@{}>\r\n", serial, domain);
        for (std::size_t i = uniform(2, 4); i > 0; --i)
            h += fmt::format(
                "Received: from mx{}.relay.example (mx{}.relay.example [198.51.100.{}])\r\n"
                "\tby mx.receiver.example with ESMTPS id {:x}\r\n"
                "\tfor <user{}@receiver.example>; Mon, 23 Nov 2026 10:{:02}:{:02} +0000\r\n",
                i, i, uniform(1, 254), rng_(), serial % 97, uniform(0, 59), uniform(0, 59));
        h += fmt::format("From: \"{}\" <{}@{}>\r\n", phrase(2), word(), domain);
        h += "To: ";
        for (std::size_t i = uniform(1, 3); i > 0; --i)
            h += fmt::format("user{}@receiver.example{}", uniform(1, 999),
                             i > 1 ? ",\r\n    " : "\r\n");
        if (chance(0.3))
            h += fmt::format("Cc:  {} <team{}@receiver.example>\r\n", word(), uniform(1, 50));
        // Long subjects arrive folded.
        if (chance(0.3))
            h +=
                fmt::format("Subject: {}\r\n {}\r\n", phrase(uniform(4, 8)), phrase(uniform(3, 6)));
        else
            h += fmt::format("Subject: {}\r\n", phrase(uniform(2, 8)));
        h += fmt::format("Date: Mon, 23 Nov 2026 10:{:02}:{:02} +0000\r\n", uniform(0, 59),
                         uniform(0, 59));
        h += fmt::format("Message-ID: <{:016x}.{}@{}>\r\n", rng_(), serial, domain);
        h += "MIME-Version: 1.0\r\n";
        h += chance(0.5) ? "Content-Type: text/plain; charset=utf-8\r\n"
                         : "Content-Type: text/plain;\r\n\tcharset=\"UTF-8\"; format=flowed\r\n";
        h += "Content-Transfer-Encoding: 8bit\r\n";
        if (chance(0.4))
            h += fmt::format("List-Unsubscribe: <https://{}/u/{:x}>\r\n", domain, rng_());
        h += fmt::format("X-Mailer: Mailer {}.{}\r\n", uniform(1, 9), uniform(0, 20));
        return h;
    }

    /// Lines of 0 to about 200 octets: many short and medium, some long, some empty; a few
    /// whitespace runs and trailing blanks (what relaxed canonicalization works on).
    void body(std::string& text, std::size_t target) {
        const std::size_t start = text.size();
        while (text.size() - start < target) {
            const std::size_t kind = uniform(0, 99);
            const std::size_t length = kind < 6    ? 0
                                       : kind < 36 ? uniform(5, 40)
                                       : kind < 86 ? uniform(40, 78)
                                                   : uniform(78, 200);
            std::string line;
            while (line.size() < length) {
                if (!line.empty()) line += chance(0.05) ? (chance(0.5) ? "  " : " \t") : " ";
                line += word();
            }
            if (chance(0.08)) line += chance(0.5) ? "  " : "\t";
            text += line;
            text += "\r\n";
        }
        for (std::size_t i = uniform(0, 2); i > 0; --i) text += "\r\n";
    }

    std::mt19937_64 rng_;
};

// ---- the corpus
// -----------------------------------------------------------------------------------

const rampart::Timestamp signing_time = rampart::Timestamp(std::chrono::seconds(1795428000));

struct Signed {
    std::string text;     // DKIM-Signature field on top of the message
    std::size_t key = 0;  // index into keys
};

struct Corpus {
    std::vector<SigningKey> keys;
    std::vector<Signed> messages;
    std::map<std::string, std::string> records;  // key name -> TXT text
    std::uint64_t bytes = 0;
    std::size_t rsa = 0, ed25519 = 0, relaxed_relaxed = 0, simple_simple = 0, relaxed_simple = 0;
};

struct CanonChoice {
    dkim::Canonicalization header, body;
};

CanonChoice pick_canon(std::size_t i) {
    using C = dkim::Canonicalization;
    switch (i % 10) {
        case 3: return {C::simple, C::simple};
        case 7: return {C::relaxed, C::simple};
        default: return {C::relaxed, C::relaxed};
    }
}

std::string sign_one(const std::string& text, const SigningKey& key, CanonChoice canon) {
    auto parsed = message::parse(text);
    if (!parsed)
        throw std::runtime_error("generated message does not parse: " + parsed.error().reason);
    dkim::SignOptions options;
    options.domain = key.domain;
    options.selector = key.selector;
    options.header_canon = canon.header;
    options.body_canon = canon.body;
    options.timestamp = signing_time;
    auto field = dkim::sign(*parsed, *key.key, options);
    if (!field) throw std::runtime_error("Rampart cannot sign: " + field.error().reason);
    return *field + "\r\n" + text;
}

Corpus make_corpus(const Options& options) {
    Corpus corpus;
    std::mt19937_64 rng(options.seed);
    corpus.keys = make_keys(rng);
    for (const auto& k : corpus.keys)
        corpus.records[dkim::dkim_key_name(k.selector, k.domain)] = k.record;
    MessageGenerator generator(options.seed * 7919 + 1);
    std::uniform_real_distribution<double> log_size(std::log(2000.0), std::log(50000.0));
    for (std::size_t i = 0; i < options.messages; ++i) {
        // Alternating algorithms: half RSA, half Ed25519; the domain varies independently.
        const std::size_t domain = static_cast<std::size_t>(rng() % 8);
        const std::size_t key_index = domain * 2 + (i % 2);
        const auto& key = corpus.keys[key_index];
        const auto size = static_cast<std::size_t>(std::exp(log_size(rng)));
        const auto canon = pick_canon(i / 2);
        Signed s{sign_one(generator.make(key.domain, size, i), key, canon), key_index};
        corpus.bytes += s.text.size();
        (key_index % 2 == 0 ? corpus.rsa : corpus.ed25519) += 1;
        using C = dkim::Canonicalization;
        if (canon.header == C::simple)
            ++corpus.simple_simple;
        else if (canon.body == C::simple)
            ++corpus.relaxed_simple;
        else
            ++corpus.relaxed_relaxed;
        corpus.messages.push_back(std::move(s));
    }
    return corpus;
}

/// messages/NNNNN.eml and keys.json for dkimpy_verify.py.
void write_corpus(const Corpus& corpus, const fs::path& dir) {
    fs::remove_all(dir);
    fs::create_directories(dir / "messages");
    for (std::size_t i = 0; i < corpus.messages.size(); ++i) {
        std::ofstream out(dir / "messages" / fmt::format("{:05}.eml", i), std::ios::binary);
        out << corpus.messages[i].text;
    }
    std::ofstream(dir / "keys.json") << nlohmann::json(corpus.records).dump(1) << "\n";
}

// ---- the implementations ------------------------------------------------------------------------

/// Why a message did not pass, for the mismatch list.
using Failure = std::pair<std::size_t, std::string>;

struct Tally {
    std::size_t pass = 0;
    std::vector<Failure> failures;  // the first few
    void add(std::size_t index, bool ok, const std::function<std::string()>& why) {
        if (ok)
            ++pass;
        else if (failures.size() < 5)
            failures.emplace_back(index, why());
    }
};

dkim::VerifyOptions verify_options() {
    dkim::VerifyOptions options;
    options.now = signing_time + std::chrono::hours(1);
    return options;
}

/// Rampart as a receiver streams a message: Reader (64 KiB chunks) + Verifier + BodyHasher.
std::string rampart_stream_verify(std::string_view text, dkim::KeyFetcher& keys) {
    rampart::MemorySource source(rampart::as_bytes(text));
    message::Reader reader(source);
    auto header = reader.header();
    if (!header) return "header: " + header.error().reason;
    dkim::BodyHasher hasher;
    dkim::Verifier verifier(keys, verify_options());
    verifier.start(*header, hasher);
    for (;;) {
        auto chunk = reader.body_chunk();
        if (!chunk) return "body: " + chunk.error().reason;
        if (chunk->empty()) break;
        hasher.update(*chunk);
    }
    hasher.finish();
    const auto results = verifier.finish(hasher);
    if (results.size() != 1) return fmt::format("{} results", results.size());
    return results[0].result == dkim::Outcome::pass ? ""
                                                    : results[0].code + ": " + results[0].reason;
}

/// The whole message in memory: message::parse + dkim::verify.
std::string rampart_whole_verify(std::string_view text, dkim::KeyFetcher& keys) {
    auto parsed = message::parse(text);
    if (!parsed) return "parse: " + parsed.error().reason;
    const auto results = dkim::verify(*parsed, keys, verify_options());
    if (results.size() != 1) return fmt::format("{} results", results.size());
    return results[0].result == dkim::Outcome::pass ? ""
                                                    : results[0].code + ": " + results[0].reason;
}

/// What the ceiling needs per message, prepared outside the timing with Rampart's own
/// canonicalization: the header hash input (§3.7) and the decoded b=.
struct CeilingItem {
    std::string_view message;
    std::string header_input;
    std::vector<std::uint8_t> signature;
    EVP_PKEY* key = nullptr;
    bool ed25519 = false;
};

std::vector<CeilingItem> prepare_ceiling(const Corpus& corpus) {
    std::vector<CeilingItem> items;
    for (const auto& m : corpus.messages) {
        auto parsed = message::parse(m.text);
        if (!parsed) throw std::runtime_error("ceiling: " + parsed.error().reason);
        const auto& field = parsed->header.fields.front();
        auto signature = dkim::parse_signature(field.value());
        if (!signature) throw std::runtime_error("ceiling: " + signature.error().reason);
        CeilingItem item;
        item.message = m.text;
        item.header_input = dkim::canonicalize_selected(parsed->header, signature->signed_headers,
                                                        signature->header_canon) +
                            dkim::canonicalize_signature_field(field, signature->header_canon);
        item.signature = signature->signature;
        item.key = corpus.keys[m.key].public_key.get();
        item.ed25519 = corpus.keys[m.key].key->type() == dkim::KeyType::ed25519;
        items.push_back(std::move(item));
    }
    return items;
}

/// One raw SHA-256 over the whole message bytes plus one signature verification with the
/// pre-loaded key: no parsing, no canonicalization, no key record. True when it verifies.
bool ceiling_verify(const CeilingItem& item, EVP_MD_CTX* ctx) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int digest_length = 0;
    if (EVP_Digest(item.message.data(), item.message.size(), digest, &digest_length, EVP_sha256(),
                   nullptr) != 1)
        return false;
    EVP_MD_CTX_reset(ctx);
    const auto* data = reinterpret_cast<const unsigned char*>(item.header_input.data());
    std::size_t length = item.header_input.size();
    unsigned char header_hash[32];
    if (item.ed25519) {
        // RFC 8463 §3: PureEdDSA over the SHA-256 of the header hash input.
        if (SHA256(data, length, header_hash) == nullptr) return false;
        data = header_hash;
        length = sizeof header_hash;
    }
    if (EVP_DigestVerifyInit(ctx, nullptr, item.ed25519 ? nullptr : EVP_sha256(), nullptr,
                             item.key) != 1)
        return false;
    return EVP_DigestVerify(ctx, item.signature.data(), item.signature.size(), data, length) == 1;
}

// ---- timing
// ---------------------------------------------------------------------------------------

struct Sample {
    double wall = 0, cpu = 0;  // seconds for the whole corpus
};

double thread_cpu_seconds() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

Sample timed(const std::function<void()>& work) {
    const auto wall0 = std::chrono::steady_clock::now();
    const double cpu0 = thread_cpu_seconds();
    work();
    return {std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count(),
            thread_cpu_seconds() - cpu0};
}

struct Series {
    std::string name;
    std::vector<Sample> samples;
    Tally tally;  // from the checked pass
    std::size_t messages = 0;

    [[nodiscard]] double median_wall() const {
        return median([](const Sample& s) { return s.wall; });
    }
    [[nodiscard]] double median_cpu() const {
        return median([](const Sample& s) { return s.cpu; });
    }
    [[nodiscard]] double rate() const { return static_cast<double>(messages) / median_wall(); }
    [[nodiscard]] double cpu_rate() const { return static_cast<double>(messages) / median_cpu(); }

private:
    [[nodiscard]] double median(double (*of)(const Sample&)) const {
        std::vector<double> v;
        for (const auto& s : samples) v.push_back(of(s));
        std::sort(v.begin(), v.end());
        return v.empty() ? 0.0 : v[v.size() / 2];
    }
};

/// The dkimpy subprocess over the written corpus; its own timing excludes interpreter start-up
/// and file reading.
std::optional<Series> run_dkimpy(const Options& options, const fs::path& corpus_dir, int reps) {
    Series series{.name = "dkimpy"};
    for (int r = 0; r < reps; ++r) {
        std::string command = options.python + " '" + options.dkimpy_script.string() + "' '" +
                              corpus_dir.string() + "'";
        if (options.dkimpy_messages > 0)
            command += fmt::format(" --limit {}", options.dkimpy_messages);
        std::FILE* pipe = ::popen(command.c_str(), "r");
        if (pipe == nullptr) return std::nullopt;
        std::string out;
        char buf[4096];
        for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, pipe)) > 0;) out.append(buf, n);
        if (::pclose(pipe) != 0) {
            std::cerr << "bench_dkim: dkimpy run failed: " << out << "\n";
            return std::nullopt;
        }
        const auto doc = nlohmann::json::parse(out);
        series.samples.push_back({doc["wall_s"].get<double>(), doc["cpu_s"].get<double>()});
        series.messages = doc["messages"].get<std::size_t>();
        series.tally.pass = doc["pass"].get<std::size_t>();
        series.tally.failures.clear();
        for (const auto& f : doc["failures"])
            series.tally.failures.emplace_back(0, f.get<std::string>());
    }
    return series;
}

// ---- report
// ---------------------------------------------------------------------------------------

std::string grouped(double n) {
    // Built by appending: g++ 12 warns falsely (-Wrestrict) on std::string::insert here.
    const std::string digits = fmt::format("{:.0f}", n);
    std::string out;
    for (std::size_t i = 0; i < digits.size(); ++i) {
        if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
        out += digits[i];
    }
    return out;
}

std::string cpu_model() {
    std::ifstream in("/proc/cpuinfo");
    for (std::string line; std::getline(in, line);)
        if (line.starts_with("model name"))
            return std::string(rampart::trim(line.substr(line.find(':') + 1)));
    return "unknown CPU";
}

/// One implementation under test: verifies message i, "" for pass, else why not.
struct Contender {
    Series series;
    std::function<std::string(std::size_t)> verify;
};

/// The checked pass (every contender once over every message, which also warms caches), then
/// `reps` timed passes, interleaved so that a change in the machine's load hits all alike.
void run_contenders(std::vector<Contender>& contenders, std::size_t messages, int reps) {
    for (std::size_t i = 0; i < messages; ++i) {
        for (auto& c : contenders) {
            const auto why = c.verify(i);
            c.series.tally.add(i, why.empty(), [&] { return why; });
        }
    }
    for (int r = 0; r < reps; ++r) {
        std::string line = fmt::format("bench_dkim: rep {}/{}:", r + 1, reps);
        for (auto& c : contenders) {
            c.series.samples.push_back(timed([&] {
                for (std::size_t i = 0; i < messages; ++i) static_cast<void>(c.verify(i));
            }));
            line += fmt::format(" {} {:.3f} s", c.series.name, c.series.samples.back().wall);
        }
        std::cout << line << "\n" << std::flush;
    }
    for (auto& c : contenders) c.series.messages = messages;
}

const Series* find_series(const std::vector<Series>& all, std::string_view name) {
    for (const auto& s : all)
        if (s.name == name) return &s;
    return nullptr;
}

/// The table and the goals; returns the number of messages some implementation did not pass.
std::size_t print_figures(const std::vector<Series>& all, int reps) {
    const auto* ceiling = find_series(all, "ceiling");
    const auto* rampart = find_series(all, "rampart");
    const auto* libopendkim = find_series(all, "libopendkim");
    const auto* dkimpy = find_series(all, "dkimpy");
    std::size_t mismatches = 0;
    std::cout << "\n-- DKIM verifications per second (single thread, medians of " << reps
              << " runs; dkimpy " << (dkimpy ? dkimpy->samples.size() : 0) << ")\n";
    for (const auto& s : all) {
        mismatches += s.messages - s.tally.pass;
        const std::string share =
            ceiling ? fmt::format("  x ceiling {:.3f}", s.rate() / ceiling->rate()) : std::string();
        std::cout << fmt::format(
            "  {:14} {:>9} verif/s (CPU {:>9}/s)  wall {:.3f} s for {} messages"
            "{}  pass {}/{}\n",
            s.name, grouped(s.rate()), grouped(s.cpu_rate()), s.median_wall(), s.messages, share,
            s.tally.pass, s.messages);
        for (const auto& [index, why] : s.tally.failures)
            std::cout << fmt::format("    !!! MISMATCH {} message {}: {}\n", s.name, index, why);
    }
    if (rampart && ceiling) {
        const double r = rampart->rate() / ceiling->rate();
        std::cout << fmt::format(
            "  Rampart / ceiling     = {:.1f}% (goal >= 50%: {}; CPU {:.1f}%)\n", 100 * r,
            r >= 0.5 ? "met" : "NOT MET", 100 * rampart->cpu_rate() / ceiling->cpu_rate());
    }
    if (rampart && libopendkim) {
        const double r = rampart->rate() / libopendkim->rate();
        std::cout << fmt::format(
            "  Rampart / libopendkim = {:.2f}x (goal >= 5x: {}; CPU {:.2f}x)\n", r,
            r >= 5 ? "met" : "NOT MET", rampart->cpu_rate() / libopendkim->cpu_rate());
    }
    if (rampart && dkimpy)
        std::cout << fmt::format("  Rampart / dkimpy      = {:.1f}x (CPU {:.1f}x)\n",
                                 rampart->rate() / dkimpy->rate(),
                                 rampart->cpu_rate() / dkimpy->cpu_rate());
    return mismatches;
}

nlohmann::json results_json(const Corpus& corpus, const Options& options,
                            const std::vector<Series>& all) {
    nlohmann::json doc = {{"messages", corpus.messages.size()},
                          {"bytes", corpus.bytes},
                          {"seed", options.seed},
                          {"reps", options.reps},
                          {"cpu", cpu_model()},
                          {"mix",
                           {{"rsa", corpus.rsa},
                            {"ed25519", corpus.ed25519},
                            {"relaxed_relaxed", corpus.relaxed_relaxed},
                            {"simple_simple", corpus.simple_simple},
                            {"relaxed_simple", corpus.relaxed_simple}}}};
    for (const auto& s : all) {
        nlohmann::json runs = nlohmann::json::array();
        for (const auto& sample : s.samples)
            runs.push_back({{"wall_s", sample.wall}, {"cpu_s", sample.cpu}});
        doc["series"][s.name] = {
            {"messages", s.messages},           {"pass", s.tally.pass},
            {"median_wall_s", s.median_wall()}, {"median_cpu_s", s.median_cpu()},
            {"verifications_per_s", s.rate()},  {"runs", runs}};
    }
    const auto* ceiling = find_series(all, "ceiling");
    const auto* rampart = find_series(all, "rampart");
    const auto* libopendkim = find_series(all, "libopendkim");
    if (rampart && ceiling) doc["rampart_vs_ceiling"] = rampart->rate() / ceiling->rate();
    if (rampart && libopendkim)
        doc["rampart_vs_libopendkim"] = rampart->rate() / libopendkim->rate();
    return doc;
}

}  // namespace

int main(int argc, char** argv) try {
    const auto parsed_options = parse_options(argc, argv);
    if (!parsed_options) return usage();
    const Options& options = *parsed_options;

    std::cout << fmt::format("bench_dkim: generating and signing {} messages (seed {}) ...\n",
                             options.messages, options.seed)
              << std::flush;
    const auto corpus = make_corpus(options);
    std::cout << fmt::format(
        "bench_dkim: {} messages, {:.1f} MB ({} rsa-sha256 RSA-2048, {} ed25519-sha256; "
        "c= {} relaxed/relaxed, {} simple/simple, {} relaxed/simple); 16 keys under 8 domains\n",
        corpus.messages.size(), static_cast<double>(corpus.bytes) / 1e6, corpus.rsa, corpus.ed25519,
        corpus.relaxed_relaxed, corpus.simple_simple, corpus.relaxed_simple);

    // Keys in the resolver cache: the zone answers through a CachingResolver, warmed below.
    dns::Zone zone;
    for (const auto& [name, text] : corpus.records)
        zone.add_txt(name, dkim::split_txt_strings(text), 86400);
    dns::CachingResolver cache(std::make_unique<dns::ZoneResolver>(zone));
    dkim::DnsKeyFetcher rampart_keys(cache);

    std::string error;
    auto opendkim = rampart::peer::Opendkim::open(
        [&corpus](std::string_view selector,
                  std::string_view domain) -> std::optional<std::string> {
            const auto it = corpus.records.find(dkim::dkim_key_name(selector, domain));
            if (it == corpus.records.end()) return std::nullopt;
            return it->second;
        },
        error);
    if (opendkim == nullptr) {
        std::cerr << "bench_dkim: " << error << "\n";
        return 1;
    }
    const auto ceiling_items = prepare_ceiling(corpus);
    MdCtx ctx(EVP_MD_CTX_new());

    std::vector<Contender> contenders;
    contenders.push_back({{.name = "ceiling"}, [&](std::size_t i) {
                              return ceiling_verify(ceiling_items[i], ctx.get())
                                         ? std::string()
                                         : "raw verify failed";
                          }});
    contenders.push_back({{.name = "rampart"}, [&](std::size_t i) {
                              return rampart_stream_verify(corpus.messages[i].text, rampart_keys);
                          }});
    contenders.push_back({{.name = "rampart_whole"}, [&](std::size_t i) {
                              return rampart_whole_verify(corpus.messages[i].text, rampart_keys);
                          }});
    contenders.push_back({{.name = "libopendkim"}, [&](std::size_t i) {
                              const auto verdict = opendkim->verify(corpus.messages[i].text);
                              return verdict.pass ? std::string() : verdict.detail;
                          }});
    if (!options.only.empty()) {
        std::erase_if(contenders,
                      [&](const Contender& c) { return c.series.name != options.only; });
        if (contenders.empty()) return usage();
    }
    run_contenders(contenders, corpus.messages.size(), options.reps);

    std::vector<Series> all;
    for (auto& c : contenders) all.push_back(std::move(c.series));
    if (!options.dkimpy_script.empty() && options.only.empty()) {
        const auto dir = options.out_dir / "dkim-corpus";
        write_corpus(corpus, dir);
        std::cout << "bench_dkim: dkimpy over " << dir.string() << " ...\n" << std::flush;
        auto dkimpy = run_dkimpy(options, dir, std::max(1, options.reps - 2));
        if (!dkimpy) return 1;
        all.push_back(std::move(*dkimpy));
    }
    const std::size_t mismatches = print_figures(all, options.reps);
    auto doc = results_json(corpus, options, all);
    doc["mismatches"] = mismatches;
    fs::create_directories(options.out_dir);
    std::ofstream(options.out_dir / "dkim.json") << doc.dump(2) << "\n";
    std::cout << "bench_dkim: results in " << (options.out_dir / "dkim.json").string() << "\n";
    if (mismatches > 0) {
        std::cout << fmt::format("BENCH FAILED: {} verification(s) did not pass\n", mismatches);
        return 1;
    }
    return 0;
} catch (const std::exception& e) {
    std::cerr << "bench_dkim: " << e.what() << "\n";
    return 1;
}
