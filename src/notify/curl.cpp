// libcurl set-up shared by the SMTP and webhook channels.
#include "notify/notify.hpp"

#include <mutex>

#include "notify/curl.hpp"

namespace rampart::notify::detail {

CurlHandle new_handle() {
    // curl_global_init is not thread-safe in every libcurl build; once per process is enough.
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
    return CurlHandle(curl_easy_init());
}

bool append(CurlList& list, const std::string& item) {
    curl_slist* grown = curl_slist_append(list.get(), item.c_str());
    if (grown == nullptr) return false;
    (void)list.release();
    list.reset(grown);
    return true;
}

bool set_common(CURL* h, const std::string& url, const char* protocols,
                const std::optional<std::filesystem::path>& ca_file, bool insecure,
                std::chrono::seconds timeout, char* error_buffer) {
    auto seconds = static_cast<long>(timeout.count());
    bool ok = curl_easy_setopt(h, CURLOPT_URL, url.c_str()) == CURLE_OK &&
              curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, protocols) == CURLE_OK &&
              curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, insecure ? 0L : 1L) == CURLE_OK &&
              curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, insecure ? 0L : 2L) == CURLE_OK &&
              curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, seconds) == CURLE_OK &&
              curl_easy_setopt(h, CURLOPT_TIMEOUT, seconds) == CURLE_OK &&
              curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) == CURLE_OK &&
              curl_easy_setopt(h, CURLOPT_ERRORBUFFER, error_buffer) == CURLE_OK;
    // CAINFO is the extra CA; the system's CAs stay trusted through the default CAPATH.
    if (ok && ca_file) ok = curl_easy_setopt(h, CURLOPT_CAINFO, ca_file->c_str()) == CURLE_OK;
    return ok;
}

bool has_userinfo(std::string_view url) noexcept {
    auto start = url.find("://");
    if (start == std::string_view::npos) return false;
    auto authority = url.substr(start + 3);
    authority = authority.substr(0, authority.find_first_of("/?#"));
    return authority.find('@') != std::string_view::npos;
}

Errc classify(CURLcode rc) noexcept {
    switch (rc) {
        case CURLE_LOGIN_DENIED:
        case CURLE_PEER_FAILED_VERIFICATION:
        case CURLE_SSL_CACERT_BADFILE:
        case CURLE_SSL_ISSUER_ERROR:
        case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
        case CURLE_USE_SSL_FAILED:
        case CURLE_UNSUPPORTED_PROTOCOL:
        case CURLE_URL_MALFORMAT:
        case CURLE_NOT_BUILT_IN:
        case CURLE_OUT_OF_MEMORY: return Errc::io;
        default: return Errc::transient;
    }
}

std::string curl_text(CURLcode rc, const char* error_buffer) {
    if (error_buffer != nullptr && *error_buffer != '\0') return printable(error_buffer);
    return curl_easy_strerror(rc);
}

}  // namespace rampart::notify::detail
