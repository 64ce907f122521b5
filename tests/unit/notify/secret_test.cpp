// read_secret (style guide §7): secrets live in files only their owner can read.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "notify/notify.hpp"

namespace {

namespace fs = std::filesystem;
using rampart::Errc;
using rampart::notify::read_secret;

class ReadSecret : public ::testing::Test {
protected:
    void SetUp() override {
        std::string tmpl = (fs::temp_directory_path() / "rampart-secret-XXXXXX").string();
        ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
        dir_ = tmpl;
    }
    void TearDown() override { fs::remove_all(dir_); }

    fs::path write(const std::string& name, const std::string& text, mode_t mode) {
        auto p = dir_ / name;
        std::ofstream(p, std::ios::binary) << text;
        ::chmod(p.c_str(), mode);
        return p;
    }

    fs::path dir_;
};

TEST_F(ReadSecret, OwnerOnlyFileIsReadAndItsNewlineDropped) {
    auto s = read_secret(write("a", "s3cret pass\n", 0600));
    ASSERT_TRUE(s) << s.error().reason;
    EXPECT_EQ(*s, "s3cret pass");
    auto crlf = read_secret(write("b", "token\r\n", 0400));
    ASSERT_TRUE(crlf);
    EXPECT_EQ(*crlf, "token");
}

TEST_F(ReadSecret, GroupOrOtherReadableIsDeniedNamingTheFile) {
    auto p = write("open", "s3cret\n", 0644);
    auto s = read_secret(p);
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error().code, Errc::denied);
    EXPECT_NE(s.error().reason.find(p.string()), std::string::npos) << s.error().reason;
    EXPECT_NE(s.error().reason.find("0644"), std::string::npos);
    EXPECT_EQ(s.error().reason.find("s3cret"), std::string::npos);
    EXPECT_EQ(read_secret(write("g", "x", 0640)).error().code, Errc::denied);
    EXPECT_EQ(read_secret(write("w", "x", 0602)).error().code, Errc::denied);
}

TEST_F(ReadSecret, MissingFileIsNotFound) {
    auto s = read_secret(dir_ / "nope");
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error().code, Errc::not_found);
    EXPECT_NE(s.error().reason.find("nope"), std::string::npos);
}

TEST_F(ReadSecret, EmptyMultiLineAndHugeFilesAreRefused) {
    EXPECT_EQ(read_secret(write("e", "\n", 0600)).error().code, Errc::malformed);
    EXPECT_EQ(read_secret(write("m", "one\ntwo\n", 0600)).error().code, Errc::malformed);
    EXPECT_EQ(read_secret(write("h", std::string(5000, 'x'), 0600)).error().code,
              Errc::limit_exceeded);
    EXPECT_TRUE(read_secret(write("max", std::string(4096, 'x'), 0600)));
}

TEST_F(ReadSecret, DirectoryIsRefused) {
    fs::create_directory(dir_ / "d");
    ::chmod((dir_ / "d").c_str(), 0700);
    EXPECT_FALSE(read_secret(dir_ / "d"));
}

}  // namespace
