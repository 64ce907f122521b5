// A local HTTP receiver for webhook tests (Python's http.server, driven by
// tests/harness/http_receiver.py): records every POST (path, headers, body); POST /fail answers
// 500, POST /moved answers 302, a missing or wrong bearer token 401, anything else 200. Same
// life cycle as the other harness servers: a free port on 127.0.0.1, a temporary folder, the
// token in a 0600 file, start, wait until it accepts, stop on destruction.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "harness/smtp.hpp"

namespace rampart::test {

struct ReceivedPost {
    std::string path;
    std::map<std::string, std::string> headers;
    std::string body;
};

class HttpReceiver {
public:
    /// Empty when /usr/bin/python3 is there; else why the tests cannot run.
    static std::string missing();

    /// `token`: the bearer token to require; empty requires none.
    explicit HttpReceiver(std::string token = {});
    ~HttpReceiver();
    HttpReceiver(const HttpReceiver&) = delete;
    HttpReceiver& operator=(const HttpReceiver&) = delete;

    std::string start();
    /// "http://127.0.0.1:PORT" + path.
    std::string url(const std::string& path = "/hook") const;
    std::vector<ReceivedPost> received() const;
    std::string log() const;

private:
    std::string token_;
    TempDir dir_;
    std::uint16_t port_ = 0;
    ScriptProcess process_;
};

}  // namespace rampart::test
