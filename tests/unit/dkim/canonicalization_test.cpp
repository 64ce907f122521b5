// RFC 6376 §3.4: "simple" and "relaxed" canonicalization of header fields and bodies, the
// §3.4.5 examples exactly, the signature field with b= emptied (§3.7), the h= selection from the
// bottom up (§5.4.2), and the streaming body hash whatever the chunk boundaries, with l=.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "dkim/crypto.hpp"
#include "dkim/dkim.hpp"

namespace rampart::dkim {
namespace {

message::Field field(std::string raw) {
    const auto colon = raw.find(':');
    return message::Field{.raw = std::move(raw), .colon = colon};
}

/// The canonical body itself: the hash of a request is compared with the digest of this.
std::string body_hash_b64(std::string_view body, Canonicalization c,
                          std::optional<std::uint64_t> length = std::nullopt) {
    BodyHasher hasher;
    const auto index = hasher.request(c, HashAlgorithm::sha256, length);
    hasher.update(body);
    hasher.finish();
    return crypto::base64_encode(hasher.digest(index).hash);
}

std::string b64_sha256(std::string_view text) {
    return crypto::base64_encode(crypto::digest(HashAlgorithm::sha256, text));
}

// §3.4.5 example header fields and body.
const message::Field example_a = field("A: X");
const message::Field example_b = field("B : Y\t\r\n\tZ  ");
constexpr std::string_view example_body = " C \r\nD \t E\r\n\r\n\r\n";

TEST(HeaderCanonicalization, RelaxedExampleOfRfc6376Section345) {
    EXPECT_EQ(canonicalize_header(example_a, Canonicalization::relaxed), "a:X\r\n");
    EXPECT_EQ(canonicalize_header(example_b, Canonicalization::relaxed), "b:Y Z\r\n");
}

TEST(HeaderCanonicalization, SimpleKeepsTheFieldByteForByte) {
    EXPECT_EQ(canonicalize_header(example_a, Canonicalization::simple), "A: X\r\n");
    EXPECT_EQ(canonicalize_header(example_b, Canonicalization::simple), "B : Y\t\r\n\tZ  \r\n");
}

TEST(HeaderCanonicalization, RelaxedEmptyValueAndWhitespaceOnly) {
    EXPECT_EQ(canonicalize_header(field("X-Empty:"), Canonicalization::relaxed), "x-empty:\r\n");
    EXPECT_EQ(canonicalize_header(field("X-Blank: \t \r\n  "), Canonicalization::relaxed),
              "x-blank:\r\n");
}

TEST(BodyCanonicalization, RelaxedExampleOfRfc6376Section345) {
    EXPECT_EQ(body_hash_b64(example_body, Canonicalization::relaxed), b64_sha256(" C\r\nD E\r\n"));
}

TEST(BodyCanonicalization, SimpleExampleOfRfc6376Section345) {
    EXPECT_EQ(body_hash_b64(example_body, Canonicalization::simple),
              b64_sha256(" C \r\nD \t E\r\n"));
}

TEST(BodyCanonicalization, EmptyBodies) {
    // §3.4.3: simple makes an empty body one CRLF; §3.4.4: relaxed leaves it empty.
    EXPECT_EQ(body_hash_b64("", Canonicalization::simple), b64_sha256("\r\n"));
    EXPECT_EQ(body_hash_b64("", Canonicalization::relaxed), b64_sha256(""));
    EXPECT_EQ(body_hash_b64("\r\n\r\n", Canonicalization::simple), b64_sha256("\r\n"));
    EXPECT_EQ(body_hash_b64("\r\n \t\r\n", Canonicalization::relaxed), b64_sha256(""));
    // The well-known empty-body hashes every implementation agrees on.
    EXPECT_EQ(body_hash_b64("", Canonicalization::simple),
              "frcCV1k9oG9oKj3dpUqdJg1PxRT2RSN/XKdLCPjaYaY=");
    EXPECT_EQ(body_hash_b64("", Canonicalization::relaxed),
              "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
}

TEST(BodyCanonicalization, LastLineWithoutCrlfGetsOne) {
    EXPECT_EQ(body_hash_b64("a\r\nb", Canonicalization::simple), b64_sha256("a\r\nb\r\n"));
    EXPECT_EQ(body_hash_b64("a\r\nb \t", Canonicalization::relaxed), b64_sha256("a\r\nb\r\n"));
}

TEST(BodyCanonicalization, EmptyLinesInsideTheBodyStay) {
    EXPECT_EQ(body_hash_b64("a\r\n\r\n\r\nb\r\n\r\n", Canonicalization::simple),
              b64_sha256("a\r\n\r\n\r\nb\r\n"));
    EXPECT_EQ(body_hash_b64("a\r\n \r\n\t\r\nb  c\r\n \r\n", Canonicalization::relaxed),
              b64_sha256("a\r\n\r\n\r\nb c\r\n"));
}

TEST(BodyCanonicalization, BareCrAndLfAreOrdinaryOctets) {
    EXPECT_EQ(body_hash_b64("a\rb\nc\r\n", Canonicalization::simple), b64_sha256("a\rb\nc\r\n"));
    EXPECT_EQ(body_hash_b64("a \r", Canonicalization::relaxed), b64_sha256("a \r\r\n"));
}

TEST(BodyCanonicalization, OneByteAtATimeEqualsAllAtOnce) {
    const std::vector<std::string> bodies = {
        std::string(example_body),
        "line one  \t\r\n\r\n  indented\tand\t\ttabbed   \r\n\r\n \r\n\t\r\n",
        "no line end at all   ",
        "\r\n\r\n\r\n",
        "cr at the end\r",
        "mixed\r\r\n\r\n\rx\r\n\r\n",
        std::string(3000, '\n') + "x" + std::string(200, ' ') + std::string(5000, '\r') + "\n",
    };
    for (const auto& body : bodies) {
        for (const auto c : {Canonicalization::simple, Canonicalization::relaxed}) {
            BodyHasher whole;
            BodyHasher trickled;
            const auto a = whole.request(c, HashAlgorithm::sha256);
            const auto b = trickled.request(c, HashAlgorithm::sha256);
            whole.update(body);
            for (const char octet : body) trickled.update(std::string_view(&octet, 1));
            whole.finish();
            trickled.finish();
            EXPECT_EQ(whole.digest(a).hash, trickled.digest(b).hash) << body.substr(0, 40);
            EXPECT_EQ(whole.digest(a).canonical_length, trickled.digest(b).canonical_length);
        }
    }
}

/// §3.4.3 and §3.4.4 written the plain way, line by line, to compare the streaming code with.
std::string reference_body(std::string_view body, Canonicalization c) {
    std::vector<std::string> lines;
    std::string current;
    bool ended = false;  // the body ends with a CRLF
    for (std::size_t i = 0; i < body.size(); ++i) {
        if (body[i] == '\r' && i + 1 < body.size() && body[i + 1] == '\n') {
            lines.push_back(current);
            current.clear();
            ++i;
            ended = true;
            continue;
        }
        current.push_back(body[i]);
        ended = false;
    }
    if (!ended && !current.empty()) lines.push_back(current);
    if (c == Canonicalization::relaxed) {
        for (auto& line : lines) {
            std::string out;
            bool space = false;
            for (const char ch : line) {
                if (ch == ' ' || ch == '\t') {
                    space = true;
                    continue;
                }
                if (space) out.push_back(' ');
                space = false;
                out.push_back(ch);
            }
            line = out;
        }
    }
    while (!lines.empty() && lines.back().empty()) lines.pop_back();
    std::string out;
    for (const auto& line : lines) out += line + "\r\n";
    if (out.empty() && c == Canonicalization::simple) out = "\r\n";
    return out;
}

TEST(BodyCanonicalization, MatchesTheLineByLineReferenceOnRandomBodies) {
    // Bodies made of the octets canonicalization cares about, long enough for the eight-octet
    // fast path, fed whole and in pieces of varying size.
    constexpr std::string_view alphabet = "ab  \t\r\n\r\n.";
    std::uint32_t state = 12345;
    const auto next = [&state] {
        state = state * 1103515245u + 12345u;
        return state >> 16;
    };
    for (int round = 0; round < 2000; ++round) {
        std::string body(next() % 200, ' ');
        for (auto& octet : body) octet = alphabet[next() % alphabet.size()];
        for (const auto c : {Canonicalization::simple, Canonicalization::relaxed}) {
            const std::string expected = reference_body(body, c);
            ASSERT_EQ(body_hash_b64(body, c), b64_sha256(expected)) << testing::PrintToString(body);
            BodyHasher pieces;
            const auto index = pieces.request(c, HashAlgorithm::sha256);
            for (std::size_t at = 0; at < body.size();) {
                const std::size_t n = 1 + next() % 17;
                pieces.update(std::string_view(body).substr(at, n));
                at += n;
            }
            pieces.finish();
            ASSERT_EQ(crypto::base64_encode(pieces.digest(index).hash), b64_sha256(expected))
                << testing::PrintToString(body);
            ASSERT_EQ(pieces.digest(index).canonical_length, expected.size());
        }
    }
}

TEST(BodyCanonicalization, ChunkBetweenCrAndLfOfTrailingEmptyLines) {
    BodyHasher hasher;
    const auto index = hasher.request(Canonicalization::simple, HashAlgorithm::sha256);
    for (const auto piece : {"text\r", "\n\r", "\n", "\r", "\n"}) hasher.update(piece);
    hasher.finish();
    EXPECT_EQ(crypto::base64_encode(hasher.digest(index).hash), b64_sha256("text\r\n"));
    EXPECT_EQ(hasher.digest(index).canonical_length, 6u);
}

TEST(BodyHasher, LengthLimitHashesOnlyThatManyCanonicalOctets) {
    const std::string body = "Hello  world\r\nsecond line\r\n\r\n";
    EXPECT_EQ(body_hash_b64(body, Canonicalization::relaxed, 5), b64_sha256("Hello"));
    EXPECT_EQ(body_hash_b64(body, Canonicalization::simple, 0), b64_sha256(""));
    // l= beyond the body hashes the whole canonical body and reports its real length.
    BodyHasher hasher;
    const auto index = hasher.request(Canonicalization::relaxed, HashAlgorithm::sha256, 1000);
    hasher.update(body);
    hasher.finish();
    EXPECT_EQ(crypto::base64_encode(hasher.digest(index).hash),
              b64_sha256("Hello world\r\nsecond line\r\n"));
    EXPECT_EQ(hasher.digest(index).canonical_length, 26u);
}

TEST(BodyHasher, IdenticalRequestsShareOneComputationAndOthersDiffer) {
    BodyHasher hasher;
    const auto a = hasher.request(Canonicalization::relaxed, HashAlgorithm::sha256);
    const auto b = hasher.request(Canonicalization::relaxed, HashAlgorithm::sha256);
    const auto c = hasher.request(Canonicalization::simple, HashAlgorithm::sha256);
    const auto d = hasher.request(Canonicalization::relaxed, HashAlgorithm::sha1);
    const auto e = hasher.request(Canonicalization::relaxed, HashAlgorithm::sha256, 3);
    hasher.update("abc  def \r\n");
    hasher.finish();
    EXPECT_NE(a, b);
    EXPECT_EQ(&hasher.digest(a), &hasher.digest(b));
    EXPECT_EQ(crypto::base64_encode(hasher.digest(a).hash), b64_sha256("abc def\r\n"));
    EXPECT_EQ(crypto::base64_encode(hasher.digest(c).hash), b64_sha256("abc  def \r\n"));
    EXPECT_EQ(hasher.digest(d).hash.size(), 20u);
    EXPECT_EQ(crypto::base64_encode(hasher.digest(e).hash), b64_sha256("abc"));
}

TEST(SignatureField, BValueEmptiedTagKeptNoCrlf) {
    const auto sig =
        field("DKIM-Signature: v=1; a=rsa-sha256; bh=abc=;\r\n\tb=dGVz\r\n\t dA==; d=x");
    EXPECT_EQ(canonicalize_signature_field(sig, Canonicalization::simple),
              "DKIM-Signature: v=1; a=rsa-sha256; bh=abc=;\r\n\tb=; d=x");
    EXPECT_EQ(canonicalize_signature_field(sig, Canonicalization::relaxed),
              "dkim-signature:v=1; a=rsa-sha256; bh=abc=; b=; d=x");
}

TEST(SignatureField, BAtTheEndAndBhIsNotB) {
    const auto sig = field("DKIM-Signature: bh=AAAA; b = \r\n\tQUJD");
    EXPECT_EQ(canonicalize_signature_field(sig, Canonicalization::simple),
              "DKIM-Signature: bh=AAAA; b =");
    EXPECT_EQ(canonicalize_signature_field(sig, Canonicalization::relaxed),
              "dkim-signature:bh=AAAA; b =");
}

TEST(SelectedHeaders, BottomUpAndOverSignedNamesAddNothing) {
    message::Header header;
    header.fields = {field("Received: one"), field("From: a@example.com"), field("Received: two"),
                     field("Subject: hi")};
    const std::vector<std::string> names = {"received", "From",    "Received",
                                            "RECEIVED", "subject", "To"};
    EXPECT_EQ(canonicalize_selected(header, names, Canonicalization::simple),
              "Received: two\r\nFrom: a@example.com\r\nReceived: one\r\nSubject: hi\r\n");
    EXPECT_EQ(canonicalize_selected(header, names, Canonicalization::relaxed),
              "received:two\r\nfrom:a@example.com\r\nreceived:one\r\nsubject:hi\r\n");
}

}  // namespace
}  // namespace rampart::dkim
