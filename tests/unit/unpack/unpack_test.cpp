// unpack: real and hostile containers, built at test time.
//
// RFC 7489 §7.2.1.1: "The aggregate data MUST be an XML file that SHOULD be subjected to GZIP
// compression." and "The aggregate data SHOULD be present using the media type
// "application/gzip" if compressed (see [GZIP]), and "text/xml" otherwise." Reporters also send
// zip, gzip in gzip, application/octet-stream and mislabelled types, so the unpacker sniffs
// content. RFC 4155 (mbox): a message begins with a "From " separator line; we split only on such
// a line at the start of the file or after an empty line.
//
// Every input here is made by the test itself (zlib and libarchive writers, MIME text), except
// tests/fixtures/unpack/mimecast-weird-gzip.eml and the corpus cases at the end, which skip when
// ../shared/corpus is absent.

#include "unpack/unpack.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "support.hpp"

namespace rampart::unpack {
namespace {

using test::bytes_of;

// ---- recording visitor ------------------------------------------------------------------------

struct Aggregate {
    std::string source;
    std::string xml;             // everything read from the stream before its end or error
    std::optional<Error> error;  // the stream's own failure (truncated, limit), if any
};

struct FailureReport {
    std::string source;
    std::string message;
};

class Recorder final : public Visitor {
public:
    void on_aggregate(ByteSource& xml, const Location& where) override {
        Aggregate got{where.source, {}, std::nullopt};
        // An odd buffer size, so stream boundaries never line up with the producers' chunks.
        std::array<std::byte, 4093> buffer{};
        for (;;) {
            auto n = xml.read(buffer);
            if (!n) {
                got.error = n.error();
                break;
            }
            if (*n == 0) break;
            got.xml.append(as_chars(std::span(buffer).first(*n)));
            // A runaway stream must fail the test, not exhaust memory.
            if (got.xml.size() > (64u << 20)) {
                ADD_FAILURE() << "aggregate stream at " << where.source << " exceeds 64 MiB";
                break;
            }
        }
        aggregates.push_back(std::move(got));
    }
    void on_failure_report(std::span<const std::byte> message, const Location& where) override {
        failures.push_back({where.source, std::string(as_chars(message))});
    }
    void on_rejected(const Error& error) override { rejections.push_back(error); }
    void on_message(const Location& where) override { messages.push_back(where.source); }

    std::vector<Aggregate> aggregates;
    std::vector<FailureReport> failures;
    std::vector<Error> rejections;
    std::vector<std::string> messages;
};

/// Hands out a few bytes per read (1 to 7, cycling), so every chunk boundary a container reader
/// could trip over (a gzip header split between reads, an mbox "From " line cut in two) happens.
class DribbleSource final : public ByteSource {
public:
    explicit DribbleSource(std::span<const std::byte> bytes) : rest_(bytes) {}
    Result<std::size_t> read(std::span<std::byte> buffer) override {
        std::size_t n = std::min({buffer.size(), rest_.size(), std::size_t{1} + step_++ % 7});
        if (n > 0) std::memcpy(buffer.data(), rest_.data(), n);
        rest_ = rest_.subspan(n);
        return n;
    }

private:
    std::span<const std::byte> rest_;
    std::size_t step_ = 0;
};

Recorder run(const std::string& input, std::string_view source, const IngestLimits& limits = {}) {
    Recorder r;
    Location where;
    where.source = std::string(source);
    unpack(bytes_of(input), where, limits, r);
    return r;
}

Recorder run_dribbled(const std::string& input, std::string_view source,
                      const IngestLimits& limits = {}) {
    Recorder r;
    Location where;
    where.source = std::string(source);
    DribbleSource in(bytes_of(input));
    unpack(in, where, limits, r);
    return r;
}

std::vector<std::string> sources(const std::vector<Aggregate>& aggregates) {
    std::vector<std::string> out;
    for (const auto& a : aggregates) out.push_back(a.source);
    return out;
}

std::string describe(const Recorder& r) {
    std::string out;
    for (const auto& a : r.aggregates)
        out += fmt::format("aggregate {} ({} bytes{})\n", a.source, a.xml.size(),
                           a.error ? ", error: " + a.error->describe() : "");
    for (const auto& f : r.failures) out += fmt::format("failure report {}\n", f.source);
    for (const auto& e : r.rejections) out += fmt::format("rejected: {}\n", e.describe());
    for (const auto& m : r.messages) out += fmt::format("message {}\n", m);
    return out;
}

// ---- inputs -------------------------------------------------------------------------------------

std::string report_xml(std::string_view id) {
    return fmt::format(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<feedback>\n"
        "  <report_metadata><org_name>example.net</org_name><email>dmarc@example.net</email>"
        "<report_id>{}</report_id><date_range><begin>1700000000</begin><end>1700086399</end>"
        "</date_range></report_metadata>\n"
        "  <policy_published><domain>example.com</domain><p>none</p></policy_published>\n"
        "  <record><row><source_ip>192.0.2.1</source_ip><count>3</count><policy_evaluated>"
        "<disposition>none</disposition><dkim>pass</dkim><spf>fail</spf></policy_evaluated>"
        "</row><identifiers><header_from>example.com</header_from></identifiers><auth_results>"
        "<spf><domain>example.com</domain><result>fail</result></spf></auth_results></record>\n"
        "</feedback>\n",
        id);
}

/// A report with `records` distinct records: large enough that it cannot be peeked in one go.
std::string big_report_xml(std::string_view id, unsigned records) {
    std::string out = fmt::format(
        "<?xml version=\"1.0\"?>\n<feedback><report_metadata><org_name>example.net</org_name>"
        "<report_id>{}</report_id></report_metadata>\n",
        id);
    for (unsigned i = 0; i < records; ++i)
        out += fmt::format(
            "<record><row><source_ip>10.{}.{}.{}</source_ip><count>{}</count></row></record>\n",
            (i >> 16) & 255, (i >> 8) & 255, i & 255, i * 7919 % 1000);
    out += "</feedback>\n";
    return out;
}

std::string gzip(std::string_view data, int level = Z_DEFAULT_COMPRESSION,
                 const char* file_name = nullptr) {
    z_stream z{};
    // 16 + MAX_WBITS: gzip framing (RFC 1952).
    EXPECT_EQ(deflateInit2(&z, level, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
    gz_header header{};
    std::string name_storage = file_name ? file_name : "";
    if (file_name != nullptr) {
        // FNAME and FHCRC (RFC 1952 §2.3.1), as gzip(1) writes the first.
        header.name = reinterpret_cast<Bytef*>(name_storage.data());
        header.hcrc = 1;
        EXPECT_EQ(deflateSetHeader(&z, &header), Z_OK);
    }
    std::string out(deflateBound(&z, static_cast<uLong>(data.size())), '\0');
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
    z.avail_in = static_cast<uInt>(data.size());
    z.next_out = reinterpret_cast<Bytef*>(out.data());
    z.avail_out = static_cast<uInt>(out.size());
    EXPECT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
    out.resize(z.total_out);
    deflateEnd(&z);
    return out;
}

struct ZipEntry {
    std::string name;
    std::string data;
    bool directory = false;
};

struct ZipOptions {
    bool encrypt = false;       // traditional PKWARE encryption, passphrase "secret"
    bool sizes_known = true;    // false: sizes follow the data in a data descriptor (streaming
                                // writers such as Java's ZipOutputStream do this)
};

la_ssize_t append_to_string(archive*, void* out, const void* buffer, std::size_t length) {
    static_cast<std::string*>(out)->append(static_cast<const char*>(buffer), length);
    return static_cast<la_ssize_t>(length);
}

std::string zip(const std::vector<ZipEntry>& entries, ZipOptions options = {}) {
    std::unique_ptr<archive, decltype(&archive_write_free)> a(archive_write_new(),
                                                              &archive_write_free);
    EXPECT_EQ(archive_write_set_format_zip(a.get()), ARCHIVE_OK);
    // No block padding: the archive ends with its end-of-central-directory record.
    EXPECT_EQ(archive_write_set_bytes_in_last_block(a.get(), 1), ARCHIVE_OK);
    if (options.encrypt) {
        EXPECT_EQ(archive_write_set_options(a.get(), "zip:encryption=traditional"), ARCHIVE_OK);
        EXPECT_EQ(archive_write_set_passphrase(a.get(), "secret"), ARCHIVE_OK);
    }
    std::string out;
    EXPECT_EQ(archive_write_open(a.get(), &out, nullptr, &append_to_string, nullptr), ARCHIVE_OK);
    for (const auto& e : entries) {
        std::unique_ptr<archive_entry, decltype(&archive_entry_free)> entry(archive_entry_new(),
                                                                            &archive_entry_free);
        archive_entry_set_pathname(entry.get(), e.name.c_str());
        archive_entry_set_filetype(entry.get(), e.directory ? AE_IFDIR : AE_IFREG);
        archive_entry_set_perm(entry.get(), e.directory ? 0755 : 0644);
        archive_entry_set_mtime(entry.get(), 1700000000, 0);
        if (options.sizes_known || e.directory)
            archive_entry_set_size(entry.get(), static_cast<la_int64_t>(e.data.size()));
        else
            archive_entry_unset_size(entry.get());
        EXPECT_EQ(archive_write_header(a.get(), entry.get()), ARCHIVE_OK) << e.name;
        if (!e.data.empty()) {
            EXPECT_EQ(archive_write_data(a.get(), e.data.data(), e.data.size()),
                      static_cast<la_ssize_t>(e.data.size()));
        }
    }
    EXPECT_EQ(archive_write_close(a.get()), ARCHIVE_OK);
    return out;
}

void put16(std::string& out, unsigned v) {
    out += static_cast<char>(v & 0xff);
    out += static_cast<char>((v >> 8) & 0xff);
}
void put32(std::string& out, unsigned long v) {
    put16(out, static_cast<unsigned>(v & 0xffff));
    put16(out, static_cast<unsigned>((v >> 16) & 0xffff));
}

/// A zip of stored entries written field by field (PKWARE APPNOTE 4.3.7, 4.3.12, 4.3.16), for
/// what libarchive's writer refuses to make: an entry whose name is empty (mail-dmarc's
/// test_dmarc.xml.zip has one).
std::string raw_stored_zip(const std::vector<ZipEntry>& entries) {
    std::string out, central;
    for (const auto& e : entries) {
        auto crc = crc32(0, reinterpret_cast<const Bytef*>(e.data.data()),
                         static_cast<uInt>(e.data.size()));
        auto offset = out.size();
        auto header = [&](std::string& to, bool is_central) {
            put32(to, is_central ? 0x02014b50 : 0x04034b50);
            if (is_central) put16(to, 20);  // version made by
            put16(to, 20);                  // version needed
            put16(to, 0);                   // flags
            put16(to, 0);                   // method: stored
            put16(to, 0);                   // time
            put16(to, 0x21);                // date: 1980-01-01
            put32(to, crc);
            put32(to, e.data.size());
            put32(to, e.data.size());
            put16(to, static_cast<unsigned>(e.name.size()));
            put16(to, 0);  // extra length
            if (is_central) {
                put16(to, 0);  // comment length
                put16(to, 0);  // disk
                put16(to, 0);  // internal attributes
                put32(to, 0);  // external attributes
                put32(to, offset);
            }
            to += e.name;
        };
        header(out, false);
        out += e.data;
        header(central, true);
    }
    auto central_offset = out.size();
    out += central;
    put32(out, 0x06054b50);
    put16(out, 0);
    put16(out, 0);
    put16(out, static_cast<unsigned>(entries.size()));
    put16(out, static_cast<unsigned>(entries.size()));
    put32(out, central.size());
    put32(out, central_offset);
    put16(out, 0);
    return out;
}

std::string base64(std::string_view data) {
    static constexpr char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    std::size_t line = 0;
    for (std::size_t i = 0; i < data.size(); i += 3) {
        auto octet = [&](std::size_t k) {
            return static_cast<unsigned>(static_cast<unsigned char>(data[k]));
        };
        unsigned v = octet(i) << 16;
        if (i + 1 < data.size()) v |= octet(i + 1) << 8;
        if (i + 2 < data.size()) v |= octet(i + 2);
        out += alphabet[(v >> 18) & 63];
        out += alphabet[(v >> 12) & 63];
        out += i + 1 < data.size() ? alphabet[(v >> 6) & 63] : '=';
        out += i + 2 < data.size() ? alphabet[v & 63] : '=';
        if ((line += 4) == 76) {
            out += '\n';
            line = 0;
        }
    }
    if (line != 0) out += '\n';
    return out;
}

/// RFC 2045 §6.7: '=' and non-ASCII escaped, lines soft-broken before 76 characters.
std::string quoted_printable(std::string_view text) {
    std::string out;
    std::size_t column = 0;
    for (char c : text) {
        if (c == '\n') {
            out += '\n';
            column = 0;
            continue;
        }
        auto u = static_cast<unsigned char>(c);
        std::string piece = (u == '=' || u > 126) ? fmt::format("={:02X}", u) : std::string(1, c);
        if (column + piece.size() > 72) {
            out += "=\n";
            column = 0;
        }
        out += piece;
        column += piece.size();
    }
    return out;
}

std::string to_crlf(std::string_view text) {
    std::string out;
    for (char c : text) {
        if (c == '\n') out += '\r';
        out += c;
    }
    return out;
}

/// A MIME entity: header lines (each ending in '\n'), an empty line, the body.
std::string entity(std::string_view headers, std::string_view body) {
    return fmt::format("{}\n{}", headers, body);
}

std::string multipart(std::string_view subtype, std::string_view boundary,
                      const std::vector<std::string>& parts, std::string_view extra_params = "") {
    std::string out = fmt::format("Content-Type: multipart/{}; boundary=\"{}\"{}\n\n"
                                  "This is a multi-part message in MIME format.\n",
                                  subtype, boundary, extra_params);
    for (const auto& p : parts) out += fmt::format("--{}\n{}\n", boundary, p);
    out += fmt::format("--{}--\n", boundary);
    return out;
}

std::string message(std::string_view mime_entity, std::string_view subject = "Report") {
    return fmt::format(
        "Return-Path: <dmarc@example.net>\n"
        "From: DMARC reports <dmarc@example.net>\n"
        "To: rua@example.com\n"
        "Subject: {}\n"
        "Date: Thu, 23 Nov 2026 10:00:00 +0000\n"
        "Message-ID: <20261123100000.1@example.net>\n"
        "MIME-Version: 1.0\n"
        "{}",
        subject, mime_entity);
}

std::string text_part(std::string_view text) {
    return entity("Content-Type: text/plain; charset=us-ascii\n"
                  "Content-Transfer-Encoding: 7bit\n",
                  text);
}

std::string base64_part(std::string_view content_type, std::string_view filename,
                        std::string_view payload) {
    return entity(fmt::format("Content-Type: {}; name=\"{}\"\n"
                              "Content-Disposition: attachment; filename=\"{}\"\n"
                              "Content-Transfer-Encoding: base64\n",
                              content_type, filename, filename),
                  base64(payload));
}

std::string mail_with_gzip(std::string_view id, std::string_view filename = "report.xml.gz") {
    return message(multipart(
        "mixed", "b1",
        {text_part("This is a DMARC aggregate report.\n"),
         base64_part("application/gzip", filename, gzip(report_xml(id)))}));
}

const std::string& xml_a() {
    static const std::string x = report_xml("a-1");
    return x;
}
const std::string& xml_b() {
    static const std::string x = report_xml("b-2");
    return x;
}

// ---- plain XML and content sniffing -------------------------------------------------------------

TEST(UnpackPlain, XmlIsDeliveredVerbatim) {
    auto r = run(xml_a(), "r.xml");
    ASSERT_EQ(r.aggregates.size(), 1u) << describe(r);
    EXPECT_EQ(r.aggregates[0].source, "r.xml");
    EXPECT_EQ(r.aggregates[0].xml, xml_a());
    EXPECT_FALSE(r.aggregates[0].error);
    EXPECT_TRUE(r.rejections.empty()) << describe(r);
    EXPECT_TRUE(r.failures.empty());
    EXPECT_TRUE(r.messages.empty());
}

TEST(UnpackPlain, XmlWithBomAndLeadingWhitespaceIsDeliveredWithThem) {
    // The unpacker passes the bytes on untouched; the XML parser skips the BOM itself.
    const std::string input = "\xEF\xBB\xBF\r\n \t\n" + xml_a();
    auto r = run(input, "bom.xml");
    ASSERT_EQ(r.aggregates.size(), 1u) << describe(r);
    EXPECT_EQ(r.aggregates[0].xml, input);
    EXPECT_FALSE(r.aggregates[0].error);
    EXPECT_TRUE(r.rejections.empty());
}

TEST(UnpackPlain, XmlAfterManyBlankLinesIsRecognised) {
    // More blank lines than the first look at the stream covers.
    const std::string input = std::string(3000, '\n') + xml_a();
    auto r = run(input, "blank.xml");
    ASSERT_EQ(r.aggregates.size(), 1u) << describe(r);
    EXPECT_EQ(r.aggregates[0].xml, input);
    EXPECT_TRUE(r.rejections.empty()) << describe(r);

    // Only blank: still refused, after a bounded look.
    auto blank = run(std::string(1u << 20, ' '), "blank.xml");
    EXPECT_TRUE(blank.aggregates.empty());
    ASSERT_EQ(blank.rejections.size(), 1u) << describe(blank);
    EXPECT_TRUE(blank.rejections[0].reason.starts_with("unrecognised content"));
}

TEST(UnpackPlain, XmlReadInTinyPiecesIsWhole) {
    auto r = run_dribbled(xml_a(), "r.xml");
    ASSERT_EQ(r.aggregates.size(), 1u) << describe(r);
    EXPECT_EQ(r.aggregates[0].xml, xml_a());
}

TEST(UnpackPlain, EmptyInputIsRefused) {
    auto r = run("", "empty.xml");
    EXPECT_TRUE(r.aggregates.empty());
    ASSERT_EQ(r.rejections.size(), 1u) << describe(r);
    EXPECT_EQ(r.rejections[0].code, Errc::malformed);
    EXPECT_EQ(r.rejections[0].reason, "the input is empty");
    EXPECT_EQ(r.rejections[0].where.source, "empty.xml");
}

TEST(UnpackPlain, BinaryJunkIsRefused) {
    std::string junk;
    for (unsigned i = 0; i < 4096; ++i) junk += static_cast<char>((i * 167 + 13) & 0xff);
    auto r = run(junk, "junk.bin");
    EXPECT_TRUE(r.aggregates.empty());
    ASSERT_EQ(r.rejections.size(), 1u) << describe(r);
    EXPECT_EQ(r.rejections[0].code, Errc::malformed);
    EXPECT_EQ(r.rejections[0].reason,
              "unrecognised content: not XML, gzip, zip, an e-mail message or an mbox file");
    EXPECT_EQ(r.rejections[0].where.source, "junk.bin");
}

TEST(UnpackPlain, PlainTextIsRefused) {
    auto r = run("Hello, this is not a report.\n", "note.txt");
    EXPECT_TRUE(r.aggregates.empty());
    ASSERT_EQ(r.rejections.size(), 1u) << describe(r);
    EXPECT_EQ(r.rejections[0].code, Errc::malformed);
    EXPECT_TRUE(r.rejections[0].reason.starts_with("unrecognised content")) << describe(r);
}

TEST(UnpackPlain, InputOverMaxInputFailsTheStream) {
    IngestLimits limits;
    limits.max_input = 1000;
    auto input = big_report_xml("big", 100);
    ASSERT_GT(input.size(), 2000u);
    auto r = run(input, "big.xml", limits);
    ASSERT_EQ(r.aggregates.size(), 1u) << describe(r);
    ASSERT_TRUE(r.aggregates[0].error) << describe(r);
    EXPECT_EQ(r.aggregates[0].error->code, Errc::limit_exceeded);
    EXPECT_EQ(r.aggregates[0].error->reason, "the input is larger than the limit of 1000 bytes");
    // Exactly the first max_input bytes came through before the refusal.
    EXPECT_EQ(r.aggregates[0].xml, input.substr(0, 1000));
}

// ---- gzip -------------------------------------------------------------------------------------

TEST(UnpackGzip, SingleMember) {
    auto r = run(gzip(xml_a()), "r.xml.gz");
    ASSERT_EQ(r.aggregates.size(), 1u) << describe(r);
    EXPECT_EQ(r.aggregates[0].source, "r.xml.gz");
    EXPECT_EQ(r.aggregates[0].xml, xml_a());
    EXPECT_FALSE(r.aggregates[0].error);
    EXPECT_TRUE(r.rejections.empty()) << describe(r);
}

TEST(UnpackGzip, HeaderWithFileNameAndHeaderCrc) {
    auto gz = gzip(xml_a(), Z_DEFAULT_COMPRESSION, "google.com!example.com!1!2.xml");
    ASSERT_NE(gz.find("google.com!example.com"), std::string::npos);
    auto r = run_dribbled(gz, "r.xml.gz");
    ASSERT_EQ(r.aggregates.size(), 1u) << describe(r);
    EXPECT_EQ(r.aggregates[0].xml, xml_a());
    EXPECT_FALSE(r.aggregates[0].error);
}

TEST(UnpackGzip, GzipInGzip) {
    // dmarc-report-converter's test.xml.gz.gz: some reporters compress twice.
    auto r = run(gzip(gzip(xml_a())), "r.xml.gz.gz");
    ASSERT_EQ(r.aggregates.size(), 1u) << describe(r);
    EXPECT_EQ(r.aggregates[0].source, "r.xml.gz.gz");
    EXPECT_EQ(r.aggregates[0].xml, xml_a());
    EXPECT_FALSE(r.aggregates[0].error);
}

TEST(UnpackGzip, ConcatenatedMembersAreOneStream) {
    // RFC 1952 §2.2: "A gzip file consists of a series of members".
    auto xml = big_report_xml("cat", 300);
    auto half = xml.size() / 2;
    auto input = gzip(std::string_view(xml).substr(0, half)) +
                 gzip(std::string_view(xml).substr(half));
    auto r = run(input, "cat.xml.gz");
    ASSERT_EQ(r.aggregates.size(), 1u) << describe(r);
    EXPECT_EQ(r.aggregates[0].xml, xml);
    EXPECT_FALSE(r.aggregates[0].error) << describe(r);

    // The same, one to seven bytes per read, so the second header straddles reads.
    auto d = run_dribbled(input, "cat.xml.gz");
    ASSERT_EQ(d.aggregates.size(), 1u) << describe(d);
    EXPECT_EQ(d.aggregates[0].xml, xml);
    EXPECT_FALSE(d.aggregates[0].error) << describe(d);
}

TEST(UnpackGzip, EmptyMemberBetweenMembersIsSkipped) {
    auto input = gzip("<feedback>") + gzip("") + gzip("</feedback>\n");
    auto r = run_dribbled(input, "e.xml.gz");
    ASSERT_EQ(r.aggregates.size(), 1u) << describe(r);
    EXPECT_EQ(r.aggregates[0].xml, "<feedback></feedback>\n");
    EXPECT_FALSE(r.aggregates[0].error);
}

TEST(UnpackGzip, TrailingJunkAfterTheMemberIsIgnored) {
    // Mimecast appends CR LF after the gzip member (parsedmarc's mimecast-weird-gzip.eml, copied
    // to tests/fixtures/unpack); other junk is treated the same way, as gunzip does.
    for (std::string junk : {std::string("\0\0\0\0", 4), std::string("\r\n"), std::string("\x1f"),
                             std::string("junk after the end of the gzip member")}) {
        auto input = gzip(xml_a()) + junk;
        auto r = run(input, "m.xml.gz");
        ASSERT_EQ(r.aggregates.size(), 1u) << describe(r);
        EXPECT_EQ(r.aggregates[0].xml, xml_a());
        EXPECT_FALSE(r.aggregates[0].error) << describe(r);
        EXPECT_TRUE(r.rejections.empty()) << describe(r);

        auto d = run_dribbled(input, "m.xml.gz");
        ASSERT_EQ(d.aggregates.size(), 1u) << describe(d);
        EXPECT_EQ(d.aggregates[0].xml, xml_a());
        EXPECT_FALSE(d.aggregates[0].error) << describe(d);
    }
}

TEST(UnpackGzip, TruncatedStreamFailsWithTruncated) {
    // Cut inside the deflate data of a report too large to be peeked whole: the first part is
    // handed over, and the stream then fails.
    auto xml = big_report_xml("trunc", 5000);
    auto gz = gzip(xml);
    auto r = run(gz.substr(0, gz.size() / 2), "t.xml.gz");
    ASSERT_EQ(r.aggregates.size(), 1u) << describe(r);
    ASSERT_TRUE(r.aggregates[0].error) << describe(r);
    EXPECT_EQ(r.aggregates[0].error->code, Errc::malformed);
    EXPECT_EQ(r.aggregates[0].error->reason, "the gzip stream is truncated");
    EXPECT_TRUE(xml.starts_with(r.aggregates[0].xml));
    EXPECT_LT(r.aggregates[0].xml.size(), xml.size());

    // Only the 8-byte trailer (CRC-32, ISIZE) missing: every byte of XML came out, yet the
    // stream is not trusted.
    auto no_trailer = run(gz.substr(0, gz.size() - 8), "t.xml.gz");
    ASSERT_EQ(no_trailer.aggregates.size(), 1u) << describe(no_trailer);
    ASSERT_TRUE(no_trailer.aggregates[0].error) << describe(no_trailer);
    EXPECT_EQ(no_trailer.aggregates[0].error->reason, "the gzip stream is truncated");
}

TEST(UnpackGzip, TruncatedBeforeAnyReportIsRefused) {
    // Too short to show a report's first bytes: refused outright, at the input's location.
    auto gz = gzip(xml_a());
    auto r = run(gz.substr(0, 12), "t.xml.gz");
    EXPECT_TRUE(r.aggregates.empty()) << describe(r);
    ASSERT_EQ(r.rejections.size(), 1u) << describe(r);
    EXPECT_EQ(r.rejections[0].code, Errc::malformed);
    EXPECT_EQ(r.rejections[0].reason, "the gzip stream is truncated");
    EXPECT_EQ(r.rejections[0].where.source, "t.xml.gz");
}

TEST(UnpackGzip, CorruptStreamIsRefused) {
    // A wrong CRC-32 in the trailer: zlib reports "incorrect data check" once it has inflated
    // everything, so the first bytes were already handed over and the stream then fails.
    auto gz = gzip(xml_a());
    gz[gz.size() - 8] = static_cast<char>(gz[gz.size() - 8] ^ 0x55);
    auto r = run(gz, "c.xml.gz");
    ASSERT_EQ(r.aggregates.size(), 1u) << describe(r);
    EXPECT_EQ(r.aggregates[0].source, "c.xml.gz");
    ASSERT_TRUE(r.aggregates[0].error) << describe(r);
    EXPECT_EQ(r.aggregates[0].error->code, Errc::malformed);
    EXPECT_EQ(r.aggregates[0].error->reason, "the gzip stream is damaged: incorrect data check");
    EXPECT_TRUE(r.rejections.empty()) << describe(r);

    // An unknown compression method in the header (RFC 1952 §2.3.1: CM 8 is deflate).
    auto bad_method = gzip(xml_a());
    bad_method[2] = 7;
    auto m = run(bad_method, "c.xml.gz");
    EXPECT_TRUE(m.aggregates.empty()) << describe(m);
    ASSERT_EQ(m.rejections.size(), 1u) << describe(m);
    EXPECT_EQ(m.rejections[0].code, Errc::malformed);
    EXPECT_EQ(m.rejections[0].where.source, "c.xml.gz");
    EXPECT_EQ(m.rejections[0].reason, "the gzip stream is damaged: unknown compression method");

    // Garbage in the middle of a large report's deflate data.
    auto xml = big_report_xml("corrupt", 5000);
    auto big = gzip(xml);
    for (std::size_t i = big.size() / 2; i < big.size() / 2 + 64; ++i) big[i] = '\xff';
    auto b = run(big, "c.xml.gz");
    ASSERT_EQ(b.aggregates.size(), 1u) << describe(b);
    ASSERT_TRUE(b.aggregates[0].error) << describe(b);
    EXPECT_EQ(b.aggregates[0].error->code, Errc::malformed);
    EXPECT_TRUE(b.aggregates[0].error->reason.starts_with("the gzip stream is damaged: "))
        << b.aggregates[0].error->reason;
    EXPECT_NE(b.aggregates[0].xml, xml);
}

TEST(UnpackGzip, BombStopsAtMaxExpanded) {
    IngestLimits limits;
    limits.max_expanded = 1u << 20;
    // A report that starts like XML and goes on with 8 MiB of zeros.
    std::string payload = "<?xml version=\"1.0\"?><feedback>" + std::string(8u << 20, '\0');
    auto gz = gzip(payload, 9);
    ASSERT_LT(gz.size(), 64u * 1024);
    auto r = run(gz, "bomb.xml.gz", limits);
    ASSERT_EQ(r.aggregates.size(), 1u) << describe(r);
    ASSERT_TRUE(r.aggregates[0].error) << describe(r);
    EXPECT_EQ(r.aggregates[0].error->code, Errc::limit_exceeded);
    EXPECT_EQ(r.aggregates[0].error->reason,
              "decompressed data exceeds the limit of 1048576 bytes (gzip bomb?)");
    EXPECT_LE(r.aggregates[0].xml.size(), limits.max_expanded);
}

TEST(UnpackGzip, ZerosBombIsRefusedAfterOnePeek) {
    // Zeros are no report: the first bytes decide, the bomb is never expanded.
    IngestLimits limits;
    limits.max_expanded = 1u << 20;
    auto r = run(gzip(std::string(8u << 20, '\0'), 9), "zeros.gz", limits);
    EXPECT_TRUE(r.aggregates.empty());
    ASSERT_EQ(r.rejections.size(), 1u) << describe(r);
    EXPECT_EQ(r.rejections[0].code, Errc::malformed);
    EXPECT_TRUE(r.rejections[0].reason.starts_with("unrecognised content"));
}

TEST(UnpackGzip, RatioBombIsRefused) {
    std::string payload = "<feedback>" + std::string(8u << 20, '\0');
    auto gz = gzip(payload, 9);
    IngestLimits limits;
    limits.max_ratio = 100;
    auto r = run(gz, "ratio.xml.gz", limits);
    ASSERT_EQ(r.aggregates.size(), 1u) << describe(r);
    ASSERT_TRUE(r.aggregates[0].error) << describe(r);
    EXPECT_EQ(r.aggregates[0].error->code, Errc::limit_exceeded);
    EXPECT_EQ(r.aggregates[0].error->reason, "gzip expands more than 100:1 (gzip bomb?)");
    EXPECT_LT(r.aggregates[0].xml.size(), 2u << 20);

    // The same stream under a ratio it does not reach is delivered whole.
    limits.max_ratio = 5000;
    auto ok = run(gz, "ratio.xml.gz", limits);
    ASSERT_EQ(ok.aggregates.size(), 1u) << describe(ok);
    EXPECT_FALSE(ok.aggregates[0].error) << describe(ok);
    EXPECT_EQ(ok.aggregates[0].xml.size(), payload.size());
}

TEST(UnpackGzip, NestingBeyondMaxNestingIsRefused) {
    std::string input = xml_a();
    for (int i = 0; i < 4; ++i) input = gzip(input);
    IngestLimits limits;
    limits.max_nesting = 3;
    auto r = run(input, "deep.gz", limits);
    EXPECT_TRUE(r.aggregates.empty()) << describe(r);
    ASSERT_EQ(r.rejections.size(), 1u) << describe(r);
    EXPECT_EQ(r.rejections[0].code, Errc::limit_exceeded);
    EXPECT_EQ(r.rejections[0].reason, "containers are nested deeper than 3");
    EXPECT_EQ(r.rejections[0].where.source, "deep.gz");

    limits.max_nesting = 4;
    auto ok = run(input, "deep.gz", limits);
    ASSERT_EQ(ok.aggregates.size(), 1u) << describe(ok);
    EXPECT_EQ(ok.aggregates[0].xml, xml_a());
}

// ---- zip ----------------------------------------------------------------------------------------

TEST(UnpackZip, OneXmlEntry) {
    auto r = run(zip({{"google.com!example.com!1700000000!1700086399.xml", xml_a()}}), "r.zip");
    ASSERT_EQ(r.aggregates.size(), 1u) << describe(r);
    EXPECT_EQ(r.aggregates[0].source, "r.zip > google.com!example.com!1700000000!1700086399.xml");
    EXPECT_EQ(r.aggregates[0].xml, xml_a());
    EXPECT_FALSE(r.aggregates[0].error);
    EXPECT_TRUE(r.rejections.empty()) << describe(r);
}

TEST(UnpackZip, EntriesWithDataDescriptors) {
    // Streaming writers put the sizes after the data (APPNOTE 4.3.9).
    auto input = zip({{"a.xml", xml_a()}, {"b.xml", xml_b()}}, {.sizes_known = false});
    auto r = run(input, "r.zip");
    ASSERT_EQ(r.aggregates.size(), 2u) << describe(r);
    EXPECT_EQ(r.aggregates[0].xml, xml_a());
    EXPECT_EQ(r.aggregates[1].xml, xml_b());
    EXPECT_TRUE(r.rejections.empty()) << describe(r);
}

TEST(UnpackZip, EntryWithEmptyName) {
    auto r = run(raw_stored_zip({{"", xml_a()}}), "r.zip");
    ASSERT_EQ(r.aggregates.size(), 1u) << describe(r);
    EXPECT_EQ(r.aggregates[0].source, "r.zip > entry 1 (no name)");
    EXPECT_EQ(r.aggregates[0].xml, xml_a());
    EXPECT_TRUE(r.rejections.empty()) << describe(r);
}

TEST(UnpackZip, EntryWithoutExtension) {
    auto r = run(zip({{"report", xml_a()}}), "r.zip");
    ASSERT_EQ(r.aggregates.size(), 1u) << describe(r);
    EXPECT_EQ(r.aggregates[0].source, "r.zip > report");
    EXPECT_EQ(r.aggregates[0].xml, xml_a());
}

TEST(UnpackZip, TwoReportsInOrder) {
    auto input = zip({{"a.xml", xml_a()}, {"b.xml", xml_b()}});
    for (bool dribble : {false, true}) {
        auto r = dribble ? run_dribbled(input, "r.zip") : run(input, "r.zip");
        ASSERT_EQ(r.aggregates.size(), 2u) << describe(r);
        EXPECT_EQ(sources(r.aggregates),
                  (std::vector<std::string>{"r.zip > a.xml", "r.zip > b.xml"}));
        EXPECT_EQ(r.aggregates[0].xml, xml_a());
        EXPECT_EQ(r.aggregates[1].xml, xml_b());
        EXPECT_TRUE(r.rejections.empty()) << describe(r);
    }
}

TEST(UnpackZip, EntryWithBadCrcFailsItsStream) {
    auto input = raw_stored_zip({{"a.xml", xml_a()}, {"b.xml", xml_b()}});
    input[14] = static_cast<char>(input[14] ^ 0x01);  // the first local header's CRC-32
    auto r = run(input, "crc.zip");
    ASSERT_EQ(r.aggregates.size(), 2u) << describe(r);
    ASSERT_TRUE(r.aggregates[0].error) << describe(r);
    EXPECT_EQ(r.aggregates[0].error->code, Errc::malformed);
    EXPECT_TRUE(r.aggregates[0].error->reason.starts_with("the zip entry is damaged: ZIP bad CRC"))
        << r.aggregates[0].error->reason;
    EXPECT_EQ(r.aggregates[1].xml, xml_b());
    EXPECT_FALSE(r.aggregates[1].error);
}

TEST(UnpackZip, SymbolicLinkEntryIsNeverFollowed) {
    // Read as a stream, a zip's file types are unknown (they live in the central directory):
    // the link's data is its target path, which is no report and is refused as content.
    std::unique_ptr<archive, decltype(&archive_write_free)> a(archive_write_new(),
                                                              &archive_write_free);
    ASSERT_EQ(archive_write_set_format_zip(a.get()), ARCHIVE_OK);
    std::string out;
    ASSERT_EQ(archive_write_open(a.get(), &out, nullptr, &append_to_string, nullptr), ARCHIVE_OK);
    std::unique_ptr<archive_entry, decltype(&archive_entry_free)> link(archive_entry_new(),
                                                                       &archive_entry_free);
    archive_entry_set_pathname(link.get(), "report.xml");
    archive_entry_set_filetype(link.get(), AE_IFLNK);
    archive_entry_set_symlink(link.get(), "/etc/passwd");
    archive_entry_set_perm(link.get(), 0777);
    ASSERT_EQ(archive_write_header(a.get(), link.get()), ARCHIVE_OK);
    ASSERT_EQ(archive_write_close(a.get()), ARCHIVE_OK);
    auto r = run(out, "link.zip");
    EXPECT_TRUE(r.aggregates.empty()) << describe(r);
    ASSERT_EQ(r.rejections.size(), 1u) << describe(r);
    EXPECT_TRUE(r.rejections[0].reason.starts_with("unrecognised content")) << describe(r);
    EXPECT_EQ(r.rejections[0].where.source, "link.zip > report.xml");
}

TEST(UnpackZip, DirectoryEntriesAreSkipped) {
    auto r = run(zip({{"reports/", "", true}, {"reports/a.xml", xml_a()}}), "r.zip");
    ASSERT_EQ(r.aggregates.size(), 1u) << describe(r);
    EXPECT_EQ(r.aggregates[0].source, "r.zip > reports/a.xml");
    EXPECT_TRUE(r.rejections.empty()) << describe(r);
}

TEST(UnpackZip, HostileNamesAreRefusedAndTheOtherEntriesDelivered) {
    auto input = zip({{"../evil.xml", xml_b()},
                      {"ok.xml", xml_a()},
                      {"/etc/x.xml", xml_b()},
                      {"reports/../../up.xml", xml_b()},
                      {"..\\win.xml", xml_b()},
                      {"C:\\Windows\\x.xml", xml_b()},
                      {"also-ok..xml", xml_b()}});
    auto r = run(input, "x.zip");
    EXPECT_EQ(sources(r.aggregates),
              (std::vector<std::string>{"x.zip > ok.xml", "x.zip > also-ok..xml"}))
        << describe(r);
    ASSERT_EQ(r.rejections.size(), 5u) << describe(r);
    const std::vector<std::pair<std::string, std::string>> expected = {
        {"x.zip > ../evil.xml", "zip entry name contains a '..' component"},
        {"x.zip > /etc/x.xml", "zip entry name has an absolute path"},
        {"x.zip > reports/../../up.xml", "zip entry name contains a '..' component"},
        // libarchive turns backslashes into slashes before we see the name.
        {"x.zip > ../win.xml", "zip entry name contains a '..' component"},
        {"x.zip > C:/Windows/x.xml", "zip entry name has an absolute path"},
    };
    for (std::size_t i = 0; i < expected.size(); ++i) {
        EXPECT_EQ(r.rejections[i].where.source, expected[i].first);
        EXPECT_EQ(r.rejections[i].reason, expected[i].second);
        EXPECT_EQ(r.rejections[i].code, Errc::malformed);
    }
}

TEST(UnpackZip, ControlCharactersInNamesAreEscapedInLocations) {
    auto r = run(zip({{"a\x1b[31m.xml", xml_a()}}), "r.zip");
    ASSERT_EQ(r.aggregates.size(), 1u) << describe(r);
    EXPECT_EQ(r.aggregates[0].source, "r.zip > a\\x1b[31m.xml");
}

TEST(UnpackZip, MoreThanMaxZipEntries) {
    IngestLimits limits;
    limits.max_zip_entries = 3;
    std::vector<ZipEntry> entries;
    for (int i = 1; i <= 5; ++i)
        entries.push_back({fmt::format("{}.xml", i), report_xml(std::to_string(i))});
    auto r = run(zip(entries), "many.zip", limits);
    EXPECT_EQ(
        sources(r.aggregates),
        (std::vector<std::string>{"many.zip > 1.xml", "many.zip > 2.xml", "many.zip > 3.xml"}));
    ASSERT_EQ(r.rejections.size(), 1u) << describe(r);
    EXPECT_EQ(r.rejections[0].code, Errc::limit_exceeded);
    EXPECT_EQ(r.rejections[0].reason,
              "the zip archive has more than 3 entries; the rest are ignored");
    EXPECT_EQ(r.rejections[0].where.source, "many.zip");
}

TEST(UnpackZip, BombStopsAtMaxExpanded) {
    IngestLimits limits;
    limits.max_expanded = 1u << 20;
    auto input = zip({{"bomb.xml", "<feedback>" + std::string(8u << 20, '\0')}});
    ASSERT_LT(input.size(), 64u * 1024);
    auto r = run(input, "bomb.zip", limits);
    ASSERT_EQ(r.aggregates.size(), 1u) << describe(r);
    EXPECT_EQ(r.aggregates[0].source, "bomb.zip > bomb.xml");
    ASSERT_TRUE(r.aggregates[0].error) << describe(r);
    EXPECT_EQ(r.aggregates[0].error->code, Errc::limit_exceeded);
    EXPECT_EQ(r.aggregates[0].error->reason,
              "decompressed data exceeds the limit of 1048576 bytes (zip bomb?)");
    EXPECT_LE(r.aggregates[0].xml.size(), limits.max_expanded);
}

TEST(UnpackZip, RatioBombIsRefused) {
    std::string payload = "<feedback>" + std::string(8u << 20, '\0');
    auto input = zip({{"ratio.xml", payload}, {"after.xml", xml_a()}});
    IngestLimits limits;
    limits.max_ratio = 100;
    auto r = run(input, "ratio.zip", limits);
    ASSERT_EQ(r.aggregates.size(), 2u) << describe(r);
    ASSERT_TRUE(r.aggregates[0].error) << describe(r);
    EXPECT_EQ(r.aggregates[0].error->code, Errc::limit_exceeded);
    EXPECT_EQ(r.aggregates[0].error->reason, "zip entry expands more than 100:1 (zip bomb?)");
    EXPECT_LT(r.aggregates[0].xml.size(), 2u << 20);
    // The next entry is still read.
    EXPECT_EQ(r.aggregates[1].source, "ratio.zip > after.xml");
    EXPECT_EQ(r.aggregates[1].xml, xml_a());
    EXPECT_FALSE(r.aggregates[1].error);

    limits.max_ratio = 5000;
    auto ok = run(input, "ratio.zip", limits);
    ASSERT_EQ(ok.aggregates.size(), 2u) << describe(ok);
    EXPECT_FALSE(ok.aggregates[0].error) << describe(ok);
    EXPECT_EQ(ok.aggregates[0].xml.size(), payload.size());
}

TEST(UnpackZip, ZipInsideGzip) {
    auto r = run(gzip(zip({{"a.xml", xml_a()}})), "r.zip.gz");
    ASSERT_EQ(r.aggregates.size(), 1u) << describe(r);
    EXPECT_EQ(r.aggregates[0].source, "r.zip.gz > a.xml");
    EXPECT_EQ(r.aggregates[0].xml, xml_a());
}

TEST(UnpackZip, ZipInsideZipAndGzipInsideZip) {
    auto inner = zip({{"a.xml", xml_a()}});
    auto r = run(zip({{"inner.zip", inner}, {"b.xml.gz", gzip(xml_b())}}), "outer.zip");
    EXPECT_EQ(sources(r.aggregates),
              (std::vector<std::string>{"outer.zip > inner.zip > a.xml", "outer.zip > b.xml.gz"}))
        << describe(r);
    ASSERT_EQ(r.aggregates.size(), 2u);
    EXPECT_EQ(r.aggregates[0].xml, xml_a());
    EXPECT_EQ(r.aggregates[1].xml, xml_b());
    EXPECT_TRUE(r.rejections.empty()) << describe(r);
}

TEST(UnpackZip, NestingBeyondMaxNestingIsRefused) {
    auto l3 = zip({{"a.xml", xml_a()}});
    auto l2 = zip({{"l3.zip", l3}});
    auto l1 = zip({{"l2.zip", l2}});
    IngestLimits limits;
    limits.max_nesting = 2;
    auto r = run(l1, "l1.zip", limits);
    EXPECT_TRUE(r.aggregates.empty()) << describe(r);
    ASSERT_EQ(r.rejections.size(), 1u) << describe(r);
    EXPECT_EQ(r.rejections[0].code, Errc::limit_exceeded);
    EXPECT_EQ(r.rejections[0].reason, "containers are nested deeper than 2");
    EXPECT_EQ(r.rejections[0].where.source, "l1.zip > l2.zip > l3.zip > a.xml");

    limits.max_nesting = 3;
    auto ok = run(l1, "l1.zip", limits);
    ASSERT_EQ(ok.aggregates.size(), 1u) << describe(ok);
    EXPECT_EQ(ok.aggregates[0].source, "l1.zip > l2.zip > l3.zip > a.xml");
}

TEST(UnpackZip, EncryptedEntryIsRefused) {
    auto r = run(zip({{"secret.xml", xml_a()}}, {.encrypt = true}), "enc.zip");
    EXPECT_TRUE(r.aggregates.empty()) << describe(r);
    ASSERT_EQ(r.rejections.size(), 1u) << describe(r);
    EXPECT_EQ(r.rejections[0].code, Errc::unsupported);
    EXPECT_EQ(r.rejections[0].reason, "the zip entry is encrypted");
    EXPECT_EQ(r.rejections[0].where.source, "enc.zip > secret.xml");
}

TEST(UnpackZip, TruncatedArchive) {
    auto big = big_report_xml("big", 5000);
    auto input = zip({{"a.xml", xml_a()}, {"big.xml", big}});
    // Cut in the middle of the second entry's data: the first is whole, the second fails.
    auto r = run(input.substr(0, input.size() - 20000), "t.zip");
    ASSERT_EQ(r.aggregates.size(), 2u) << describe(r);
    EXPECT_EQ(r.aggregates[0].xml, xml_a());
    EXPECT_FALSE(r.aggregates[0].error);
    EXPECT_EQ(r.aggregates[1].source, "t.zip > big.xml");
    ASSERT_TRUE(r.aggregates[1].error) << describe(r);
    EXPECT_EQ(r.aggregates[1].error->code, Errc::malformed);
    EXPECT_TRUE(r.aggregates[1].error->reason.starts_with("the zip entry is damaged: "))
        << r.aggregates[1].error->reason;
    EXPECT_TRUE(big.starts_with(r.aggregates[1].xml));
    EXPECT_LT(r.aggregates[1].xml.size(), big.size());

    // Cut inside the first local header: nothing to deliver, the archive is refused.
    auto h = run(input.substr(0, 20), "h.zip");
    EXPECT_TRUE(h.aggregates.empty()) << describe(h);
    ASSERT_EQ(h.rejections.size(), 1u) << describe(h);
    EXPECT_EQ(h.rejections[0].code, Errc::malformed);
    EXPECT_EQ(h.rejections[0].where.source, "h.zip");
    EXPECT_TRUE(h.rejections[0].reason.starts_with("the zip archive is damaged: "))
        << h.rejections[0].reason;
}

TEST(UnpackZip, ArchiveWithoutFilesIsRefused) {
    std::string empty_zip = "PK\x05\x06" + std::string(18, '\0');
    auto r = run(empty_zip, "empty.zip");
    EXPECT_TRUE(r.aggregates.empty());
    ASSERT_EQ(r.rejections.size(), 1u) << describe(r);
    EXPECT_EQ(r.rejections[0].code, Errc::malformed);
    EXPECT_EQ(r.rejections[0].reason, "the zip archive holds no files");
    EXPECT_EQ(r.rejections[0].where.source, "empty.zip");

    auto d = run(zip({{"only-a-directory/", "", true}}), "dir.zip");
    ASSERT_EQ(d.rejections.size(), 1u) << describe(d);
    EXPECT_EQ(d.rejections[0].reason, "the zip archive holds no files");
}

TEST(UnpackZip, EntryThatIsNoReportIsRefusedByName) {
    auto r = run(zip({{"README.txt", "Hello, these are your reports.\n"}, {"a.xml", xml_a()}}),
                 "r.zip");
    EXPECT_EQ(sources(r.aggregates), std::vector<std::string>{"r.zip > a.xml"});
    ASSERT_EQ(r.rejections.size(), 1u) << describe(r);
    EXPECT_EQ(r.rejections[0].where.source, "r.zip > README.txt");
    EXPECT_TRUE(r.rejections[0].reason.starts_with("unrecognised content"));
}

// ---- e-mail -------------------------------------------------------------------------------------

TEST(UnpackMail, Base64GzipAttachmentLfAndCrlf) {
    auto lf = mail_with_gzip("a-1");
    for (const auto& input : {lf, to_crlf(lf)}) {
        auto r = run(input, "m.eml");
        EXPECT_EQ(r.messages, std::vector<std::string>{"m.eml"});
        ASSERT_EQ(r.aggregates.size(), 1u) << describe(r);
        EXPECT_EQ(r.aggregates[0].source, "m.eml > part 2 > report.xml.gz");
        EXPECT_EQ(r.aggregates[0].xml, xml_a());
        EXPECT_FALSE(r.aggregates[0].error);
        EXPECT_TRUE(r.rejections.empty()) << describe(r);
        EXPECT_TRUE(r.failures.empty());
    }
}

TEST(UnpackMail, Base64ZipAttachment) {
    auto input = message(multipart(
        "mixed", "zz",
        {text_part("Report attached.\n"),
         base64_part("application/zip", "example.com!example.org!1!2.zip",
                     zip({{"example.com!example.org!1!2.xml", xml_a()}}))}));
    auto r = run(input, "m.eml");
    ASSERT_EQ(r.aggregates.size(), 1u) << describe(r);
    EXPECT_EQ(r.aggregates[0].source,
              "m.eml > part 2 > example.com!example.org!1!2.zip > example.com!example.org!1!2.xml");
    EXPECT_EQ(r.aggregates[0].xml, xml_a());
    EXPECT_TRUE(r.rejections.empty()) << describe(r);
}

TEST(UnpackMail, QuotedPrintableTextXmlBody) {
    // A report with '=' in it and lines over 76 characters: QP escapes and soft breaks.
    auto xml = report_xml("qp=1");
    auto qp = quoted_printable(xml);
    ASSERT_NE(qp.find("=3D"), std::string::npos);
    ASSERT_NE(qp.find("=\n"), std::string::npos);
    auto input = message(entity("Content-Type: text/xml; charset=utf-8\n"
                                "Content-Transfer-Encoding: quoted-printable\n",
                                qp));
    for (const auto& in : {input, to_crlf(input)}) {
        auto r = run(in, "qp.eml");
        ASSERT_EQ(r.aggregates.size(), 1u) << describe(r);
        EXPECT_EQ(r.aggregates[0].source, "qp.eml");
        // CRLF line ends in a text part stay CRLF after decoding.
        std::string expected = in == input ? xml : to_crlf(xml);
        EXPECT_EQ(r.aggregates[0].xml, expected);
    }
}

TEST(UnpackMail, OctetStreamHoldingGzipIsSniffed) {
    // Amazon SES sends application/octet-stream; GMX once labelled gzip as zip.
    auto input = message(multipart(
        "mixed", "os",
        {base64_part("application/octet-stream", "report.zip", gzip(xml_a()))}));
    auto r = run(input, "m.eml");
    ASSERT_EQ(r.aggregates.size(), 1u) << describe(r);
    EXPECT_EQ(r.aggregates[0].source, "m.eml > part 1 > report.zip");
    EXPECT_EQ(r.aggregates[0].xml, xml_a());
}

TEST(UnpackMail, AttachmentDeepInsideMultipartAlternative) {
    // Microsoft's shape (mail-auth 103.eml): mixed > related > alternative > the attachment.
    auto html = entity("Content-Type: text/html; charset=us-ascii\n",
                       "<html><body><p>DMARC report</p></body></html>\n");
    auto alternative =
        multipart("alternative", "alt",
                  {text_part("DMARC report\n"), html,
                   base64_part("application/gzip", "deep.xml.gz", gzip(xml_a()))});
    auto related = multipart("related", "rel", {alternative});
    auto input = message(multipart("mixed", "mix", {related}));
    auto r = run(input, "deep.eml");
    ASSERT_EQ(r.aggregates.size(), 1u) << describe(r);
    EXPECT_EQ(r.aggregates[0].source, "deep.eml > part 1 > part 1 > part 3 > deep.xml.gz");
    EXPECT_EQ(r.aggregates[0].xml, xml_a());
    EXPECT_TRUE(r.rejections.empty()) << describe(r);
}

TEST(UnpackMail, AttachmentInsideAnAttachedMessage) {
    auto inner = mail_with_gzip("b-2", "inner.xml.gz");
    auto input = message(multipart(
        "mixed", "fwd",
        {text_part("Forwarded report.\n"),
         entity("Content-Type: message/rfc822\nContent-Disposition: attachment\n", inner)}));
    auto r = run(input, "fwd.eml");
    ASSERT_EQ(r.aggregates.size(), 1u) << describe(r);
    EXPECT_EQ(r.aggregates[0].source,
              "fwd.eml > part 2 > attached message > part 2 > inner.xml.gz");
    EXPECT_EQ(r.aggregates[0].xml, xml_b());
    EXPECT_TRUE(r.rejections.empty()) << describe(r);
}

TEST(UnpackMail, HtmlBodyIsSkipped) {
    auto html = entity("Content-Type: text/html; charset=us-ascii\n",
                       "<html><body><feedback>not a report</feedback></body></html>\n");
    auto with_report = message(multipart(
        "mixed", "h", {html, base64_part("application/gzip", "r.xml.gz", gzip(xml_a()))}));
    auto r = run(with_report, "h.eml");
    EXPECT_EQ(sources(r.aggregates), std::vector<std::string>{"h.eml > part 2 > r.xml.gz"})
        << describe(r);
    EXPECT_TRUE(r.rejections.empty()) << describe(r);

    auto only_html = run(message(html), "h.eml");
    EXPECT_TRUE(only_html.aggregates.empty()) << describe(only_html);
    ASSERT_EQ(only_html.rejections.size(), 1u) << describe(only_html);
    EXPECT_TRUE(only_html.rejections[0].reason.starts_with("no DMARC report found"));
}

TEST(UnpackMail, MessageWithoutReportIsRefused) {
    auto input = message(multipart("mixed", "n", {text_part("Hello.\n"), text_part("Bye.\n")}));
    auto r = run(input, "none.eml");
    EXPECT_EQ(r.messages, std::vector<std::string>{"none.eml"});
    EXPECT_TRUE(r.aggregates.empty());
    ASSERT_EQ(r.rejections.size(), 1u) << describe(r);
    EXPECT_EQ(r.rejections[0].code, Errc::malformed);
    EXPECT_EQ(r.rejections[0].reason,
              "no DMARC report found in the message (no XML, gzip or zip attachment, no feedback "
              "report)");
    EXPECT_EQ(r.rejections[0].where.source, "none.eml");
}

TEST(UnpackMail, ArfFailureReportIsHandedOverWhole) {
    auto arf = message(
        multipart(
            "report", "arf",
            {text_part("This is an authentication failure report.\n"),
             entity("Content-Type: message/feedback-report\n",
                    "Feedback-Type: auth-failure\nUser-Agent: Test/1.0\nVersion: 1\n"
                    "Auth-Failure: dmarc\nReported-Domain: example.com\n"),
             entity("Content-Type: text/rfc822-headers\n",
                    "From: someone@example.com\nSubject: hi\n")},
            "; report-type=feedback-report"),
        "FW: failure report");
    for (const auto& input : {arf, to_crlf(arf)}) {
        auto r = run(input, "arf.eml");
        ASSERT_EQ(r.failures.size(), 1u) << describe(r);
        EXPECT_EQ(r.failures[0].source, "arf.eml");
        EXPECT_EQ(r.failures[0].message, input);
        EXPECT_TRUE(r.aggregates.empty());
        EXPECT_TRUE(r.rejections.empty()) << describe(r);
        EXPECT_EQ(r.messages, std::vector<std::string>{"arf.eml"});
    }
}

TEST(UnpackMail, MessageOverMaxMessageIsRefused) {
    IngestLimits limits;
    limits.max_message = 4096;
    auto input = message(multipart(
        "mixed", "big",
        {base64_part("application/gzip", "r.xml.gz", gzip(big_report_xml("x", 2000)))}));
    ASSERT_GT(input.size(), 8192u);
    auto r = run(input, "big.eml", limits);
    EXPECT_TRUE(r.aggregates.empty());
    EXPECT_TRUE(r.messages.empty());
    ASSERT_EQ(r.rejections.size(), 1u) << describe(r);
    EXPECT_EQ(r.rejections[0].code, Errc::limit_exceeded);
    EXPECT_EQ(r.rejections[0].reason, "the message is larger than the limit of 4096 bytes");
    EXPECT_EQ(r.rejections[0].where.source, "big.eml");
}

/// `levels` multiparts, each the only part of the one around it, around `inner`.
std::string nested_multiparts(int levels, std::string_view inner) {
    std::string open, close;
    for (int i = 0; i < levels; ++i)
        open += fmt::format("Content-Type: multipart/mixed; boundary=\"n{}\"\n\n--n{}\n", i, i);
    for (int i = levels - 1; i >= 0; --i) close += fmt::format("\n--n{}--\n", i);
    return open + std::string(inner) + close;
}

TEST(UnpackMail, MultipartsNestedBeyondMaxNestingAreRefused) {
    auto attachment = base64_part("application/gzip", "r.xml.gz", gzip(xml_a()));
    auto r = run(message(nested_multiparts(12, attachment)), "nest.eml");
    EXPECT_TRUE(r.aggregates.empty()) << describe(r);
    ASSERT_EQ(r.rejections.size(), 1u) << describe(r);
    EXPECT_EQ(r.rejections[0].code, Errc::limit_exceeded);
    EXPECT_EQ(r.rejections[0].reason, "MIME parts are nested deeper than 8");
    std::string eight_deep = "nest.eml";
    for (int i = 0; i < 8; ++i) eight_deep += " > part 1";
    EXPECT_EQ(r.rejections[0].where.source, eight_deep);

    // Four levels (plus the message and the gzip) are within the default limits.
    auto ok = run(message(nested_multiparts(4, attachment)), "nest.eml");
    ASSERT_EQ(ok.aggregates.size(), 1u) << describe(ok);
    EXPECT_EQ(ok.aggregates[0].source, "nest.eml > part 1 > part 1 > part 1 > part 1 > r.xml.gz");
    EXPECT_EQ(ok.aggregates[0].xml, xml_a());
}

TEST(UnpackMail, HostileBoundaryLoadIsRefusedBeforeParsing) {
    // 1000 nested multiparts and 20000 lines starting with "--": GMime would compare each line
    // with every enclosing boundary (seconds of CPU for a few MB). Refused before GMime sees it.
    std::string dashes;
    for (int i = 0; i < 20000; ++i) dashes += "--zz\n";
    auto r = run(message(nested_multiparts(1000, entity("Content-Type: text/plain\n", dashes))),
                 "dash.eml");
    EXPECT_EQ(r.messages, std::vector<std::string>{"dash.eml"});
    EXPECT_TRUE(r.aggregates.empty()) << describe(r);
    ASSERT_EQ(r.rejections.size(), 1u) << describe(r);
    EXPECT_EQ(r.rejections[0].code, Errc::limit_exceeded);
    EXPECT_EQ(r.rejections[0].reason,
              "the message has too many nested MIME boundaries to parse safely");
    EXPECT_EQ(r.rejections[0].where.source, "dash.eml");
}

// ---- mbox ---------------------------------------------------------------------------------------

std::string mbox_from(int n) {
    return fmt::format("From dmarc@example.net Thu Nov 23 10:00:0{} 2026\n", n);
}

TEST(UnpackMbox, ThreeMessagesOneWithoutReport) {
    auto m1 = mail_with_gzip("a-1", "one.xml.gz");
    auto m2 = message(text_part("Just a note, no report.\n"));
    auto m3 = message(
        multipart("mixed", "z",
                  {base64_part("application/zip", "three.zip", zip({{"three.xml", xml_b()}}))}));
    auto box = mbox_from(1) + m1 + "\n" + mbox_from(2) + m2 + "\n" + mbox_from(3) + m3 + "\n";
    for (bool dribble : {false, true}) {
        auto r = dribble ? run_dribbled(box, "box.mbox") : run(box, "box.mbox");
        EXPECT_EQ(r.messages,
                  (std::vector<std::string>{"box.mbox > message 1", "box.mbox > message 2",
                                            "box.mbox > message 3"}));
        EXPECT_EQ(
            sources(r.aggregates),
            (std::vector<std::string>{"box.mbox > message 1 > part 2 > one.xml.gz",
                                      "box.mbox > message 3 > part 1 > three.zip > three.xml"}))
            << describe(r);
        ASSERT_EQ(r.aggregates.size(), 2u);
        EXPECT_EQ(r.aggregates[0].xml, xml_a());
        EXPECT_EQ(r.aggregates[1].xml, xml_b());
        ASSERT_EQ(r.rejections.size(), 1u) << describe(r);
        EXPECT_EQ(r.rejections[0].where.source, "box.mbox > message 2");
        EXPECT_TRUE(r.rejections[0].reason.starts_with("no DMARC report found"));
    }
}

TEST(UnpackMbox, CrlfMailbox) {
    auto box = to_crlf(mbox_from(1) + mail_with_gzip("a-1") + "\n" + mbox_from(2) +
                       mail_with_gzip("b-2") + "\n");
    auto r = run(box, "crlf.mbox");
    EXPECT_EQ(r.messages.size(), 2u) << describe(r);
    ASSERT_EQ(r.aggregates.size(), 2u) << describe(r);
    EXPECT_EQ(r.aggregates[0].xml, xml_a());
    EXPECT_EQ(r.aggregates[1].xml, xml_b());
    EXPECT_TRUE(r.rejections.empty()) << describe(r);
}

TEST(UnpackMbox, FromLineInsideABodyDoesNotSplit) {
    auto m = message(multipart(
        "mixed", "f",
        {text_part("Hello,\nFrom the team: your report is attached.\nFrom here on, all is well.\n"),
         base64_part("application/gzip", "r.xml.gz", gzip(xml_a()))}));
    auto r = run(mbox_from(1) + m, "one.mbox");
    EXPECT_EQ(r.messages, std::vector<std::string>{"one.mbox > message 1"});
    ASSERT_EQ(r.aggregates.size(), 1u) << describe(r);
    EXPECT_EQ(r.aggregates[0].xml, xml_a());
    EXPECT_TRUE(r.rejections.empty()) << describe(r);

    // After an empty line, "From " does start a message (RFC 4155 §2): the control case.
    auto split = message(text_part("Hello,\n\nFrom the team.\n"));
    auto s = run(mbox_from(1) + split, "two.mbox");
    EXPECT_EQ(s.messages.size(), 2u) << describe(s);
}

TEST(UnpackMbox, OversizeMessageIsRefusedAndTheOthersDelivered) {
    IngestLimits limits;
    limits.max_message = 8192;
    auto big = message(multipart(
        "mixed", "big",
        {base64_part("application/gzip", "big.xml.gz", gzip(big_report_xml("x", 2000)))}));
    ASSERT_GT(big.size(), 8192u);
    auto box = mbox_from(1) + mail_with_gzip("a-1") + "\n" + mbox_from(2) + big + "\n" +
               mbox_from(3) + mail_with_gzip("b-2") + "\n";
    auto r = run(box, "o.mbox", limits);
    EXPECT_EQ(r.messages.size(), 3u) << describe(r);
    EXPECT_EQ(sources(r.aggregates),
              (std::vector<std::string>{"o.mbox > message 1 > part 2 > report.xml.gz",
                                        "o.mbox > message 3 > part 2 > report.xml.gz"}))
        << describe(r);
    ASSERT_EQ(r.rejections.size(), 1u) << describe(r);
    EXPECT_EQ(r.rejections[0].code, Errc::limit_exceeded);
    EXPECT_EQ(r.rejections[0].reason, "the message is larger than the limit of 8192 bytes");
    EXPECT_EQ(r.rejections[0].where.source, "o.mbox > message 2");
}

TEST(UnpackMbox, OverlongLineMakesOnlyItsMessageOversize) {
    // One line of 3 MiB without a line break, in a mailbox read 1 to 7 bytes at a time and in
    // 64 KiB chunks: the splitter must neither hold it nor rescan it.
    IngestLimits limits;
    limits.max_message = 1u << 20;
    std::string line(3u << 20, 'x');
    auto box = mbox_from(1) + mail_with_gzip("a-1") + "\n" + mbox_from(2) +
               message(text_part(line + "\n")) + "\n" + mbox_from(3) + mail_with_gzip("b-2");
    for (bool dribble : {false, true}) {
        auto r = dribble ? run_dribbled(box, "l.mbox", limits) : run(box, "l.mbox", limits);
        EXPECT_EQ(r.messages.size(), 3u) << describe(r);
        EXPECT_EQ(sources(r.aggregates),
                  (std::vector<std::string>{"l.mbox > message 1 > part 2 > report.xml.gz",
                                            "l.mbox > message 3 > part 2 > report.xml.gz"}))
            << describe(r);
        ASSERT_EQ(r.rejections.size(), 1u) << describe(r);
        EXPECT_EQ(r.rejections[0].code, Errc::limit_exceeded);
        EXPECT_EQ(r.rejections[0].where.source, "l.mbox > message 2");
    }
}

TEST(UnpackMbox, OverlongSeparatorLineIsNotPartOfTheMessage) {
    // A "From " line longer than the splitter's line buffer: its tail must not become the first
    // header of the message.
    auto box = "From dmarc@example.net " + std::string(200'000, 'y') + "\n" + mail_with_gzip("a-1");
    auto r = run(box, "s.mbox");
    EXPECT_EQ(r.messages, std::vector<std::string>{"s.mbox > message 1"});
    ASSERT_EQ(r.aggregates.size(), 1u) << describe(r);
    EXPECT_EQ(r.aggregates[0].xml, xml_a());
}

TEST(UnpackMbox, ReadErrorInsideAMessageIsReportedThere) {
    IngestLimits limits;
    auto m = mail_with_gzip("a-1");
    auto box = mbox_from(1) + m + "\n" + mbox_from(2) + m + "\n";
    limits.max_input = box.size() - 100;  // the input cap cuts message 2
    auto r = run(box, "e.mbox", limits);
    EXPECT_EQ(sources(r.aggregates),
              std::vector<std::string>{"e.mbox > message 1 > part 2 > report.xml.gz"})
        << describe(r);
    ASSERT_EQ(r.rejections.size(), 1u) << describe(r);
    EXPECT_EQ(r.rejections[0].code, Errc::limit_exceeded);
    EXPECT_EQ(r.rejections[0].where.source, "e.mbox > message 2");
    EXPECT_EQ(r.rejections[0].reason,
              fmt::format("the input is larger than the limit of {} bytes", limits.max_input));
}

// ---- locations through a chain ------------------------------------------------------------------

TEST(UnpackLocation, RejectionNamesTheWholeContainerChain) {
    auto input = message(multipart(
        "mixed", "c",
        {base64_part("application/zip", "x.zip",
                     zip({{"../evil.xml", xml_a()}, {"good.xml", xml_b()}}))}));
    auto box = mbox_from(1) + input;
    auto r = run(box, "inbox.mbox");
    ASSERT_EQ(r.rejections.size(), 1u) << describe(r);
    EXPECT_EQ(r.rejections[0].where.source,
              "inbox.mbox > message 1 > part 1 > x.zip > ../evil.xml");
    EXPECT_EQ(sources(r.aggregates),
              std::vector<std::string>{"inbox.mbox > message 1 > part 1 > x.zip > good.xml"});
}

// ---- the shared corpus --------------------------------------------------------------------------

bool starts_like_xml(std::string_view text) {
    if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);
    auto first = text.find_first_not_of(" \t\r\n");
    return first != std::string_view::npos && text[first] == '<';
}

void expect_one_report(const std::filesystem::path& file) {
    SCOPED_TRACE(file.string());
    ASSERT_TRUE(std::filesystem::is_regular_file(file));
    auto r = run(test::read_file(file), file.filename().string());
    ASSERT_EQ(r.aggregates.size(), 1u) << describe(r);
    EXPECT_FALSE(r.aggregates[0].error) << describe(r);
    EXPECT_TRUE(starts_like_xml(r.aggregates[0].xml)) << r.aggregates[0].xml.substr(0, 80);
    EXPECT_NE(r.aggregates[0].xml.find("</feedback>"), std::string::npos);
    EXPECT_TRUE(r.rejections.empty()) << describe(r);
    EXPECT_TRUE(r.failures.empty());
}

TEST(UnpackFixture, MimecastGzipWithTrailingCrlf) {
    // tests/fixtures/unpack/README.md: the gzip member is followed by CR LF.
    auto file = test::fixtures() / "unpack" / "mimecast-weird-gzip.eml";
    expect_one_report(file);
    auto r = run(test::read_file(file), "mimecast-weird-gzip.eml");
    ASSERT_EQ(r.aggregates.size(), 1u) << describe(r);
    EXPECT_EQ(r.aggregates[0].source,
              "mimecast-weird-gzip.eml > mimecast.org!ab.id.au!1693353600!1693439999!"
              "157a5fe30ec76f4bc0d8bccfc96c118a167a1280fee7c7465af5115e73082e5e.xml.gz");
    EXPECT_EQ(r.aggregates[0].xml.size(), 1260u);
    EXPECT_EQ(r.messages, std::vector<std::string>{"mimecast-weird-gzip.eml"});
}

TEST(UnpackCorpus, MimecastGzipWithTrailingBytes) {
    RAMPART_REQUIRE_CORPUS(corpus);
    expect_one_report(corpus / "aggregate/parsedmarc/aggregate/mimecast-weird-gzip.eml");
}

TEST(UnpackCorpus, ReportEmails) {
    RAMPART_REQUIRE_CORPUS(corpus);
    expect_one_report(corpus / "aggregate/parsedmarc/aggregate/twilight.eml");
    expect_one_report(corpus / "aggregate/parsedmarc/aggregate/Report domain- borschow.com "
                               "Submitter- google.com Report-ID- 949348866075514174.eml");
    int seen = 0;
    for (const auto& e : std::filesystem::directory_iterator(corpus / "aggregate/mail-auth")) {
        if (e.path().extension() != ".eml") continue;
        expect_one_report(e.path());
        ++seen;
    }
    EXPECT_EQ(seen, 5);
}

TEST(UnpackCorpus, ContainersGiveTheSameXml) {
    RAMPART_REQUIRE_CORPUS(corpus);
    struct Case {
        const char* container;
        const char* plain;
        const char* source;
    };
    const Case cases[] = {
        {"aggregate/dmarc-report-converter/test.xml.gz.gz",
         "aggregate/dmarc-report-converter/test.xml", "test.xml.gz.gz"},
        {"aggregate/dmarc-report-converter/test.xml.gz",
         "aggregate/dmarc-report-converter/test.xml", "test.xml.gz"},
        {"aggregate/dmarc-report-converter/test.xml.zip",
         "aggregate/dmarc-report-converter/test.xml", "test.xml.zip > test.xml"},
        {"aggregate/mail-dmarc/test_dmarc.xml.zip", "aggregate/mail-dmarc/test_dmarc.xml",
         "test_dmarc.xml.zip > entry 1 (no name)"},
        {"aggregate/mail-dmarc/test_dmarc.xml.gz", "aggregate/mail-dmarc/test_dmarc.xml",
         "test_dmarc.xml.gz"},
        {"aggregate/parsedmarc/extract_report/nice-input.xml.gz",
         "aggregate/parsedmarc/extract_report/nice-input.xml", "nice-input.xml.gz"},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.container);
        std::filesystem::path container = corpus / c.container;
        auto r = run(test::read_file(container), container.filename().string());
        ASSERT_EQ(r.aggregates.size(), 1u) << describe(r);
        EXPECT_EQ(r.aggregates[0].source, c.source);
        EXPECT_EQ(r.aggregates[0].xml, test::read_file(corpus / c.plain));
        EXPECT_FALSE(r.aggregates[0].error);
        EXPECT_TRUE(r.rejections.empty()) << describe(r);
    }
}

TEST(UnpackCorpus, ZipFromTheWild) {
    RAMPART_REQUIRE_CORPUS(corpus);
    for (const char* p :
         {"aggregate/parsedmarc/extract_report/nice-input.xml.zip",
          "aggregate/parsedmarc/aggregate/"
          "estadocuenta1.infonacot.gob.mx!example.com!1536853302!1536939702!2940.xml.zip",
          "aggregate/parsedmarc/aggregate/"
          "fastmail.com!example.com!1516060800!1516147199!102675056.xml.gz"})
        expect_one_report(corpus / p);
}

TEST(UnpackCorpus, FailureReportsGoWhole) {
    RAMPART_REQUIRE_CORPUS(corpus);
    int seen = 0;
    for (const char* dir : {"failure/mail-auth", "failure/parsedmarc", "failure/ietf"}) {
        for (const auto& e : std::filesystem::directory_iterator(corpus / dir)) {
            if (e.path().extension() != ".eml") continue;
            SCOPED_TRACE(e.path().string());
            auto bytes = test::read_file(e.path());
            auto r = run(bytes, e.path().filename().string());
            EXPECT_TRUE(r.aggregates.empty()) << describe(r);
            if (e.path().filename() == "exim_plain_text_only_no_arf_part.eml") {
                // multipart/report without a message/feedback-report part: nothing to hand over.
                ASSERT_EQ(r.rejections.size(), 1u) << describe(r);
                EXPECT_TRUE(r.rejections[0].reason.starts_with("no DMARC report found"));
                EXPECT_TRUE(r.failures.empty());
            } else {
                ASSERT_EQ(r.failures.size(), 1u) << describe(r);
                EXPECT_TRUE(r.rejections.empty()) << describe(r);
                // A file that starts with an mbox "From " line is a mailbox of one message; the
                // report is that message, without the separator line.
                if (bytes.starts_with("From ")) {
                    EXPECT_EQ(r.failures[0].source, e.path().filename().string() + " > message 1");
                    EXPECT_EQ(r.failures[0].message, bytes.substr(bytes.find('\n') + 1));
                } else {
                    EXPECT_EQ(r.failures[0].source, e.path().filename().string());
                    EXPECT_EQ(r.failures[0].message, bytes);
                }
            }
            ++seen;
        }
    }
    EXPECT_EQ(seen, 11);
}

TEST(UnpackCorpus, EmptyFileIsRefused) {
    RAMPART_REQUIRE_CORPUS(corpus);
    ASSERT_TRUE(std::filesystem::is_regular_file(corpus / "aggregate/parsedmarc/empty.xml"));
    auto r = run(test::read_file(corpus / "aggregate/parsedmarc/empty.xml"), "empty.xml");
    ASSERT_EQ(r.rejections.size(), 1u) << describe(r);
    EXPECT_EQ(r.rejections[0].reason, "the input is empty");
}

}  // namespace
}  // namespace rampart::unpack

namespace rampart::unpack {
namespace {

TEST(UnpackFixture, ZipEntriesOtherThanStoredOrDeflateAreRefusedUndecoded) {
    // tests/fixtures/unpack/README.md: an LZMA entry whose header asks for a 4 GiB dictionary.
    auto file = test::fixtures() / "unpack" / "lzma-dictionary-bomb.zip";
    auto r = run(test::read_file(file), "bomb.zip");
    EXPECT_TRUE(r.aggregates.empty()) << describe(r);
    ASSERT_EQ(r.rejections.size(), 1u) << describe(r);
    EXPECT_EQ(r.rejections[0].code, Errc::unsupported);
    EXPECT_EQ(r.rejections[0].where.source, "bomb.zip > report.xml");
    EXPECT_NE(r.rejections[0].reason.find("compression method 14"), std::string::npos)
        << r.rejections[0].reason;
}

}  // namespace
}  // namespace rampart::unpack
