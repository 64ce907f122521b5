// A main() for the fuzz targets when libFuzzer is not linked (the normal g++ build): runs
// LLVMFuzzerTestOneInput once over every file named on the command line, and over every regular
// file below every directory named there, in sorted order. Arguments starting with '-' are
// libFuzzer flags and are ignored, so the same command line works for both kinds of binary.
//
// Knot DNS (tests-fuzz/main.c) and {fmt} (FMT_FUZZ_LINKMAIN) replay their seeds the same way; a
// crash on a seed then shows up in every `ctest` run, under ASan/UBSan in the asan build.
// Exit status: 0 when every input ran, 1 when an argument does not exist, cannot be read, or no
// input was found at all (a missing seed folder must not pass silently).

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <system_error>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);
extern "C" __attribute__((weak)) int LLVMFuzzerInitialize(int* argc, char*** argv);

namespace {

namespace fs = std::filesystem;

bool read_file(const fs::path& path, std::vector<std::uint8_t>& out) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return false;
    out.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    return !in.bad();
}

}  // namespace

int main(int argc, char** argv) {
    if (LLVMFuzzerInitialize != nullptr) LLVMFuzzerInitialize(&argc, &argv);

    std::vector<fs::path> inputs;
    bool ok = true;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg.starts_with("-")) continue;
        std::error_code ec;
        const fs::path path(arg);
        if (fs::is_directory(path, ec)) {
            std::vector<fs::path> found;
            for (auto it = fs::recursive_directory_iterator(path, ec);
                 !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
                if (it->is_regular_file(ec)) found.push_back(it->path());
            }
            if (ec) {
                std::fprintf(stderr, "replay: cannot list %s: %s\n", arg.c_str(),
                             ec.message().c_str());
                ok = false;
            }
            std::sort(found.begin(), found.end());
            inputs.insert(inputs.end(), found.begin(), found.end());
        } else if (fs::is_regular_file(path, ec)) {
            inputs.push_back(path);
        } else {
            std::fprintf(stderr, "replay: no such file or directory: %s\n", arg.c_str());
            ok = false;
        }
    }
    if (inputs.empty()) {
        std::fprintf(stderr, "usage: %s FILE_OR_DIR...  (no input found)\n", argv[0]);
        return 1;
    }

    std::vector<std::uint8_t> data;
    for (const auto& path : inputs) {
        if (!read_file(path, data)) {
            std::fprintf(stderr, "replay: cannot read %s\n", path.c_str());
            ok = false;
            continue;
        }
        // Printed before the call so that a crash names the input that caused it.
        std::fprintf(stderr, "replay: %s (%zu bytes)\n", path.c_str(), data.size());
        // A copy of exactly the input's size, so ASan sees a read one past the end. An empty
        // input is passed as a null pointer, stricter than libFuzzer (which never does that) and
        // what real callers pass: std::span{} and an empty vector's data() are null, and
        // memcpy(dst, nullptr, 0) is undefined behaviour that UBSan reports.
        std::vector<std::uint8_t> copy(data);
        LLVMFuzzerTestOneInput(copy.empty() ? nullptr : copy.data(), copy.size());
    }
    std::fprintf(stderr, "replay: %zu input(s) run\n", inputs.size());
    return ok ? 0 : 1;
}
