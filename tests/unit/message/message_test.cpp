#include "message/message.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <string>

namespace rampart::message {
namespace {

/// A source that hands out at most `step` bytes per read, to cross every chunk boundary.
class DripSource final : public ByteSource {
public:
    DripSource(std::string_view text, std::size_t step) : text_(text), step_(step) {}
    Result<std::size_t> read(std::span<std::byte> buffer) override {
        const std::size_t n = std::min({step_, buffer.size(), text_.size() - pos_});
        std::memcpy(buffer.data(), text_.data() + pos_, n);
        pos_ += n;
        return n;
    }

private:
    std::string_view text_;
    std::size_t step_;
    std::size_t pos_ = 0;
};

std::string read_all(std::string_view text, std::size_t step, std::size_t chunk, Header* header_out = nullptr) {
    DripSource source(text, step);
    Reader reader(source, Limits{.body_chunk_bytes = chunk});
    auto header = reader.header();
    EXPECT_TRUE(header.has_value()) << (header ? "" : header.error().reason);
    if (header_out && header) *header_out = *header;
    std::string body;
    for (;;) {
        auto piece = reader.body_chunk();
        EXPECT_TRUE(piece.has_value());
        if (!piece || piece->empty()) break;
        EXPECT_LE(piece->size(), 2 * (chunk + 1)) << "LF to CRLF at most doubles a chunk";
        EXPECT_FALSE(piece->back() == '\r') << "a chunk ended between CR and LF";
        body += *piece;
    }
    EXPECT_EQ(reader.body_bytes(), body.size());
    return body;
}

TEST(MessageHeader, KeepsFieldsExactlyWithFoldingAndCrlf) {
    auto m = parse("From: a@example.com\r\nSubject: one\r\n  two\r\nX-Empty:\r\n\r\nbody\r\n");
    ASSERT_TRUE(m) << m.error().reason;
    ASSERT_EQ(m->header.fields.size(), 3U);
    EXPECT_EQ(m->header.fields[1].raw, "Subject: one\r\n  two");
    EXPECT_EQ(m->header.fields[1].name(), "Subject");
    EXPECT_EQ(m->header.fields[1].value(), " one\r\n  two");
    EXPECT_EQ(m->header.fields[2].value(), "");
    EXPECT_EQ(m->body, "body\r\n");
}

TEST(MessageHeader, TurnsLfLineEndsIntoCrlfInHeaderAndBody) {
    auto m = parse("From: a@example.com\nSubject: x\n\tfolded\n\nline 1\nline 2\r\nline 3\n");
    ASSERT_TRUE(m);
    EXPECT_EQ(m->header.fields[1].raw, "Subject: x\r\n\tfolded");
    EXPECT_EQ(m->body, "line 1\r\nline 2\r\nline 3\r\n");
}

TEST(MessageHeader, KeepsALoneCarriageReturnInTheBody) {
    auto m = parse("From: a@example.com\n\nA\rB\n");
    ASSERT_TRUE(m);
    EXPECT_EQ(m->body, "A\rB\r\n");
}

TEST(MessageHeader, NameLookupIsCaseInsensitiveAndOrdered) {
    auto m = parse("Received: 1\r\nreceived: 2\r\nFROM: x@y\r\n\r\n");
    ASSERT_TRUE(m);
    auto all = m->header.all("Received");
    ASSERT_EQ(all.size(), 2U);
    EXPECT_EQ(all[0]->raw, "Received: 1");
    EXPECT_EQ(all[1]->raw, "received: 2");
    EXPECT_EQ(m->header.count("RECEIVED"), 2U);
    ASSERT_NE(m->header.first("from"), nullptr);
    EXPECT_EQ(m->header.first("X-None"), nullptr);
}

TEST(MessageHeader, AcceptsWhitespaceBeforeTheColon) {
    auto m = parse("Subject : hi\r\n\r\n");
    ASSERT_TRUE(m);
    EXPECT_EQ(m->header.fields[0].name(), "Subject");
    EXPECT_TRUE(m->header.fields[0].is("subject"));
}

TEST(MessageHeader, SkipsAnMboxSeparatorOnTop) {
    auto m = parse("From sender@example.com Mon Nov 23 10:00:00 2026\nFrom: a@example.com\n\nx\n");
    ASSERT_TRUE(m);
    ASSERT_EQ(m->header.fields.size(), 1U);
    EXPECT_EQ(m->header.fields[0].raw, "From: a@example.com");
}

TEST(MessageHeader, AMessageWithoutBodyHasAnEmptyBody) {
    auto m = parse("From: a@example.com\r\nSubject: x");
    ASSERT_TRUE(m);
    EXPECT_EQ(m->header.fields.size(), 2U);
    EXPECT_EQ(m->body, "");
    auto blank = parse("From: a@example.com\r\n\r\n");
    ASSERT_TRUE(blank);
    EXPECT_EQ(blank->body, "");
}

TEST(MessageHeader, RefusesWhatIsNotAHeader) {
    auto garbage = parse("this is not a message\r\n\r\n");
    ASSERT_FALSE(garbage);
    EXPECT_EQ(garbage.error().code, Errc::malformed);
    EXPECT_NE(garbage.error().reason.find("neither a field"), std::string::npos);

    auto folded_first = parse(" folded: x\r\n\r\n");
    ASSERT_FALSE(folded_first);
    EXPECT_EQ(folded_first.error().code, Errc::malformed);

    auto bad_name = parse("Bad\x01Name: x\r\n\r\n");
    ASSERT_FALSE(bad_name);
    auto empty_name = parse(": x\r\n\r\n");
    ASSERT_FALSE(empty_name);
}

TEST(MessageHeader, ReportsTheOffsetOfTheBadLine) {
    auto m = parse("From: a@b\r\nnot a field\r\n\r\n");
    ASSERT_FALSE(m);
    EXPECT_EQ(m.error().where.offset, 11U);
}

TEST(MessageHeader, BoundsTheHeaderSizeAndFieldCount) {
    std::string many;
    for (int i = 0; i < 20; ++i) many += "X-A: b\r\n";
    many += "\r\n";
    auto too_many = parse(many, Limits{.max_fields = 10});
    ASSERT_FALSE(too_many);
    EXPECT_EQ(too_many.error().code, Errc::limit_exceeded);

    std::string long_line = "Subject: " + std::string(5000, 'x') + "\r\n\r\n";
    auto too_big = parse(long_line, Limits{.max_header_bytes = 1000});
    ASSERT_FALSE(too_big);
    EXPECT_EQ(too_big.error().code, Errc::limit_exceeded);
}

TEST(MessageReader, BodyIsTheSameWhateverTheReadAndChunkSizes) {
    std::string text = "From: a@example.com\nTo: b@example.com\n\n";
    std::string expected;
    for (int i = 0; i < 500; ++i) {
        std::string line = "line " + std::to_string(i) + std::string(static_cast<std::size_t>(i % 7), ' ');
        text += line + (i % 3 == 0 ? "\r\n" : "\n");
        expected += line + "\r\n";
    }
    for (std::size_t step : {1U, 2U, 3U, 7U, 100U, 65536U}) {
        for (std::size_t chunk : {1U, 2U, 5U, 64U, 4096U}) {
            EXPECT_EQ(read_all(text, step, chunk), expected) << "step " << step << " chunk " << chunk;
        }
    }
}

TEST(MessageReader, HeaderReadAcrossTinyReads) {
    Header header;
    std::string body = read_all("From: a@example.com\r\nSubject: x\r\n y\r\n\r\nhello\r\n", 1, 3, &header);
    ASSERT_EQ(header.fields.size(), 2U);
    EXPECT_EQ(header.fields[1].raw, "Subject: x\r\n y");
    EXPECT_EQ(body, "hello\r\n");
}

TEST(MessageUnfold, RemovesFoldingOnly) {
    EXPECT_EQ(unfold(" a\r\n b\r\n\tc"), " a b\tc");
    EXPECT_EQ(unfold(" a\r\n"), " a");
    EXPECT_EQ(unfold("x"), "x");
}

}  // namespace
}  // namespace rampart::message
