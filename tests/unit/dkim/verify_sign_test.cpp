// RFC 6376 §5 (signing) and §6 (verifying), RFC 8301 (rsa-sha1 and short RSA keys refused),
// RFC 8463 (Ed25519): what we sign verifies, any change to what was signed fails, and each
// key or signature problem gets its own result and code (RFC 6376 §6.1.1–6.1.3).
#include <gtest/gtest.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>

#include <fmt/format.h>

#include "dkim/crypto.hpp"
#include "dkim/dkim.hpp"
#include "dns/zone.hpp"

namespace rampart::dkim {
namespace {

// ---------------------------------------------------------------------------------------------
// Test keys, generated once per run (never written anywhere but temporary test files).

struct PkeyFree {
    void operator()(EVP_PKEY* key) const noexcept { EVP_PKEY_free(key); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;

std::string pem_of(EVP_PKEY* key) {
    BIO* bio = BIO_new(BIO_s_mem());
    PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
    char* data = nullptr;
    const long size = BIO_get_mem_data(bio, &data);
    std::string pem(data, static_cast<std::size_t>(size));
    BIO_free(bio);
    return pem;
}

std::string generate_pem(const char* type, unsigned bits) {
    Pkey key(bits > 0 ? EVP_PKEY_Q_keygen(nullptr, nullptr, type, static_cast<size_t>(bits))
                      : EVP_PKEY_Q_keygen(nullptr, nullptr, type));
    return pem_of(key.get());
}

const std::string& rsa2048_pem() {
    static const std::string pem = generate_pem("RSA", 2048);
    return pem;
}
const std::string& other_rsa_pem() {
    static const std::string pem = generate_pem("RSA", 1024);
    return pem;
}
const std::string& rsa512_pem() {
    static const std::string pem = generate_pem("RSA", 512);
    return pem;
}
const std::string& ed25519_pem() {
    static const std::string pem = generate_pem("ED25519", 0);
    return pem;
}

PrivateKey load(const std::string& pem) {
    auto key = PrivateKey::from_pem(pem);
    EXPECT_TRUE(key) << key.error().reason;
    return std::move(*key);
}

std::string record_for(const PrivateKey& key, std::string_view extra = "") {
    auto text = format_key_record(key.type(), key.public_key());
    EXPECT_TRUE(text) << text.error().reason;
    // The extra tags go after "v=DKIM1; ", which must stay first.
    return text->insert(9, extra);
}

// ---------------------------------------------------------------------------------------------
// Keys in memory, counting look-ups.

class MemoryKeys final : public KeyFetcher {
public:
    void publish(std::string_view selector, std::string_view domain, std::string text) {
        records_[dkim_key_name(selector, domain)] = std::move(text);
    }
    void fail(std::string_view selector, std::string_view domain) {
        failing_.insert(dkim_key_name(selector, domain));
    }
    KeyLookup fetch(std::string_view selector, std::string_view domain) override {
        ++fetches;
        const std::string name = dkim_key_name(selector, domain);
        if (failing_.contains(name)) {
            return {.status = KeyLookup::Status::temperror,
                    .record = {},
                    .record_text = {},
                    .reason = "timeout"};
        }
        const auto found = records_.find(name);
        if (found == records_.end()) return key_lookup_from_records(name, {});
        return key_lookup_from_records(name, std::span(&found->second, 1));
    }
    int fetches = 0;

private:
    std::map<std::string, std::string> records_;
    std::set<std::string> failing_;
};

constexpr std::string_view message_text =
    "Received: from relay.example.net by mx.example.org; Tue, 1 Jul 2025 10:00:00 +0000\r\n"
    "From: Joe SixPack <joe@example.com>\r\n"
    "To: Suzie Q <suzie@example.org>\r\n"
    "Subject: Is dinner   ready?\r\n"
    "Date: Tue, 1 Jul 2025 09:59:00 +0000\r\n"
    "Message-ID: <1234@example.com>\r\n"
    "\r\n"
    "Hi.\r\n"
    "\r\n"
    "We lost the game.  Are you hungry yet?\r\n"
    "\r\n"
    "Joe.\r\n"
    "\r\n";

message::Message parse(std::string_view text) {
    auto message = message::parse(text);
    EXPECT_TRUE(message) << message.error().reason;
    return std::move(*message);
}

SignOptions options_for(std::string_view selector = "sel") {
    SignOptions options;
    options.domain = "example.com";
    options.selector = std::string(selector);
    return options;
}

/// The message with the signature on top, as text.
std::string signed_text(std::string_view text, const PrivateKey& key, const SignOptions& options) {
    auto field = sign(parse(text), key, options);
    EXPECT_TRUE(field) << field.error().reason;
    return *field + "\r\n" + std::string(text);
}

std::vector<SignatureResult> verify_text(std::string_view text, KeyFetcher& keys,
                                         const VerifyOptions& options = {}) {
    return verify(parse(text), keys, options);
}

void expect_result(const SignatureResult& result, Outcome outcome, std::string_view code) {
    EXPECT_EQ(to_string(result.result), to_string(outcome)) << result.reason;
    EXPECT_EQ(result.code, code) << result.reason;
    EXPECT_FALSE(result.reason.empty());
}

std::string replace(std::string text, std::string_view from, std::string_view to) {
    const auto at = text.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    if (at != std::string::npos) text.replace(at, from.size(), to);
    return text;
}

// ---------------------------------------------------------------------------------------------
// Round trips

struct RoundTrip {
    const char* name;
    const std::string& (*pem)();
    Canonicalization header;
    Canonicalization body;
    bool length;
};

class SignVerifyRoundTrip : public ::testing::TestWithParam<RoundTrip> {};

TEST_P(SignVerifyRoundTrip, WhatWeSignVerifiesAndTamperingFails) {
    const auto& param = GetParam();
    const PrivateKey key = load(param.pem());
    MemoryKeys keys;
    keys.publish("sel", "example.com", record_for(key));
    SignOptions options = options_for();
    options.header_canon = param.header;
    options.body_canon = param.body;
    options.body_length = param.length;
    const std::string text = signed_text(message_text, key, options);

    auto results = verify_text(text, keys);
    ASSERT_EQ(results.size(), 1u);
    expect_result(results[0], Outcome::pass, "pass");
    EXPECT_EQ(results[0].domain, "example.com");
    EXPECT_EQ(results[0].header_canon, param.header);
    EXPECT_EQ(results[0].key_type, key.type());
    EXPECT_EQ(results[0].body_length.has_value(), param.length);

    // A signed header changed.
    expect_result(verify_text(replace(text, "Subject: Is dinner", "Subject: Is lunch"), keys)[0],
                  Outcome::fail, "signature-mismatch");
    // The body changed.
    expect_result(verify_text(replace(text, "We lost", "We LOST"), keys)[0], Outcome::fail,
                  "body-hash-mismatch");
    // Text appended to the body: l= leaves the tail unsigned (the weakness RFC 6376 §8.2 names).
    const auto appended = verify_text(text + "Buy now!\r\n", keys)[0];
    if (param.length) {
        expect_result(appended, Outcome::pass, "pass");
        EXPECT_GT(appended.body_octets, *appended.body_length);
    } else {
        expect_result(appended, Outcome::fail, "body-hash-mismatch");
    }
    // A second From added on top: From is over-signed, so this breaks the signature.
    const auto sig_end = text.find("\r\nReceived:") + 2;
    std::string added = text;
    added.insert(sig_end, "From: Mallory <boss@example.com>\r\n");
    expect_result(verify_text(added, keys)[0], Outcome::fail, "signature-mismatch");
    // An unsigned field added anywhere changes nothing.
    std::string unsigned_field = text;
    unsigned_field.insert(sig_end, "X-Spam-Score: 0\r\n");
    expect_result(verify_text(unsigned_field, keys)[0], Outcome::pass, "pass");
}

const std::string& rsa() { return rsa2048_pem(); }
const std::string& ed() { return ed25519_pem(); }

INSTANTIATE_TEST_SUITE_P(
    KeysAndCanonicalizations, SignVerifyRoundTrip,
    ::testing::Values(
        RoundTrip{"rsa_simple", &rsa, Canonicalization::simple, Canonicalization::simple, false},
        RoundTrip{"rsa_relaxed", &rsa, Canonicalization::relaxed, Canonicalization::relaxed, false},
        RoundTrip{"rsa_simple_l", &rsa, Canonicalization::simple, Canonicalization::simple, true},
        RoundTrip{"rsa_relaxed_l", &rsa, Canonicalization::relaxed, Canonicalization::relaxed,
                  true},
        RoundTrip{"ed_simple", &ed, Canonicalization::simple, Canonicalization::simple, false},
        RoundTrip{"ed_relaxed", &ed, Canonicalization::relaxed, Canonicalization::relaxed, false},
        RoundTrip{"ed_simple_l", &ed, Canonicalization::simple, Canonicalization::simple, true},
        RoundTrip{"ed_relaxed_l", &ed, Canonicalization::relaxed, Canonicalization::relaxed, true},
        RoundTrip{"mixed", &ed, Canonicalization::relaxed, Canonicalization::simple, false}),
    [](const ::testing::TestParamInfo<RoundTrip>& case_info) {
        return std::string(case_info.param.name);
    });

// ---------------------------------------------------------------------------------------------
// Verification outcomes

class Verification : public ::testing::Test {
protected:
    void SetUp() override { keys.publish("sel", "example.com", record_for(key)); }

    std::string signed_with(const SignOptions& options) {
        return signed_text(message_text, key, options);
    }

    PrivateKey key = load(rsa2048_pem());
    MemoryKeys keys;
};

TEST_F(Verification, BodyShorterThanLengthTagFails) {
    SignOptions options = options_for();
    options.body_length = true;
    const std::string text = signed_with(options);
    const std::string cut = text.substr(0, text.find("Joe.\r\n"));
    const auto result = verify_text(cut, keys)[0];
    expect_result(result, Outcome::fail, "body-too-short");
    EXPECT_LT(result.body_octets, *result.body_length);
}

TEST_F(Verification, WrongKeyIsSignatureMismatch) {
    const std::string text = signed_with(options_for());
    MemoryKeys other;
    other.publish("sel", "example.com", record_for(load(other_rsa_pem())));
    expect_result(verify_text(text, other)[0], Outcome::fail, "signature-mismatch");
}

TEST_F(Verification, RevokedKey) {
    const std::string text = signed_with(options_for());
    MemoryKeys revoked;
    revoked.publish("sel", "example.com", "v=DKIM1; k=rsa; p=");
    expect_result(verify_text(text, revoked)[0], Outcome::permerror, "key-revoked");
}

TEST_F(Verification, NoKeyAndTemporaryFailure) {
    const std::string text = signed_with(options_for("missing"));
    expect_result(verify_text(text, keys)[0], Outcome::permerror, "key-not-found");
    keys.fail("missing", "example.com");
    expect_result(verify_text(text, keys)[0], Outcome::temperror, "key-temperror");
}

TEST_F(Verification, InvalidKeyRecordIsUnusable) {
    const std::string text = signed_with(options_for());
    MemoryKeys bad;
    bad.publish("sel", "example.com", "v=DKIM1: k=rsa; p=MIGf");
    expect_result(verify_text(text, bad)[0], Outcome::permerror, "key-unusable");
    MemoryKeys garbage;
    garbage.publish("sel", "example.com", "v=DKIM1; k=rsa; p=AAAA");
    expect_result(verify_text(text, garbage)[0], Outcome::permerror, "key-unusable");
}

TEST_F(Verification, ExpiredAndFutureSignatures) {
    const Timestamp signed_at{std::chrono::seconds(1'700'000'000)};
    SignOptions options = options_for();
    options.timestamp = signed_at;
    options.expiration = signed_at + std::chrono::hours(1);
    const std::string text = signed_with(options);

    VerifyOptions verify_options;
    verify_options.now = signed_at + std::chrono::minutes(30);
    expect_result(verify_text(text, keys, verify_options)[0], Outcome::pass, "pass");
    verify_options.now = signed_at + std::chrono::hours(1) + std::chrono::seconds(200);  // skew
    expect_result(verify_text(text, keys, verify_options)[0], Outcome::pass, "pass");
    verify_options.now = signed_at + std::chrono::hours(2);
    expect_result(verify_text(text, keys, verify_options)[0], Outcome::permerror, "expired");
    verify_options.now = signed_at - std::chrono::hours(1);
    expect_result(verify_text(text, keys, verify_options)[0], Outcome::permerror, "future");
    verify_options.now = Timestamp{};  // no clock: times are not checked
    expect_result(verify_text(text, keys, verify_options)[0], Outcome::pass, "pass");
}

/// A signature made outside our Signer, as old signers made rsa-sha1 ones.
std::string sign_rsa_sha1(std::string_view text, const std::string& pem) {
    const message::Message message = parse(text);
    const std::string field_text =
        "DKIM-Signature: v=1; a=rsa-sha1; c=relaxed/relaxed; d=example.com; s=sel; h=From:Subject; "
        "bh=" +
        crypto::base64_encode(crypto::digest(HashAlgorithm::sha1,
                                             "Hi.\r\n\r\nWe lost the game. Are "
                                             "you hungry yet?\r\n\r\nJoe.\r\n")) +
        "; b=";
    const std::vector<std::string> names = {"From", "Subject"};
    std::string data = canonicalize_selected(message.header, names, Canonicalization::relaxed);
    data += canonicalize_signature_field(message::Field{.raw = field_text, .colon = 14},
                                         Canonicalization::relaxed);
    BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
    Pkey key(PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr));
    BIO_free(bio);
    EVP_MD_CTX* context = EVP_MD_CTX_new();
    EVP_DigestSignInit(context, nullptr, EVP_sha1(), nullptr, key.get());
    std::size_t size = 0;
    EVP_DigestSign(context, nullptr, &size, reinterpret_cast<const unsigned char*>(data.data()),
                   data.size());
    std::vector<std::uint8_t> signature(size);
    EVP_DigestSign(context, signature.data(), &size,
                   reinterpret_cast<const unsigned char*>(data.data()), data.size());
    EVP_MD_CTX_free(context);
    signature.resize(size);
    return field_text + crypto::base64_encode(signature) + "\r\n" + std::string(text);
}

TEST_F(Verification, RsaSha1IsRefusedUnlessAllowed) {
    const std::string text = sign_rsa_sha1(message_text, rsa2048_pem());
    expect_result(verify_text(text, keys)[0], Outcome::permerror, "rsa-sha1");
    VerifyOptions allow;
    allow.allow_rsa_sha1 = true;
    expect_result(verify_text(text, keys, allow)[0], Outcome::pass, "pass");
    // A key that allows only sha256 refuses it even then.
    MemoryKeys sha256_only;
    sha256_only.publish("sel", "example.com", record_for(key, "h=sha256; "));
    expect_result(verify_text(text, sha256_only, allow)[0], Outcome::permerror, "hash-not-allowed");
}

TEST_F(Verification, ShortRsaKeyIsRefused) {
    const PrivateKey weak = load(rsa512_pem());
    EXPECT_EQ(weak.bits(), 512u);
    MemoryKeys weak_keys;
    weak_keys.publish("sel", "example.com", record_for(weak));
    const std::string text = signed_text(message_text, weak, options_for());
    const auto result = verify_text(text, weak_keys)[0];
    expect_result(result, Outcome::permerror, "key-too-short");
    EXPECT_EQ(result.key_bits, 512u);
    VerifyOptions lenient;
    lenient.min_rsa_bits = 512;
    expect_result(verify_text(text, weak_keys, lenient)[0], Outcome::pass, "pass");
}

TEST_F(Verification, StrictKeyRefusesSubdomainIdentity) {
    keys.publish("sel", "example.com", record_for(key, "t=s; "));
    SignOptions options = options_for();
    options.identity = "joe@mail.example.com";
    expect_result(verify_text(signed_with(options), keys)[0], Outcome::permerror,
                  "strict-identity");
    options.identity = "joe@example.com";
    expect_result(verify_text(signed_with(options), keys)[0], Outcome::pass, "pass");
}

TEST_F(Verification, TlsrptKeyIsNotForEmail) {
    keys.publish("sel", "example.com", record_for(key, "s=tlsrpt; "));
    expect_result(verify_text(signed_with(options_for()), keys)[0], Outcome::permerror,
                  "service-not-email");
}

TEST_F(Verification, KeyTypeMismatch) {
    const PrivateKey ed_key = load(ed25519_pem());
    const std::string text = signed_text(message_text, ed_key, options_for());
    expect_result(verify_text(text, keys)[0], Outcome::permerror, "key-type-mismatch");
}

TEST_F(Verification, Sha1OnlyKeyRefusesSha256) {
    keys.publish("sel", "example.com", record_for(key, "h=sha1; "));
    expect_result(verify_text(signed_with(options_for()), keys)[0], Outcome::permerror,
                  "hash-not-allowed");
}

TEST_F(Verification, KeyTestingFlagIsReported) {
    keys.publish("sel", "example.com", record_for(key, "t=y; "));
    const auto result = verify_text(signed_with(options_for()), keys)[0];
    expect_result(result, Outcome::pass, "pass");
    EXPECT_TRUE(result.key_testing);
}

TEST_F(Verification, MalformedAndUnknownAlgorithm) {
    const std::string text = signed_with(options_for());
    expect_result(verify_text(replace(text, "v=1;", "v=2;"), keys)[0], Outcome::permerror,
                  "malformed");
    expect_result(verify_text(replace(text, "a=rsa-sha256", "a=rsa-sha512"), keys)[0],
                  Outcome::permerror, "unknown-algorithm");
}

TEST_F(Verification, TooManySignaturesAndOneLookupPerSelector) {
    std::string text(message_text);
    for (int i = 0; i < 3; ++i) text = signed_text(text, key, options_for());
    VerifyOptions options;
    options.max_signatures = 2;
    const auto results = verify_text(text, keys, options);
    ASSERT_EQ(results.size(), 3u);
    // Each later signature covers the earlier ones' fields only when named; all three pass as
    // far as they are checked.
    expect_result(results[0], Outcome::pass, "pass");
    expect_result(results[1], Outcome::pass, "pass");
    expect_result(results[2], Outcome::permerror, "too-many-signatures");
    EXPECT_EQ(results[0].field_index, 0u);
    EXPECT_EQ(results[2].field_index, 2u);
    EXPECT_EQ(keys.fetches, 1);
}

TEST(DnsKeys, LookupJoinsStringsSkipsOtherTextAndTellsFailuresApart) {
    const PrivateKey key = load(rsa2048_pem());
    const std::string record = record_for(key);
    dns::Zone zone;
    zone.add_txt("sel._domainkey.example.com", "google-site-verification=abc");
    zone.add_txt("sel._domainkey.example.com", record);  // split into 255-octet strings
    zone.add_txt("other.example.com", "v=spf1 -all");
    zone.fail("slow._domainkey.example.com", dns::Status::timeout);
    dns::ZoneResolver resolver(zone);
    DnsKeyFetcher fetcher(resolver);

    const auto found = fetcher.fetch("sel", "example.com");
    ASSERT_EQ(found.status, KeyLookup::Status::found) << found.reason;
    EXPECT_EQ(found.record_text, record);
    EXPECT_EQ(found.record->key_bits, 2048u);
    EXPECT_EQ(fetcher.fetch("none", "example.com").status, KeyLookup::Status::no_key);
    EXPECT_EQ(fetcher.fetch("slow", "example.com").status, KeyLookup::Status::temperror);
    const auto bad_name = fetcher.fetch("a..b", "example.com");
    EXPECT_EQ(bad_name.status, KeyLookup::Status::no_key);
    EXPECT_FALSE(bad_name.reason.empty());
    EXPECT_EQ(resolver.queries(), 3u);  // the bad name was never asked
}

// ---------------------------------------------------------------------------------------------
// Signing

TEST(Signing, FieldLayoutTagOrderAndFolding) {
    const PrivateKey key = load(rsa2048_pem());
    SignOptions options = options_for();
    options.timestamp = Timestamp{std::chrono::seconds(1'700'000'000)};
    options.expiration = Timestamp{std::chrono::seconds(1'700'086'400)};
    options.identity = "@example.com";
    options.body_length = true;
    auto field = sign(parse(message_text), key, options);
    ASSERT_TRUE(field) << field.error().reason;
    EXPECT_TRUE(
        field->starts_with("DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; "
                           "d=example.com; s=sel;"));
    EXPECT_FALSE(field->ends_with("\r\n"));
    auto tags = parse_tag_list(std::string_view(*field).substr(15));
    ASSERT_TRUE(tags) << tags.error().reason;
    std::vector<std::string> names;
    for (const auto& tag : *tags) names.push_back(tag.name);
    EXPECT_EQ(names, (std::vector<std::string>{"v", "a", "c", "d", "s", "t", "x", "i", "l", "h",
                                               "bh", "b"}));
    std::size_t line_start = 0;
    while (line_start < field->size()) {
        auto end = field->find("\r\n", line_start);
        if (end == std::string::npos) end = field->size();
        EXPECT_LE(end - line_start, 78u) << field->substr(line_start, end - line_start);
        if (end < field->size()) {
            EXPECT_EQ((*field)[end + 2], '\t');
        }
        line_start = end + 2;
    }
    // Over-signed: each present field once more than it occurs; absent defaults not named.
    const auto sig = parse_signature(std::string_view(*field).substr(15));
    ASSERT_TRUE(sig) << sig.error().reason;
    EXPECT_EQ(sig->signed_headers,
              (std::vector<std::string>{"From", "From", "Subject", "Subject", "Date", "Date", "To",
                                        "To", "Message-ID", "Message-ID"}));
}

TEST(Signing, ExplicitHeadersWithoutOversigningStillSignFrom) {
    const PrivateKey key = load(ed25519_pem());
    SignOptions options = options_for();
    options.headers = {"Subject", "Received", "X-Absent"};
    options.oversign = false;
    auto field = sign(parse(message_text), key, options);
    ASSERT_TRUE(field);
    const auto sig = parse_signature(std::string_view(*field).substr(15));
    ASSERT_TRUE(sig);
    EXPECT_EQ(sig->algorithm, Algorithm::ed25519_sha256);
    EXPECT_EQ(sig->signed_headers,
              (std::vector<std::string>{"From", "Subject", "Received", "X-Absent"}));
}

TEST(Signing, StartRefusals) {
    const PrivateKey rsa_key = load(rsa2048_pem());
    const PrivateKey ed_key = load(ed25519_pem());
    auto no_from = sign(parse("To: a@example.org\r\n\r\nbody\r\n"), rsa_key, options_for());
    ASSERT_FALSE(no_from);
    EXPECT_EQ(no_from.error().code, Errc::malformed);
    SignOptions options = options_for();
    options.algorithm = Algorithm::rsa_sha256;
    auto mismatch = sign(parse(message_text), ed_key, options);
    ASSERT_FALSE(mismatch);
    EXPECT_EQ(mismatch.error().code, Errc::unsupported);
    options.algorithm = Algorithm::rsa_sha1;
    auto sha1 = sign(parse(message_text), rsa_key, options);
    ASSERT_FALSE(sha1);
    EXPECT_EQ(sha1.error().code, Errc::unsupported);
    EXPECT_FALSE(sign_data(rsa_key, Algorithm::ed25519_sha256, "x"));
}

// ---------------------------------------------------------------------------------------------
// Private key files

class KeyFile : public ::testing::Test {
protected:
    void SetUp() override {
        dir = std::filesystem::temp_directory_path() /
              fmt::format("rampart-dkim-test-{}-{}", ::getpid(),
                          ::testing::UnitTest::GetInstance()->current_test_info()->name());
        std::filesystem::create_directories(dir);
    }
    void TearDown() override { std::filesystem::remove_all(dir); }

    std::filesystem::path write(std::string_view name, std::string_view text, mode_t mode) {
        const auto path = dir / name;
        std::ofstream(path) << text;
        ::chmod(path.c_str(), mode);
        return path;
    }

    std::filesystem::path dir;
};

TEST_F(KeyFile, RefusesAFileOthersCanReadAcceptsMode0600) {
    const auto open = write("open.pem", rsa2048_pem(), 0644);
    auto refused = PrivateKey::from_file(open);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, Errc::denied);
    EXPECT_NE(refused.error().reason.find("0644"), std::string::npos);
    EXPECT_EQ(refused.error().reason.find("PRIVATE KEY"), std::string::npos);  // no key text

    const auto closed = write("closed.pem", rsa2048_pem(), 0600);
    auto key = PrivateKey::from_file(closed);
    ASSERT_TRUE(key) << key.error().reason;
    EXPECT_EQ(key->type(), KeyType::rsa);
    EXPECT_EQ(key->bits(), 2048u);
}

TEST_F(KeyFile, ReadsDkimpyBase64Ed25519Seed) {
    // RFC 8032 §7.1 test 1 = the RFC 8463 "brisbane" key, as dkimpy stores it.
    const auto path = write("ed.key", "nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=\n", 0600);
    auto key = PrivateKey::from_file(path);
    ASSERT_TRUE(key) << key.error().reason;
    EXPECT_EQ(key->type(), KeyType::ed25519);
    EXPECT_EQ(crypto::base64_encode(key->public_key()),
              "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=");
    EXPECT_FALSE(PrivateKey::from_file(write("junk.key", "not a key\n", 0600)));
}

TEST(PrivateKeyPem, Pkcs1AndPkcs8AndRefusals) {
    const PrivateKey pkcs8 = load(rsa2048_pem());
    EXPECT_EQ(pkcs8.type(), KeyType::rsa);
    // The same key in PKCS#1 ("RSA PRIVATE KEY").
    BIO* in = BIO_new_mem_buf(rsa2048_pem().data(), static_cast<int>(rsa2048_pem().size()));
    Pkey pkey(PEM_read_bio_PrivateKey(in, nullptr, nullptr, nullptr));
    BIO_free(in);
    BIO* out = BIO_new(BIO_s_mem());
    PEM_write_bio_PrivateKey_traditional(out, pkey.get(), nullptr, nullptr, 0, nullptr, nullptr);
    char* data = nullptr;
    const long size = BIO_get_mem_data(out, &data);
    const std::string pkcs1(data, static_cast<std::size_t>(size));
    BIO_free(out);
    ASSERT_NE(pkcs1.find("BEGIN RSA PRIVATE KEY"), std::string::npos);
    auto key = PrivateKey::from_pem(pkcs1);
    ASSERT_TRUE(key) << key.error().reason;
    EXPECT_EQ(key->public_key(), pkcs8.public_key());
    EXPECT_FALSE(
        PrivateKey::from_pem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"));
    EXPECT_FALSE(PrivateKey::ed25519_from_seed(std::vector<std::uint8_t>(31)));
}

}  // namespace
}  // namespace rampart::dkim
