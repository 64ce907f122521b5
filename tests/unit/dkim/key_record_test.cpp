// DKIM key records, RFC 6376 §3.6.1: "v= ... if present MUST be the first tag", "p= ... An empty
// value means that this public key has been revoked", "Unrecognized tags MUST be ignored";
// §3.2 duplicate tags invalidate the tag-list. RFC 8301 §3.2: verifiers MUST NOT consider RSA
// keys under 1024 bits. RFC 8463 §4.2: Ed25519 p= is the raw 32-octet key.
#include <gtest/gtest.h>

#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <algorithm>
#include <memory>

#include "dkim/dkim.hpp"
#include "support.hpp"

namespace rampart::dkim {
namespace {

struct PkeyFree {
    void operator()(EVP_PKEY* key) const noexcept { EVP_PKEY_free(key); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;

Pkey rsa_key(unsigned bits) {
    Pkey key(EVP_RSA_gen(bits));
    EXPECT_TRUE(key);
    return key;
}

Pkey ed25519_key() {
    Pkey key(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
    EXPECT_TRUE(key);
    return key;
}

std::vector<std::uint8_t> spki_der(EVP_PKEY* key) {
    unsigned char* out = nullptr;
    const int n = i2d_PUBKEY(key, &out);
    std::vector<std::uint8_t> der(out, out + (n > 0 ? n : 0));
    OPENSSL_free(out);
    return der;
}

std::vector<std::uint8_t> pkcs1_der(EVP_PKEY* key) {
    unsigned char* out = nullptr;
    const int n = i2d_PublicKey(key, &out);
    std::vector<std::uint8_t> der(out, out + (n > 0 ? n : 0));
    OPENSSL_free(out);
    return der;
}

std::string base64(const std::vector<std::uint8_t>& bytes) {
    std::string out((bytes.size() + 2) / 3 * 4 + 1, '\0');
    const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), bytes.data(),
                                  static_cast<int>(bytes.size()));
    out.resize(static_cast<std::size_t>(n));
    return out;
}

KeyRecord parse_ok(std::string_view text) {
    auto record = parse_key_record(text);
    EXPECT_TRUE(record.has_value()) << text << ": " << (record ? "" : record.error().reason);
    return record ? *record : KeyRecord{};
}

const Diagnostic* find(const KeyRecord& r, std::string_view code) {
    auto it = std::find_if(r.diagnostics.begin(), r.diagnostics.end(),
                           [&](const Diagnostic& d) { return d.code == code; });
    return it == r.diagnostics.end() ? nullptr : &*it;
}

std::string refused(std::string_view text) {
    auto record = parse_key_record(text);
    EXPECT_FALSE(record.has_value()) << text;
    return record ? "" : record.error().reason;
}

TEST(DkimKeyRecord, Rsa2048SpkiIsFine) {
    auto key = rsa_key(2048);
    const auto r = parse_ok("v=DKIM1; k=rsa; p=" + base64(spki_der(key.get())));
    EXPECT_EQ(r.version, "DKIM1");
    EXPECT_EQ(r.key_type, KeyType::rsa);
    EXPECT_EQ(r.key_bits, 2048u);
    EXPECT_EQ(r.key_format, "spki");
    EXPECT_TRUE(r.usable());
    EXPECT_TRUE(r.diagnostics.empty());
}

TEST(DkimKeyRecord, BarePkcs1RsaKeyIsAccepted) {
    auto key = rsa_key(2048);
    const auto r = parse_ok("k=rsa; p=" + base64(pkcs1_der(key.get())));
    EXPECT_EQ(r.key_format, "pkcs1");
    EXPECT_EQ(r.key_bits, 2048u);
    EXPECT_TRUE(r.usable());
}

TEST(DkimKeyRecord, RsaStrengthFollowsRfc8301) {
    for (const auto& [bits, code, severity] :
         std::vector<std::tuple<unsigned, std::string, Severity>>{
             {512, "rsa-too-short", Severity::error},
             {768, "rsa-too-short", Severity::error},
             {1024, "rsa-weak", Severity::warning}}) {
        auto key = rsa_key(bits);
        const auto r = parse_ok("v=DKIM1; p=" + base64(spki_der(key.get())));
        EXPECT_EQ(r.key_bits, bits);
        const auto* d = find(r, code);
        ASSERT_NE(d, nullptr) << bits;
        EXPECT_EQ(d->severity, severity);
        EXPECT_EQ(r.usable(), severity != Severity::error) << bits;
    }
}

TEST(DkimKeyRecord, Ed25519RawKey) {
    auto key = ed25519_key();
    std::vector<std::uint8_t> raw(32);
    std::size_t size = raw.size();
    ASSERT_EQ(EVP_PKEY_get_raw_public_key(key.get(), raw.data(), &size), 1);
    const auto r = parse_ok("v=DKIM1; k=ed25519; p=" + base64(raw));
    EXPECT_EQ(r.key_type, KeyType::ed25519);
    EXPECT_EQ(r.key_bits, 256u);
    EXPECT_EQ(r.key_format, "raw-ed25519");
    EXPECT_EQ(r.public_key, raw);
    EXPECT_TRUE(r.usable());
}

TEST(DkimKeyRecord, Ed25519InSpkiFormIsAnError) {
    auto key = ed25519_key();
    const auto r = parse_ok("v=DKIM1; k=ed25519; p=" + base64(spki_der(key.get())));
    EXPECT_EQ(r.key_format, "spki");
    ASSERT_NE(find(r, "bad-key"), nullptr);
    EXPECT_NE(find(r, "bad-key")->message.find("raw 32-octet"), std::string::npos);
    EXPECT_FALSE(r.usable());
}

// Fuzz finding (fuzz/seeds/dkim_key/crash-ed25519-spki-under-k-rsa): an Ed25519 key under the
// default k=rsa was reported as a 253-bit "rsa" key in SPKI form.
TEST(DkimKeyRecord, KeyOfAnotherTypeThanKSaysHasNoSize) {
    auto ed = ed25519_key();
    const auto r = parse_ok("v=DKIM1; p=" + base64(spki_der(ed.get())));
    EXPECT_EQ(r.key_type, KeyType::rsa);
    EXPECT_EQ(r.key_bits, 0u);
    EXPECT_EQ(r.key_format, "");
    ASSERT_NE(find(r, "bad-key"), nullptr);
    EXPECT_NE(find(r, "bad-key")->message.find("Ed25519 key, but k= says rsa"), std::string::npos);

    auto rsa = rsa_key(1024);
    const auto e = parse_ok("k=ed25519; p=" + base64(spki_der(rsa.get())));
    EXPECT_EQ(e.key_bits, 0u);
    EXPECT_NE(find(e, "bad-key")->message.find("RSA key, but k= says ed25519"), std::string::npos);
}

TEST(DkimKeyRecord, Ed25519OfTheWrongLength) {
    const auto r = parse_ok("k=ed25519; p=AAAA");
    ASSERT_NE(find(r, "bad-key"), nullptr);
    EXPECT_NE(find(r, "bad-key")->message.find("holds 3"), std::string::npos);
}

TEST(DkimKeyRecord, EmptyPIsRevoked) {
    for (const auto* text : {"v=DKIM1; p=", "v=DKIM1; k=rsa; p= ;", "p="}) {
        const auto r = parse_ok(text);
        EXPECT_TRUE(r.revoked) << text;
        EXPECT_FALSE(r.usable());
        ASSERT_NE(find(r, "revoked"), nullptr);
        EXPECT_EQ(find(r, "revoked")->severity, Severity::warning);
    }
}

TEST(DkimKeyRecord, FoldingWhitespaceInsideP) {
    auto key = rsa_key(1024);
    auto b64 = base64(spki_der(key.get()));
    b64.insert(40, " \r\n\t");
    b64.insert(10, " ");
    const auto r = parse_ok("v = DKIM1 ;\r\n k = rsa ; p = " + b64 + " ; ");
    EXPECT_EQ(r.key_bits, 1024u);
}

TEST(DkimKeyRecord, TagListErrorsMakeTheRecordInvalid) {
    EXPECT_NE(refused("k=rsa; v=DKIM1; p=").find("not the first"), std::string::npos);
    EXPECT_NE(refused("v=DKIM2; p=").find("\"DKIM2\""), std::string::npos);
    EXPECT_NE(refused("v=DKIM1: g=*; k=rsa; p=").find("\"DKIM1: g=*\""), std::string::npos);
    EXPECT_NE(refused("v=DKIM1; p=; p=").find("twice"), std::string::npos);
    EXPECT_NE(refused("v=DKIM1; k=rsa").find("no p="), std::string::npos);
    EXPECT_NE(refused("v=DKIM1; garbage; p=").find("not a tag=value"), std::string::npos);
    EXPECT_NE(refused("v=DKIM1; 9x=1; p=").find("not a valid tag name"), std::string::npos);
    auto error = parse_key_record("v=DKIM1; p=; p=");
    ASSERT_FALSE(error);
    EXPECT_EQ(error.error().code, Errc::malformed);
    EXPECT_EQ(error.error().where.offset, 13u);
}

TEST(DkimKeyRecord, UnknownAndObsoleteTagsAreIgnored) {
    const auto r = parse_ok("v=DKIM1; g=*; x_new=1; n=notes here; p=");
    EXPECT_EQ(r.notes, "notes here");
    EXPECT_EQ(std::count_if(r.diagnostics.begin(), r.diagnostics.end(),
                            [](const Diagnostic& d) { return d.severity != Severity::warning; }),
              0);
}

TEST(DkimKeyRecord, UnknownKeyTypeIsAnError) {
    const auto r = parse_ok("v=DKIM1; k=dsa; p=AAAA");
    EXPECT_EQ(r.key_type, KeyType::unknown);
    EXPECT_EQ(r.key_type_text, "dsa");
    ASSERT_NE(find(r, "unknown-key-type"), nullptr);
    EXPECT_FALSE(r.usable());
}

TEST(DkimKeyRecord, Sha1OnlyIsAnError) {
    auto key = rsa_key(2048);
    const auto p = base64(spki_der(key.get()));
    const auto sha1 = parse_ok("v=DKIM1; h=sha1; p=" + p);
    ASSERT_NE(find(sha1, "sha1-only"), nullptr);
    EXPECT_FALSE(sha1.usable());
    const auto both = parse_ok("v=DKIM1; h=sha1 : sha256; p=" + p);
    EXPECT_EQ(both.hashes, (std::vector<std::string>{"sha1", "sha256"}));
    EXPECT_TRUE(both.usable());
}

TEST(DkimKeyRecord, FlagsAndServices) {
    const auto r = parse_ok("v=DKIM1; t=y:s:z; s=tlsrpt; p=");
    EXPECT_TRUE(r.testing);
    EXPECT_TRUE(r.strict);
    EXPECT_EQ(r.flags.size(), 3u);
    EXPECT_FALSE(r.allows_email());
    EXPECT_NE(find(r, "not-for-email"), nullptr);
    EXPECT_NE(find(r, "testing"), nullptr);
    EXPECT_TRUE(parse_ok("s=email:tlsrpt; p=").allows_email());
    EXPECT_TRUE(parse_ok("s=*; p=").allows_email());
}

TEST(DkimKeyRecord, BadBase64AndBadDer) {
    EXPECT_NE(find(parse_ok("p=abc"), "bad-base64"), nullptr);
    EXPECT_NE(find(parse_ok("p=ab=c"), "bad-base64"), nullptr);
    EXPECT_NE(find(parse_ok("p=a!bc"), "bad-base64"), nullptr);
    EXPECT_NE(find(parse_ok("p=AAAAAAAA"), "bad-key"), nullptr);
    EXPECT_NE(find(parse_ok("p=" + std::string(20000, 'A')), "key-too-large"), nullptr);
}

TEST(DkimKeyRecord, KeyName) {
    EXPECT_EQ(dkim_key_name("s1.2026", "example.com"), "s1.2026._domainkey.example.com");
}

TEST(DkimKeyRecord, FormatRoundTrips) {
    auto rsa = rsa_key(2048);
    const auto der = spki_der(rsa.get());
    auto text = format_key_record(KeyType::rsa, der);
    ASSERT_TRUE(text);
    EXPECT_TRUE(text->starts_with("v=DKIM1; k=rsa; p=MIIB"));
    const auto r = parse_ok(*text);
    EXPECT_EQ(r.public_key, der);
    EXPECT_EQ(r.key_bits, 2048u);

    auto ed = ed25519_key();
    text = format_key_record(KeyType::ed25519, spki_der(ed.get()));
    ASSERT_TRUE(text);
    EXPECT_EQ(parse_ok(*text).key_format, "raw-ed25519");

    EXPECT_FALSE(format_key_record(KeyType::rsa, std::vector<std::uint8_t>{1, 2, 3}));
    EXPECT_EQ(format_key_record(KeyType::unknown, der).error().code, Errc::unsupported);
}

TEST(DkimKeyRecord, SplitTxtStrings) {
    const std::string text(600, 'x');
    const auto parts = split_txt_strings(text);
    ASSERT_EQ(parts.size(), 3u);
    EXPECT_EQ(parts[0].size(), 255u);
    EXPECT_EQ(parts[2].size(), 90u);
    EXPECT_EQ(split_txt_strings("").size(), 1u);
}

// --- corpus (../shared/corpus/dkim) -----------------------------------------------------------

std::string first_line(const std::filesystem::path& p) {
    auto text = test::read_file(p);
    return text.substr(0, text.find('\n'));
}

struct Expected {
    const char* file;
    KeyType type;
    unsigned bits;
    const char* format;
    bool usable;
};

TEST(DkimKeyCorpus, DkimpyRecords) {
    RAMPART_REQUIRE_CORPUS(corpus);
    const auto dir = corpus / "dkim" / "dkimpy";
    for (const auto& e : std::vector<Expected>{
             {"test.txt", KeyType::rsa, 1024, "spki", true},
             {"test2.txt", KeyType::rsa, 1024, "spki", true},
             {"test_tlsrpt.txt", KeyType::rsa, 1024, "spki", false},
             {"1024_testkey_wo_markers.pub.txt", KeyType::rsa, 1024, "spki", true},
             {"1024_testkey_wo_markers.pub.rsa.txt", KeyType::rsa, 1024, "pkcs1", true},
             {"2048_testkey_wo_markers.pub.txt", KeyType::rsa, 2048, "spki", true},
             {"2048_testkey_wo_markers.pub.rsa.txt", KeyType::rsa, 2048, "pkcs1", true},
             {"20120113._domainkey.gmail.com.txt", KeyType::rsa, 2048, "spki", true},
             {"ed25519test.dns", KeyType::ed25519, 256, "raw-ed25519", true},
             {"eximtest.dns", KeyType::ed25519, 256, "raw-ed25519", true},
             {"badk.txt", KeyType::unknown, 0, "", false},
             {"test_bad.txt", KeyType::rsa, 0, "", false},
         }) {
        SCOPED_TRACE(e.file);
        const auto r = parse_ok(first_line(dir / e.file));
        EXPECT_EQ(r.key_type, e.type);
        EXPECT_EQ(r.key_bits, e.bits);
        EXPECT_EQ(r.key_format, e.format);
        // usable() is about the key; s=tlsrpt is a service restriction shown by allows_email().
        EXPECT_EQ(r.usable() && r.allows_email(), e.usable);
    }
    EXPECT_EQ(parse_ok(first_line(dir / "test_tlsrpt.txt")).services,
              std::vector<std::string>{"tlsrpt"});
    EXPECT_NE(find(parse_ok(first_line(dir / "test_bad.txt")), "bad-key"), nullptr);
    // v=DKIM1: (colon) is not DKIM1: the whole record is invalid.
    EXPECT_FALSE(parse_key_record(first_line(dir / "badversion.txt")).has_value());
}

TEST(DkimKeyCorpus, MailAuthDnsRecords) {
    RAMPART_REQUIRE_CORPUS(corpus);
    const std::vector<std::tuple<std::string, unsigned, std::string>> expected{
        {"001.txt", 256, "raw-ed25519"}, {"002.txt", 1024, "pkcs1"}, {"003.txt", 1024, "spki"},
        {"004.txt", 1024, "spki"},       {"005.txt", 1024, "spki"},  {"006.txt", 1024, "spki"}};
    for (const auto& [file, bits, format] : expected) {
        SCOPED_TRACE(file);
        const auto line = first_line(corpus / "dkim" / "mail-auth" / file);
        const auto space = line.find(' ');
        ASSERT_NE(space, std::string::npos);
        const auto r = parse_ok(line.substr(space + 1));
        EXPECT_EQ(r.key_bits, bits);
        EXPECT_EQ(r.key_format, format);
        EXPECT_TRUE(r.usable());
    }
    const auto facebook = first_line(corpus / "dkim" / "mail-auth" / "004.txt");
    const auto fb = parse_ok(facebook.substr(facebook.find(' ') + 1));
    EXPECT_TRUE(fb.strict);
    EXPECT_EQ(fb.hashes, std::vector<std::string>{"sha256"});
}

}  // namespace
}  // namespace rampart::dkim
