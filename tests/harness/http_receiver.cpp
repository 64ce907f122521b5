#include "harness/http_receiver.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <fstream>
#include <iterator>

#include "harness/dovecot.hpp"  // free_port

namespace rampart::test {
namespace fs = std::filesystem;

namespace {

std::string read_all(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

std::string HttpReceiver::missing() {
    if (::access(system_python, X_OK) != 0) return "python3 is not installed (/usr/bin/python3)";
    return {};
}

HttpReceiver::HttpReceiver(std::string token) : token_(std::move(token)), dir_("rampart-http") {}

HttpReceiver::~HttpReceiver() { process_.stop(); }

std::string HttpReceiver::url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
}

std::string HttpReceiver::start() {
    if (dir_.path.empty()) return "cannot create a temporary folder";
    fs::create_directories(dir_.path / "posts");
    std::vector<std::string> args = {"--out", (dir_.path / "posts").string()};
    if (!token_.empty()) {
        auto file = dir_.path / "server.token";
        std::ofstream(file) << token_ << "\n";
        ::chmod(file.c_str(), 0600);
        args.insert(args.end(), {"--token-file", file.string()});
    }
    std::string error;
    for (int attempt = 0; attempt < 3; ++attempt) {
        port_ = free_port();
        auto with_port = args;
        with_port.insert(with_port.end(), {"--port", std::to_string(port_)});
        error = process_.start(fs::path(RAMPART_SOURCE_DIR) / "tests/harness/http_receiver.py",
                               with_port, dir_.path / "server.log", port_, "");
        if (error.empty() || error.find("Address already in use") == std::string::npos) break;
    }
    return error;
}

std::vector<ReceivedPost> HttpReceiver::received() const {
    std::vector<ReceivedPost> out;
    for (int i = 1;; ++i) {
        auto file = dir_.path / "posts" / (std::to_string(i) + ".json");
        if (!fs::exists(file)) break;
        auto doc = nlohmann::json::parse(read_all(file));
        ReceivedPost p{.path = doc.value("path", ""), .body = doc.value("body", "")};
        for (const auto& [k, v] : doc["headers"].items()) p.headers[k] = v.get<std::string>();
        out.push_back(std::move(p));
    }
    return out;
}

std::string HttpReceiver::log() const { return read_all(dir_.path / "server.log"); }

}  // namespace rampart::test
