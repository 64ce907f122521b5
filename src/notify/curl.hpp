// notify's own business: libcurl handles and the settings both channels share.
#pragma once

#include <curl/curl.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/core.hpp"

namespace rampart::notify::detail {

struct CurlDeleter {
    void operator()(CURL* h) const noexcept { curl_easy_cleanup(h); }
};
using CurlHandle = std::unique_ptr<CURL, CurlDeleter>;

struct SlistDeleter {
    void operator()(curl_slist* l) const noexcept { curl_slist_free_all(l); }
};
using CurlList = std::unique_ptr<curl_slist, SlistDeleter>;

/// A fresh easy handle (libcurl initialised once per process); null when libcurl cannot start.
[[nodiscard]] CurlHandle new_handle();

/// Appends to a list; false when libcurl is out of memory.
[[nodiscard]] bool append(CurlList& list, const std::string& item);

/// The options every delivery sets: the URL limited to `protocols`, certificate checks (with
/// `ca_file` trusted besides the system's CAs), timeouts, no signals, the error buffer. Never
/// CURLOPT_VERBOSE or a debug callback: they would show the AUTH exchange.
[[nodiscard]] bool set_common(CURL* h, const std::string& url, const char* protocols,
                              const std::optional<std::filesystem::path>& ca_file, bool insecure,
                              std::chrono::seconds timeout, char* error_buffer);

/// True when the URL's authority holds "user[:password]@": credentials there would show in
/// errors and logs, so both channels refuse such URLs.
[[nodiscard]] bool has_userinfo(std::string_view url) noexcept;

/// Network trouble that may pass (refused, reset, timed out, name not resolved) is
/// Errc::transient; certificates, missing TLS, refused logins and bad URLs are Errc::io.
[[nodiscard]] Errc classify(CURLcode rc) noexcept;

/// libcurl's own words for what failed: the error buffer when it says something, else the
/// generic text of the code. Never holds credentials: libcurl does not put them there.
[[nodiscard]] std::string curl_text(CURLcode rc, const char* error_buffer);

}  // namespace rampart::notify::detail
