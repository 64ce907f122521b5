// DKIM against the external corpus (/work/shared/corpus/dkim, README "dkim/"): signatures made by
// other implementations verify (RFC 8463 Appendix A, dkimpy, Exim, Gmail, real list mail), the
// RFC 6376 A.2 example fails on its body hash as the README explains, each broken dkimpy key
// record gets its permerror, and what we sign with the dkimpy keys verifies.
// RFC 6376 §6.1.3: "If the hash does not match ... the signature MUST be considered to fail".
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include <fmt/format.h>

#include "dkim/crypto.hpp"
#include "dkim/dkim.hpp"

namespace rampart::dkim {
namespace {

namespace fs = std::filesystem;

fs::path corpus_dir() { return fs::path(RAMPART_SOURCE_DIR) / ".." / "shared" / "corpus" / "dkim"; }

std::string read(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

std::string trimmed(std::string text) { return std::string(trim(text)); }

/// Key records in memory: a test helper standing in for DNS.
class CorpusKeys final : public KeyFetcher {
public:
    void publish(std::string_view name, std::string text) {
        records_[ascii_lower(name)] = std::move(text);
    }
    KeyLookup fetch(std::string_view selector, std::string_view domain) override {
        const std::string name = ascii_lower(dkim_key_name(selector, domain));
        const auto found = records_.find(name);
        if (found == records_.end()) return key_lookup_from_records(name, {});
        return key_lookup_from_records(name, std::span(&found->second, 1));
    }

private:
    std::map<std::string, std::string> records_;
};

/// mail-auth's format: "<name> <TXT value>" lines, a blank line, the message.
struct MailAuthCase {
    CorpusKeys keys;
    message::Message message;
};

MailAuthCase read_mail_auth(const fs::path& path) {
    const std::string text = read(path);
    const auto blank = text.find("\n\n");
    MailAuthCase result;
    std::istringstream lines(text.substr(0, blank));
    for (std::string line; std::getline(lines, line);) {
        const auto space = line.find(' ');
        if (space != std::string::npos)
            result.keys.publish(line.substr(0, space), line.substr(space + 1));
    }
    auto message = message::parse(std::string_view(text).substr(blank + 2));
    EXPECT_TRUE(message) << path << ": " << message.error().reason;
    if (message) result.message = std::move(*message);
    return result;
}

message::Message read_message_text(std::string_view text) {
    auto message = message::parse(text);
    EXPECT_TRUE(message) << message.error().reason;
    return message ? std::move(*message) : message::Message{};
}

message::Message read_message(const fs::path& path) { return read_message_text(read(path)); }

/// A PEM SubjectPublicKeyInfo as the base64 a p= holds.
std::string pem_body(const std::string& pem) {
    std::string out;
    std::istringstream lines(pem);
    for (std::string line; std::getline(lines, line);) {
        if (!line.starts_with("-----")) out += trimmed(line);
    }
    return out;
}

/// Corpus keys are published read-only for everyone, so from_file (which insists on 0600) is
/// not the way in; the bytes go through the same parsers.
PrivateKey corpus_key(const fs::path& path) {
    const std::string text = read(path);
    if (text.find("-----BEGIN") != std::string::npos) {
        auto key = PrivateKey::from_pem(text);
        EXPECT_TRUE(key) << path << ": " << key.error().reason;
        return std::move(*key);
    }
    // The dkimpy seed files: base64 of the 32-octet seed.
    const auto seed = crypto::base64_decode(trimmed(text)).value_or(std::vector<std::uint8_t>{});
    auto key = PrivateKey::ed25519_from_seed(seed);
    EXPECT_TRUE(key) << path << ": " << key.error().reason;
    return std::move(*key);
}

class DkimCorpus : public ::testing::Test {
protected:
    static void SetUpTestSuite() { passed_ = total_ = 0; }
    static void TearDownTestSuite() {
        if (total_ > 0) std::printf("dkim corpus: %d/%d\n", passed_, total_);
    }
    void SetUp() override {
        if (!fs::exists(corpus_dir())) GTEST_SKIP() << "no corpus at " << corpus_dir();
    }

    /// One expected result: counted, and a failure names the case.
    void expect(const std::string& what, const SignatureResult& result, Outcome outcome,
                std::string_view code) {
        ++total_;
        const bool ok = result.result == outcome && result.code == code;
        if (ok) ++passed_;
        EXPECT_TRUE(ok) << what << ": expected " << to_string(outcome) << " " << code << ", got "
                        << to_string(result.result) << " " << result.code << ": " << result.reason;
    }
    void expect_true(const std::string& what, bool ok) {
        ++total_;
        if (ok) ++passed_;
        EXPECT_TRUE(ok) << what;
    }

    static VerifyOptions at(std::int64_t seconds) {
        VerifyOptions options;
        options.now = Timestamp{std::chrono::seconds(seconds)};
        return options;
    }

    static CorpusKeys football_keys() {
        CorpusKeys keys;
        keys.publish("brisbane._domainkey.football.example.com",
                     "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=");
        keys.publish("test._domainkey.football.example.com",
                     read(corpus_dir() / "dkimpy/test.txt"));
        return keys;
    }

    static inline int passed_ = 0;
    static inline int total_ = 0;
};

TEST_F(DkimCorpus, Rfc8463ExampleBothSignaturesPassAtTheirTime) {
    auto c = read_mail_auth(corpus_dir() / "mail-auth/001.txt");
    const auto results = verify(c.message, c.keys, at(1528637909));
    ASSERT_EQ(results.size(), 2u);
    expect("001 ed25519", results[0], Outcome::pass, "pass");
    expect("001 rsa", results[1], Outcome::pass, "pass");
    EXPECT_EQ(results[0].algorithm, Algorithm::ed25519_sha256);
}

TEST_F(DkimCorpus, MailAuthMessagesLastSignaturePasses) {
    for (const char* name : {"002.txt", "003.txt", "004.txt", "005.txt", "006.txt"}) {
        auto c = read_mail_auth(corpus_dir() / "mail-auth" / name);
        const auto results = verify(c.message, c.keys, at(1667843664));
        ASSERT_FALSE(results.empty()) << name;
        if (std::string_view(name) == "004.txt") {
            // 004's t= (1667862801) is 5 hours after the upstream time: mail-auth does not check
            // t=, we do (a signature from the future is refused). At its own time it passes.
            expect("004 at the upstream time", results.back(), Outcome::permerror, "future");
            expect(name, verify(c.message, c.keys, at(1667862801)).back(), Outcome::pass, "pass");
            continue;
        }
        expect(name, results.back(), Outcome::pass, "pass");
    }
    // 005 carries x=1667930064: verified long after, it has expired.
    auto expired = read_mail_auth(corpus_dir() / "mail-auth/005.txt");
    expect("005 now", verify(expired.message, expired.keys, at(1767225600)).back(),
           Outcome::permerror, "expired");
}

TEST_F(DkimCorpus, DkimpySignedMessages) {
    auto keys = football_keys();
    const auto both = verify(read_message(corpus_dir() / "dkimpy/rfc6376.signed.msg"), keys);
    ASSERT_EQ(both.size(), 2u);
    expect("rfc6376.signed.msg ed25519", both[0], Outcome::pass, "pass");
    expect("rfc6376.signed.msg rsa", both[1], Outcome::pass, "pass");
    const auto rsa = verify(read_message(corpus_dir() / "dkimpy/rfc6376.signed.rsa.msg"), keys);
    ASSERT_EQ(rsa.size(), 1u);
    expect("rfc6376.signed.rsa.msg", rsa[0], Outcome::pass, "pass");
}

TEST_F(DkimCorpus, EximEd25519AndGmail) {
    CorpusKeys keys;
    keys.publish("sed._domainkey.test.ex", read(corpus_dir() / "dkimpy/eximtest.dns"));
    keys.publish("20120113._domainkey.gmail.com",
                 read(corpus_dir() / "dkimpy/20120113._domainkey.gmail.com.txt"));
    const auto exim = verify(read_message(corpus_dir() / "dkimpy/ed25519test2.msg"), keys);
    ASSERT_EQ(exim.size(), 1u);
    expect("ed25519test2.msg (Exim)", exim[0], Outcome::pass, "pass");
    const auto gmail = verify(read_message(corpus_dir() / "dkimpy/test2.message"), keys);
    ASSERT_EQ(gmail.size(), 1u);
    expect("test2.message (Gmail)", gmail[0], Outcome::pass, "pass");
}

TEST_F(DkimCorpus, Rfc6376ExampleBodyHashes) {
    const auto message = read_message(corpus_dir() / "rfc6376/rfc6376-A.1-composed.eml");
    BodyHasher hasher;
    const auto simple = hasher.request(Canonicalization::simple, HashAlgorithm::sha256);
    const auto relaxed = hasher.request(Canonicalization::relaxed, HashAlgorithm::sha256);
    hasher.update(message.body);
    hasher.finish();
    expect_true("A.1 simple body hash", crypto::base64_encode(hasher.digest(simple).hash) ==
                                            "4bLNXImK9drULnmePzZNEBleUanJCX5PIsDIFoH4KTQ=");
    expect_true("A.1 relaxed body hash", crypto::base64_encode(hasher.digest(relaxed).hash) ==
                                             "2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=");
}

TEST_F(DkimCorpus, Rfc6376ExampleA2FailsOnItsBodyHash) {
    CorpusKeys keys;
    keys.publish(
        "brisbane._domainkey.example.com",
        "v=DKIM1; p=" + pem_body(read(corpus_dir() / "rfc6376/rfc6376-C-brisbane.public.pem")));
    for (const char* name : {"rfc6376-A.2-signed.eml", "rfc6376-A.3-verified.eml"}) {
        const auto results = verify(read_message(corpus_dir() / "rfc6376" / name), keys);
        ASSERT_EQ(results.size(), 1u) << name;
        expect(name, results[0], Outcome::fail, "body-hash-mismatch");
    }
}

TEST_F(DkimCorpus, DkimpyKeyRecords) {
    const auto message = read_message(corpus_dir() / "dkimpy/rfc6376.signed.rsa.msg");
    const std::vector<std::pair<std::string, std::pair<Outcome, std::string>>> cases = {
        {"test2.txt", {Outcome::pass, "pass"}},
        {"badversion.txt", {Outcome::permerror, "key-unusable"}},
        {"badk.txt", {Outcome::permerror, "key-unusable"}},
        {"test_bad.txt", {Outcome::permerror, "key-unusable"}},
        {"test_tlsrpt.txt", {Outcome::permerror, "service-not-email"}},
    };
    for (const auto& [file, expected] : cases) {
        CorpusKeys keys;
        keys.publish("test._domainkey.football.example.com", read(corpus_dir() / "dkimpy" / file));
        const auto results = verify(message, keys);
        ASSERT_EQ(results.size(), 1u);
        expect(file, results[0], expected.first, expected.second);
    }
}

TEST_F(DkimCorpus, SignThenVerifyWithDkimpyKeys) {
    struct KeyCase {
        std::string key_file;
        std::string record;  // the published record
    };
    const fs::path dir = corpus_dir() / "dkimpy";
    const std::vector<KeyCase> key_cases = {
        {"test.private", read(dir / "test.txt")},
        {"1024_testkey.key", read(dir / "1024_testkey_wo_markers.pub.txt")},
        {"2048_testkey.key", read(dir / "2048_testkey_wo_markers.pub.rsa.txt")},
        {"ed25519test.key", read(dir / "ed25519test.dns")},
        {"rfc8032_7_1.key", "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="},
    };
    const std::vector<std::string> messages = {"test.message", "ed25519test.msg",
                                               "test_extra.message", "message.mbox", "rfc6376.msg"};
    for (const auto& key_case : key_cases) {
        const PrivateKey key = corpus_key(dir / key_case.key_file);
        CorpusKeys keys;
        keys.publish("sel._domainkey.example.com", key_case.record);
        for (const auto& name : messages) {
            for (const auto c : {Canonicalization::simple, Canonicalization::relaxed}) {
                const std::string text = read(dir / name);
                SignOptions options;
                options.domain = "example.com";
                options.selector = "sel";
                options.header_canon = c;
                options.body_canon = c;
                auto field = sign(read_message(dir / name), key, options);
                ASSERT_TRUE(field) << name << ": " << field.error().reason;
                // The field goes on top; a leading mbox "From " line has to stay first.
                std::string signed_text = text;
                std::size_t top = 0;
                if (signed_text.starts_with("From ")) top = signed_text.find('\n') + 1;
                signed_text.insert(top, *field + "\r\n");
                // message.mbox carries a signature of its own already; ours is the top one.
                const auto results = verify(read_message_text(signed_text), keys);
                ASSERT_FALSE(results.empty());
                expect(fmt::format("{} signed with {} ({})", name, key_case.key_file, to_string(c)),
                       results[0], Outcome::pass, "pass");
            }
        }
    }
}

TEST_F(DkimCorpus, MessageWithoutFromIsNotSigned) {
    const PrivateKey key = corpus_key(corpus_dir() / "dkimpy/test.private");
    SignOptions options;
    options.domain = "example.com";
    options.selector = "sel";
    auto field = sign(read_message(corpus_dir() / "dkimpy/test_nofrom.message"), key, options);
    expect_true("test_nofrom.message refused", !field && field.error().code == Errc::malformed);
}

}  // namespace
}  // namespace rampart::dkim
