// mail: where report inputs come from on this machine: files, directories, mbox files, Maildir
// folders and standard input. (IMAP joins here later.)
//
// Trust: paths come from the operator, contents from strangers; this module only opens and
// reads, and leaves every judgement of content to unpack.
// Errors: Errc::io with the path and the system's reason.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "core/core.hpp"

namespace rampart::mail {

/// Reads a file descriptor it owns (or standard input, which it does not close).
class FileSource final : public ByteSource {
public:
    /// Opens `path` for reading; "-" means standard input.
    [[nodiscard]] static Result<FileSource> open(const std::filesystem::path& path);
    FileSource(FileSource&& other) noexcept;
    FileSource& operator=(FileSource&&) = delete;
    FileSource(const FileSource&) = delete;
    ~FileSource() override;

    [[nodiscard]] Result<std::size_t> read(std::span<std::byte> buffer) override;
    /// Called with the number of bytes of each successful read (progress display).
    void on_read(std::function<void(std::size_t)> callback) { on_read_ = std::move(callback); }

private:
    FileSource(int fd, bool owned, std::string name) : fd_(fd), owned_(owned), name_(std::move(name)) {}
    int fd_ = -1;
    bool owned_ = false;
    std::string name_;
    std::function<void(std::size_t)> on_read_;
};

struct Input {
    std::filesystem::path path;  // "-" for standard input
    std::uint64_t size = 0;      // 0 when unknown (standard input)
};

/// Expands the operator's arguments into the files to read, in a stable order: files as given;
/// directories recursively in name order, skipping hidden entries; a Maildir folder (one with
/// cur/ and new/) contributes the messages in new/ and cur/ and its Maildir++ sub-folders, never
/// tmp/ (messages still being delivered) or the server's index files.
/// Paths that cannot be read are returned as errors next to the inputs, one each.
struct Expanded {
    std::vector<Input> inputs;
    std::vector<Error> errors;
};
[[nodiscard]] Expanded expand_inputs(const std::vector<std::string>& arguments);

}  // namespace rampart::mail
